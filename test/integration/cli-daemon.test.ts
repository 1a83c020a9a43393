/**
 * relay-cli against a daemon: the daemon-like helper (FakeBackend behind the real
 * ControlServer) for status/connect/disconnect/relays/config/version, and the real `daemon`
 * and `connect --foreground` commands around the fake engine (MASQUE_ENGINE_MODULE).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FAKE_ENGINE, runCli, spawnCli, startFakeDaemon } from '../helpers/control-cli.js';

const isRoot = process.getuid?.() === 0;

describe('relay-cli with a daemon', () => {
  let d: Awaited<ReturnType<typeof startFakeDaemon>>;
  const cli = (args: string[]) => runCli([...args, '--socket', d.socket]);
  before(async () => {
    d = await startFakeDaemon();
  });
  after(async () => {
    await d.stop();
    rmSync(d.dir, { recursive: true, force: true });
  });

  test('status: disconnected (text and --json)', async () => {
    const t = await cli(['status']);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /^state: +disconnected\n$/);
    const j = await cli(['status', '--json']);
    const s = JSON.parse(j.stdout) as { state: { state: string }; daemon: { version: string } };
    assert.equal(s.state.state, 'disconnected');
    assert.equal(s.daemon.version, '0.0.0-fake');
  });

  test('connect waits for connected; status shows chain, addresses, rtt, bytes, uptime', async () => {
    const c = await cli(['connect']);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.stdout, 'connected via in-1 → out-1\n');
    assert.equal(c.stderr, ''); // stages only on a TTY
    const t = await cli(['status']);
    assert.match(t.stdout, /state: +connected via in-1 → out-1/);
    assert.match(t.stdout, /chain: +in-1 \(127\.0\.0\.1:4433\) → out-1 \(127\.0\.0\.1:4434\)/);
    assert.match(t.stdout, /addresses: +100\.64\.0\.2\/32, fd00:6d61:7371::2\/128/);
    assert.match(t.stdout, /mtu: +1307 \(1280-byte packets verified end to end\)/);
    assert.match(t.stdout, /ingress: +forwarded mode/);
    assert.match(t.stdout, /rtt: +23\.4 ms/);
    assert.match(t.stdout, /traffic: +↑ 1\.2 kB \(10 pkts\) {2}↓ 64\.0 kB \(50 pkts\)/);
    assert.match(t.stdout, /uptime: +\d+s/);
    assert.doesNotMatch(t.stdout, /\x1b\[/); // no colour on a pipe
    const again = await cli(['connect', '--json']);
    assert.equal(again.code, 0);
    assert.equal((JSON.parse(again.stdout) as { state: { state: string } }).state.state, 'connected');
  });

  test('status --watch --json streams NDJSON events', async () => {
    const r = await cli(['status', '--watch', '--json', '--count', '2']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    assert.deepEqual(lines.map((e) => e.type), ['state', 'stats']);
  });

  test('relays (text and --json)', async () => {
    const j = await cli(['relays', '--json']);
    assert.equal(j.code, 0);
    assert.equal((JSON.parse(j.stdout) as { relays: unknown[] }).relays.length, 2);
    const t = await cli(['relays']);
    assert.match(t.stdout, /^NAME +ROLE +ADDRESS +LATENCY\n/);
    assert.match(t.stdout, /in-1 +ingress +127\.0\.0\.1:4433 +12\.5 ms/);
    assert.match(t.stdout, /out-1 +egress +127\.0\.0\.1:4434 +unreachable \(ERR_PROBE_TIMEOUT\)/);
  });

  test('config show redacts secrets; config set applies; a bad value is exit 3', async () => {
    const s = await cli(['config', 'show', '--json']);
    const cfg = JSON.parse(s.stdout) as Record<string, unknown>;
    assert.equal(cfg.privateKey, '<redacted>');
    const set = await cli(['config', 'set', 'killSwitch=true', '--json']);
    assert.equal(set.code, 0, set.stderr);
    assert.equal((JSON.parse(set.stdout) as { killSwitch: boolean }).killSwitch, true);
    const bad = await cli(['config', 'set', 'killSwitch=maybe']);
    assert.equal(bad.code, 3);
    assert.match(bad.stderr, /^relay-cli: ERR_CONFIG_INVALID: /);
  });

  test('version shows the daemon', async () => {
    const r = await cli(['version']);
    assert.match(r.stdout, /daemon +0\.0\.0-fake/);
  });

  test('disconnect', async () => {
    const r = await cli(['disconnect']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'disconnected\n');
    const j = await cli(['disconnect', '--json']);
    assert.equal((JSON.parse(j.stdout) as { state: { state: string } }).state.state, 'disconnected');
  });

  test('connect --no-wait returns at once; unknown relay is a config error', async () => {
    const r = await cli(['connect', '--no-wait']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^connecting: /);
    await cli(['disconnect']);
    const bad = await cli(['connect', '--single-hop', '--relay', 'nope']);
    assert.equal(bad.code, 3);
    assert.match(bad.stderr, /^relay-cli: ERR_CONFIG_UNKNOWN_RELAY: /);
  });

  test('a socket owned by another user is refused: exit 7', { skip: !isRoot && 'needs root to chown' }, async () => {
    const st = statSync(d.socket);
    chownSync(d.socket, 65534, 65534);
    try {
      const r = await cli(['status']);
      assert.equal(r.code, 7);
      assert.match(r.stderr, /^relay-cli: ERR_CONTROL_SOCKET_OWNER: /);
    } finally {
      chownSync(d.socket, st.uid, st.gid);
    }
  });
});

test('connect that fails: exit 5 with the tunnel error code', async () => {
  const d = await startFakeDaemon({ FAKE_FAIL: 'ERR_TUNNEL_HANDSHAKE' });
  try {
    const r = await runCli(['connect', '--socket', d.socket]);
    assert.equal(r.code, 5);
    assert.equal(r.stderr, 'relay-cli: ERR_TUNNEL_HANDSHAKE: connect failed: the fake egress refused us\n');
  } finally {
    await d.stop();
    rmSync(d.dir, { recursive: true, force: true });
  }
});

test('connect timeout: exit 5 ERR_CONNECT_TIMEOUT', async () => {
  const d = await startFakeDaemon({ FAKE_STEP_MS: '2000' });
  try {
    const r = await runCli(['connect', '--timeout', '0.3', '--socket', d.socket]);
    assert.equal(r.code, 5);
    assert.match(r.stderr, /^relay-cli: ERR_CONNECT_TIMEOUT: /);
  } finally {
    await d.stop();
    rmSync(d.dir, { recursive: true, force: true });
  }
});

describe('the real daemon and foreground commands around the fake engine', () => {
  let dir: string;
  let clientToml: string;
  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'masque-cli-daemon-'));
    clientToml = path.join(dir, 'client.toml');
    assert.equal((await runCli(['config', 'init', '--client', '-o', clientToml])).code, 0);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('daemon serves the API (0660), and SIGTERM disconnects, removes the socket, exits 0', async () => {
    const socket = path.join(dir, 'run', 'daemon.sock');
    const engineLog = path.join(dir, 'engine.log');
    const env = { MASQUE_ENGINE_MODULE: FAKE_ENGINE, FAKE_ENGINE_LOG: engineLog, MASQUE_LOG_JSON: '1' };
    const daemon = spawnCli(['daemon', '--config', clientToml, '--socket', socket, '--group', 'no-such-group-here'], env);
    await daemon.waitFor(/daemon ready/);
    assert.equal(statSync(socket).mode & 0o777, 0o660);
    const c = await runCli(['connect', '--socket', socket]);
    assert.equal(c.code, 0, c.stderr);
    const again = await spawnCli(['daemon', '--config', clientToml, '--socket', socket], env).exited;
    assert.equal(again, 1, 'a second daemon on the same socket fails'); // ERR_CONTROL_SOCKET_IN_USE
    daemon.child.kill('SIGTERM');
    assert.equal(await daemon.exited, 0, daemon.output());
    assert.equal(existsSync(socket), false);
    const calls = readFileSync(engineLog, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { what: string }).what);
    assert.deepEqual(calls, ['createEngine', 'close']);
  });

  test('connect --foreground: shows connected, Ctrl-C disconnects and exits 0', async () => {
    const engineLog = path.join(dir, 'fg.log');
    const fg = spawnCli(['connect', '--foreground', '--single-hop', '--template', 'https://p.example:443/.well-known/masque/ip/{target}/{ipproto}/', '--ca', 'ca.pem'], {
      MASQUE_ENGINE_MODULE: FAKE_ENGINE,
      FAKE_ENGINE_LOG: engineLog,
    });
    await fg.waitFor(/connected via p\.example:443/);
    fg.child.kill('SIGINT');
    assert.equal(await fg.exited, 0, fg.output());
    assert.match(fg.output(), /disconnecting/);
    assert.match(readFileSync(engineLog, 'utf8'), /"what":"close","chain":"single-hop"/);
  });

  test('connect --foreground that fails: exit 5', async () => {
    const r = await runCli(['connect', '--foreground', '--template', 'https://p.example:443/.well-known/masque/ip/{target}/{ipproto}/'], {
      env: { MASQUE_ENGINE_MODULE: FAKE_ENGINE, FAKE_FAIL: 'ERR_TUNNEL_ADDRESS' },
    });
    assert.equal(r.code, 5);
    assert.match(r.stderr, /^relay-cli: ERR_TUNNEL_ADDRESS: /);
  });
});
