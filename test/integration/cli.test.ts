/**
 * relay-cli as a subprocess (`node dist/cli/main.js`): help and examples, keys, usage errors,
 * config errors, a missing daemon, init/check, serve --check, completion scripts.
 * Commands that talk to a daemon: cli-daemon.test.ts.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/control-cli.js';
import { encodeKey, parsePrivateKey } from '../../src/identity/keys.js';

/** stderr must be exactly one line `relay-cli: CODE: …`. */
function assertOneLineError(stderr: string, code: string): void {
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`);
  assert.match(lines[0]!, new RegExp(`^relay-cli: ${code}: \\S`));
}

const COMMANDS = [
  [],
  ['keygen'],
  ['pubkey'],
  ['serve'],
  ['daemon'],
  ['connect'],
  ['disconnect'],
  ['status'],
  ['relays'],
  ['config'],
  ['config', 'init'],
  ['config', 'check'],
  ['config', 'show'],
  ['config', 'set'],
  ['version'],
  ['completion'],
];

describe('relay-cli help', () => {
  test('--help of the program and of every command shows examples; exit 0', async () => {
    for (const c of COMMANDS) {
      const r = await runCli([...c, '--help']);
      assert.equal(r.code, 0, c.join(' '));
      assert.match(r.stdout, /\nExamples:\n {2}\$ (sudo )?relay-cli /, `${c.join(' ')} --help`);
    }
    const top = await runCli(['--help']);
    assert.match(top.stdout, /Exit codes:/);
    for (const cmd of ['keygen', 'pubkey', 'serve', 'daemon', 'connect', 'disconnect', 'status', 'relays', 'config', 'version', 'completion']) {
      assert.match(top.stdout, new RegExp(`\\n  ${cmd}\\b`));
    }
  });

  test('serve --help lists the relay flags', async () => {
    const r = await runCli(['serve', '--help']);
    for (const f of ['--config', '--role', '--listen', '--cert', '--cert-key', '--identity', '--auth', '--allow-target', '--metrics', '--log-level', '--force-auth-none']) {
      assert.ok(r.stdout.includes(f), f);
    }
  });

  test('help [command] prints help and exits 0; help for an unknown command is exit 2', async () => {
    for (const c of [['help'], ['help', 'serve'], ['config', 'help', 'init']]) {
      const r = await runCli(c);
      assert.equal(r.code, 0, c.join(' '));
      assert.match(r.stdout, /^Usage: relay-cli /, c.join(' '));
    }
    assert.equal((await runCli(['help', 'bogus'])).code, 2);
  });

  test('--version prints the package version', async () => {
    const r = await runCli(['--version']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^\d+\.\d+\.\d+/);
  });
});

describe('relay-cli keys', () => {
  test('keygen | pubkey round trip matches the key pair', async () => {
    const k = await runCli(['keygen']);
    assert.equal(k.code, 0);
    assert.match(k.stdout, /^[A-Za-z0-9+/]{43}=\n$/);
    const p = await runCli(['pubkey'], { input: k.stdout });
    assert.equal(p.code, 0);
    assert.equal(p.stdout, `${encodeKey(parsePrivateKey(k.stdout).publicKey)}\n`);
    assert.equal(p.stderr, '');
  });

  test('pubkey with a bad key: one-line ERR_KEY_INVALID, exit 3', async () => {
    const r = await runCli(['pubkey'], { input: 'not a key\n' });
    assert.equal(r.code, 3);
    assertOneLineError(r.stderr, 'ERR_KEY_INVALID');
    assert.equal(r.stdout, '');
  });
});

describe('relay-cli usage errors', () => {
  const cases: string[][] = [
    ['bogus'],
    ['status', '--bogus'],
    ['status', 'extra-arg'],
    ['serve', '--role', 'middle'],
    ['serve', '--auth', 'magic'],
    ['completion', 'fish'],
    ['completion'],
    ['config', 'init'],
    ['config', 'init', '--client', '--relay'],
    ['config', 'check'],
    ['config', 'set', 'novalue'],
    ['connect', '--template', 'https://x/'],
    ['connect', '--timeout', 'soon'],
    // Beyond a Node timer's 2^31-1 ms it used to time out after 1 ms.
    ['connect', '--timeout', '2147484'],
    ['status', '--watch', '--count', '0'],
    ['status', '--count', '3'], // was ignored without --watch
    ['status', '--socket', ''],
    ['daemon', '--log-level', 'loud'],
  ];
  for (const args of cases) {
    test(`${args.join(' ')} → exit 2 with one line`, async () => {
      const r = await runCli(args, { env: { MASQUE_SOCKET: '/nonexistent/daemon.sock' } });
      assert.equal(r.code, 2, r.stderr);
      assertOneLineError(r.stderr, 'ERR_USAGE');
    });
  }

  test('no command: help on stderr, exit 2', async () => {
    const r = await runCli([]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Usage: relay-cli/);
  });

  test('--verbose adds the stack', async () => {
    const r = await runCli(['pubkey', '--verbose'], { input: 'x' });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /^relay-cli: ERR_KEY_INVALID: /);
    assert.match(r.stderr, /\n\s*at /);
  });
});

describe('relay-cli config errors', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'masque-cli-cfg-'));
  const bad = path.join(dir, 'bad.toml');
  writeFileSync(bad, 'listen = "127.0.0.1:4433"\nrole = "middle"\n');
  const syntax = path.join(dir, 'syntax.toml');
  writeFileSync(syntax, 'listen = "127.0.0.1:4433"\nrole = \n');

  const cases: [string[], string, RegExp][] = [
    [['serve', '--config', path.join(dir, 'missing.toml')], 'ERR_CONFIG_READ', /ENOENT/],
    [['serve', '--config', dir], 'ERR_CONFIG_READ', /EISDIR/],
    [['serve', '--config', bad, '--check'], 'ERR_CONFIG_INVALID', /bad\.toml:2: role: /],
    [['serve', '--config', syntax], 'ERR_CONFIG_SYNTAX', /syntax\.toml:2: /],
    [['config', 'check', '--relay', bad], 'ERR_CONFIG_INVALID', /bad\.toml:2: role: /],
    [['config', 'check', '--client', path.join(dir, 'missing.toml')], 'ERR_CONFIG_READ', /ENOENT/],
    [['connect', '--foreground', '--config', path.join(dir, 'missing.toml')], 'ERR_CONFIG_READ', /ENOENT/],
    [['daemon', '--config', dir, '--socket', path.join(dir, 'd.sock')], 'ERR_CONFIG_READ', /EISDIR/],
    [['serve', '--auth', 'none', '--listen', '0.0.0.0:4433', '--check'], 'ERR_CONFIG_AUTH_NONE_REFUSED', /flag --auth: /],
    [['serve', '--listen', 'localhost', '--check'], 'ERR_CONFIG_INVALID', /flag --listen: /],
    [['serve', '--listen', '127.0.0.1:4433', '--cert', path.join(dir, 'missing.crt'), '--cert-key', bad, '--check'], 'ERR_CONFIG_READ', /flag --cert: .*ENOENT/],
    [['serve', '--listen', '127.0.0.1:4433', '--cert', bad, '--cert-key', bad], 'ERR_CONFIG_INVALID', /flag --cert: .*not a PEM certificate/],
    [['config', 'init', '--client', '-o', dir, '--force'], 'ERR_CONFIG_READ', /EISDIR/],
  ];
  for (const [args, code, re] of cases) {
    test(`${args.map((a) => path.basename(a)).join(' ')} → exit 3 ${code}`, async () => {
      const r = await runCli(args);
      assert.equal(r.code, 3, r.stderr);
      assertOneLineError(r.stderr, code);
      assert.match(r.stderr, re);
    });
  }

  test('serve --auth none on loopback and --force-auth-none pass --check', async () => {
    assert.equal((await runCli(['serve', '--auth', 'none', '--listen', '127.0.0.1:4433', '--check'])).code, 0);
    const r = await runCli(['serve', '--auth', 'none', '--listen', '0.0.0.0:4433', '--force-auth-none', '--check', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { auth: string }).auth, 'none');
  });

  test('cleanup', () => rmSync(dir, { recursive: true, force: true }));
});

describe('relay-cli config init', () => {
  test('init --client / --relay write 0600 files that validate; a second init refuses (exit 3)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'masque-cli-init-'));
    try {
      for (const kind of ['client', 'relay']) {
        const file = path.join(dir, `${kind}.toml`);
        const r = await runCli(['config', 'init', `--${kind}`, '-o', file, '--json']);
        assert.equal(r.code, 0, r.stderr);
        const res = JSON.parse(r.stdout) as { files: string[]; publicKey: string };
        assert.match(res.publicKey, /^[A-Za-z0-9+/]{43}=$/);
        for (const f of res.files) assert.equal(statSync(f).mode & 0o777, 0o600, f);
        const check = await runCli(['config', 'check', `--${kind}`, file]);
        assert.equal(check.code, 0, check.stderr);
        assert.match(check.stdout, /: ok\n$/);
        const again = await runCli(['config', 'init', `--${kind}`, '-o', file]);
        assert.equal(again.code, 3);
        assertOneLineError(again.stderr, 'ERR_CONFIG_EXISTS');
      }
      // The relay config from init runs through serve --check as is.
      assert.equal((await runCli(['serve', '--config', path.join(dir, 'relay.toml'), '--check'])).code, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('relay-cli without a daemon', () => {
  for (const args of [['status'], ['status', '--json'], ['connect'], ['disconnect'], ['relays'], ['config', 'show'], ['status', '--watch']]) {
    test(`${args.join(' ')} → exit 4 ERR_CONTROL_DAEMON_UNREACHABLE`, async () => {
      const r = await runCli([...args, '--socket', '/nonexistent/masque.sock']);
      assert.equal(r.code, 4);
      assertOneLineError(r.stderr, 'ERR_CONTROL_DAEMON_UNREACHABLE');
      assert.match(r.stderr, /\/nonexistent\/masque\.sock/);
    });
  }

  test('env MASQUE_SOCKET is honoured', async () => {
    const r = await runCli(['status'], { env: { MASQUE_SOCKET: '/nonexistent/env.sock' } });
    assert.equal(r.code, 4);
    assert.match(r.stderr, /\/nonexistent\/env\.sock/);
  });

  test('version works without a daemon', async () => {
    const r = await runCli(['version', '--json', '--socket', '/nonexistent/masque.sock']);
    assert.equal(r.code, 0);
    const v = JSON.parse(r.stdout) as { cli: { version: string }; daemon: { error: string } };
    assert.equal(v.daemon.error, 'ERR_CONTROL_DAEMON_UNREACHABLE');
  });
});

describe('relay-cli engines not built', () => {
  // MASQUE_*_MODULE point the lazy loaders at a missing file: the same path as a build
  // without src/relay or src/client.
  const missing = '/nonexistent/masque-engine.js';
  test('serve without the relay module → exit 6 ERR_NOT_BUILT', async () => {
    const r = await runCli(['serve', '--role', 'both', '--listen', '127.0.0.1:4433'], { env: { MASQUE_RELAY_MODULE: missing } });
    assert.equal(r.code, 6);
    assertOneLineError(r.stderr, 'ERR_NOT_BUILT');
  });

  test('connect --foreground and daemon without the engine → exit 6', async () => {
    const tpl = 'https://p.example:443/.well-known/masque/ip/{target}/{ipproto}/';
    const r = await runCli(['connect', '--foreground', '--template', tpl], { env: { MASQUE_ENGINE_MODULE: missing } });
    assert.equal(r.code, 6);
    assertOneLineError(r.stderr, 'ERR_NOT_BUILT');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'masque-cli-nb-'));
    try {
      assert.equal((await runCli(['config', 'init', '--client', '-o', path.join(dir, 'c.toml')])).code, 0);
      const d = await runCli(['daemon', '--config', path.join(dir, 'c.toml'), '--socket', path.join(dir, 'd.sock')], { env: { MASQUE_ENGINE_MODULE: missing } });
      assert.equal(d.code, 6);
      assertOneLineError(d.stderr, 'ERR_NOT_BUILT');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('relay-cli failed start', () => {
  test('serve exits with the error even when the relay left a handle open before failing', async () => {
    // Like a bind failure after the egress TUN was set up: the process used to print the
    // error and then never exit.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'masque-cli-leak-'));
    try {
      const mod = path.join(dir, 'leaky-relay.mjs');
      writeFileSync(mod, "export async function runRelay() { setInterval(() => {}, 1000); throw new Error('bind EADDRNOTAVAIL'); }\n");
      const r = await runCli(['serve', '--role', 'both', '--listen', '127.0.0.1:4433', '--auth', 'none'], { env: { MASQUE_RELAY_MODULE: mod }, timeoutMs: 5000 });
      assert.equal(r.code, 1, `expected exit 1, got ${r.code} (null: killed after hanging)`);
      assertOneLineError(r.stderr, 'ERR_UNEXPECTED');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('relay-cli completion', () => {
  test('bash script completes commands and options', async () => {
    const r = await runCli(['completion', 'bash']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /complete -o default -F _relay_cli relay-cli/);
    const complete = (words: string[]): string => {
      const script = `${r.stdout}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _relay_cli; echo "\${COMPREPLY[*]}"`;
      const out = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
      assert.equal(out.status, 0, out.stderr);
      return out.stdout.trim();
    };
    assert.equal(complete(['relay-cli', 'sta']), 'status');
    assert.match(complete(['relay-cli', 'serve', '--al']), /--allow-target/);
    assert.equal(complete(['relay-cli', 'config', 'in']), 'init');
    assert.match(complete(['relay-cli', 'config', 'init', '--']), /--client/);
  });

  test('zsh script is generated (and parses if zsh is installed)', async () => {
    const r = await runCli(['completion', 'zsh']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^#compdef relay-cli\n/);
    assert.match(r.stdout, /"config init"\) subs=\(\); opts=\(.*'--relay'/);
    const zsh = spawnSync('zsh', ['-n', '-c', r.stdout], { encoding: 'utf8' });
    if (zsh.error === undefined) assert.equal(zsh.status, 0, zsh.stderr);
  });
});
