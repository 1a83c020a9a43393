import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadRelayConfig, parseRelayConfig } from '../../../src/config/relay.js';
import { ConfigError } from '../../../src/config/errors.js';
import { MAX_CONFIG_BYTES } from '../../../src/config/toml.js';
import { buildPolicy } from '../../../src/relay/policy-setup.js';

const VALID = `role = "ingress"
listen = "0.0.0.0:4433"
cert = "certs/relay.crt"
cert_key = "certs/relay.key"
identity = "relay.key"
auth = "noise"
authorized_keys = "/etc/masque/authorized_keys"
metrics = "127.0.0.1:9464"

[ingress]
allow_egress = ["egress.example.net:4433", "[2001:db8::1]:443"]

[egress]
ipv4_pool = "100.64.0.0/16"
trusted_ingress = ["198.51.100.0/24"]

[limits]
max_sessions_per_client = 2
packets_per_sec = 10000
`;

test('a valid relay config, with paths relative to the file', () => {
  const c = parseRelayConfig(VALID, '/etc/masque/relay.toml');
  assert.equal(c.role, 'ingress');
  assert.deepEqual(c.listen, { host: '0.0.0.0', port: 4433 });
  assert.equal(c.cert, '/etc/masque/certs/relay.crt');
  assert.equal(c.identity, '/etc/masque/relay.key');
  assert.deepEqual(c.metrics, { host: '127.0.0.1', port: 9464 });
  assert.deepEqual(c.ingress.allowEgress, ['egress.example.net:4433', '[2001:db8::1]:443']);
  assert.equal(c.egress.ipv4Pool, '100.64.0.0/16');
  assert.match(c.egress.ipv6Pool, /^fd/); // default ULA
  assert.deepEqual(c.limits, { maxSessionsPerClient: 2, bandwidthBytesPerSec: 0, packetsPerSec: 10000 });
});

test('no file at all: serve --role both --listen 127.0.0.1:4433', async () => {
  const c = await loadRelayConfig({ role: 'both', listen: '127.0.0.1:4433' });
  assert.equal(c.role, 'both');
  assert.equal(c.auth, 'noise');
  assert.equal(c.egress.ipv4Pool, '100.64.0.0/10');
  assert.equal(c.file, undefined);
});

test('flags override the file; list flags replace lists', () => {
  const c = parseRelayConfig(VALID, '/etc/masque/relay.toml', { role: 'egress', listen: '[::1]:5000', allowTarget: ['10.0.0.0/8'], logLevel: 'debug', identity: 'k.key' });
  assert.equal(c.role, 'egress');
  assert.deepEqual(c.listen, { host: '::1', port: 5000 });
  assert.deepEqual(c.egress.allowTargets, ['10.0.0.0/8']);
  assert.equal(c.logLevel, 'debug');
  assert.equal(c.identity, path.resolve(process.cwd(), 'k.key')); // flag paths: relative to cwd
});

test('auth none: allowed on loopback, refused elsewhere unless forced', () => {
  assert.equal(parseRelayConfig('auth = "none"\nlisten = "127.0.0.1:4433"\n').auth, 'none');
  assert.equal(parseRelayConfig('', undefined, { auth: 'none', listen: '[::1]:4433' }).auth, 'none');
  assert.throws(
    () => parseRelayConfig('listen = "192.0.2.1:4433"\nauth = "none"\n', 'r.toml'),
    (e: ConfigError) => e.code === 'ERR_CONFIG_AUTH_NONE_REFUSED' && e.key === 'auth' && e.line === 2,
  );
  assert.throws(() => parseRelayConfig('', undefined, { auth: 'none', listen: '0.0.0.0:4433' }), (e: ConfigError) => e.code === 'ERR_CONFIG_AUTH_NONE_REFUSED' && e.flag === '--auth');
  assert.equal(parseRelayConfig('', undefined, { auth: 'none', listen: '0.0.0.0:4433', forceAuthNone: true }).auth, 'none');
  assert.equal(parseRelayConfig('auth = "none"\nforce_auth_none = true\n').auth, 'none');
});

test('noise off loopback needs authorized_keys; bearer needs tokens', () => {
  assert.throws(() => parseRelayConfig('listen = "0.0.0.0:4433"\n'), { code: 'ERR_CONFIG_MISSING_KEY' });
  assert.equal(parseRelayConfig('role = "egress"\n[egress]\ntrusted_ingress = ["10.1.0.0/16"]\n').role, 'egress');
  assert.throws(() => parseRelayConfig('auth = "bearer"\nlisten = "127.0.0.1:1"\n'), (e: ConfigError) => e.code === 'ERR_CONFIG_MISSING_KEY' && e.key === 'bearer_tokens');
  const c = parseRelayConfig('auth = "bearer"\nlisten = "127.0.0.1:1"\n[[bearer_tokens]]\nid = "ci"\ntoken = "0123456789abcdef0123"\n');
  assert.deepEqual(c.bearerTokens, [{ id: 'ci', token: '0123456789abcdef0123' }]);
});

/** Each case: TOML text, expected code, key, line. */
const BAD: [string, string, string, number][] = [
  ['listen = "127.0.0.1:4433"\nrole = "middle"\n', 'ERR_CONFIG_INVALID', 'role', 2],
  ['listen = "nope"\n', 'ERR_CONFIG_INVALID', 'listen', 1],
  ['listen = "example.com:4433"\n', 'ERR_CONFIG_INVALID', 'listen', 1],
  ['listen = "127.0.0.1:70000"\n', 'ERR_CONFIG_INVALID', 'listen', 1],
  ['listen = 4433\n', 'ERR_CONFIG_INVALID', 'listen', 1],
  ['listen = "127.0.0.1:1"\nauth = "magic"\n', 'ERR_CONFIG_INVALID', 'auth', 2],
  ['listen = "127.0.0.1:1"\n\nmetrics = "x"\n', 'ERR_CONFIG_INVALID', 'metrics', 3],
  ['listen = "127.0.0.1:1"\nlog_level = "loud"\n', 'ERR_CONFIG_INVALID', 'log_level', 2],
  ['listen = "127.0.0.1:1"\nforce_auth_none = "yes"\n', 'ERR_CONFIG_INVALID', 'force_auth_none', 2],
  ['listen = "127.0.0.1:1"\ncert = "a.pem"\n', 'ERR_CONFIG_MISSING_KEY', 'cert_key', 2],
  ['listen = "127.0.0.1:1"\nlistn = "x"\n', 'ERR_CONFIG_UNKNOWN_KEY', 'listn', 2],
  ['listen = "127.0.0.1:1"\n[ingress]\nallow_egress = ["a:b"]\n', 'ERR_CONFIG_INVALID', 'ingress.allow_egress[0]', 3],
  ['listen = "127.0.0.1:1"\n[ingress]\nallow_egres = []\n', 'ERR_CONFIG_UNKNOWN_KEY', 'ingress.allow_egres', 3],
  ['listen = "127.0.0.1:1"\n[egress]\n\nipv4_pool = "fd00::/8"\n', 'ERR_CONFIG_INVALID', 'egress.ipv4_pool', 4],
  ['listen = "127.0.0.1:1"\n[egress]\nipv6_pool = "10.0.0.0/8"\n', 'ERR_CONFIG_INVALID', 'egress.ipv6_pool', 3],
  ['listen = "127.0.0.1:1"\n[egress]\nipv4_pool = "off"\nipv6_pool = "off"\n', 'ERR_CONFIG_INVALID', 'egress.ipv6_pool', 4],
  ['listen = "127.0.0.1:1"\n[egress]\nipv6_pool = "none"\n', 'ERR_CONFIG_INVALID', 'egress.ipv6_pool', 3],
  ['listen = "127.0.0.1:1"\n[egress]\ndeny_tcp_ports = [25, 70000]\n', 'ERR_CONFIG_INVALID', 'egress.deny_tcp_ports[1]', 3],
  ['listen = "127.0.0.1:1"\n[egress]\ndeny_tcp_ports = ["25"]\n', 'ERR_CONFIG_INVALID', 'egress.deny_tcp_ports[0]', 3],
  ['listen = "127.0.0.1:1"\n[egress]\ndeny_tcp_ports = 25\n', 'ERR_CONFIG_INVALID', 'egress.deny_tcp_ports', 3],
  ['listen = "127.0.0.1:1"\n[egress]\ntrusted_ingress = ["10.0.0.0/33"]\n', 'ERR_CONFIG_INVALID', 'egress.trusted_ingress[0]', 3],
  ['listen = "127.0.0.1:1"\n[egress]\nallow_targets = "10.0.0.0/8"\n', 'ERR_CONFIG_INVALID', 'egress.allow_targets', 3],
  // What the policy, the pools and routes would refuse at start is refused here, with its line.
  ['listen = "127.0.0.1:1"\n[egress]\nallow_targets = ["10.0.0.1/8"]\n', 'ERR_CONFIG_INVALID', 'egress.allow_targets[0]', 3],
  ['listen = "127.0.0.1:1"\n[egress]\ndeny_targets = ["10.0.0.0/8", "10.0.0.0/08"]\n', 'ERR_CONFIG_INVALID', 'egress.deny_targets[1]', 3],
  ['listen = "127.0.0.1:1"\n[egress]\nipv4_pool = "10.64.0.1/10"\n', 'ERR_CONFIG_INVALID', 'egress.ipv4_pool', 3],
  ['listen = "127.0.0.1:1"\n[egress]\ntrusted_ingress = ["10.0.0.0/08"]\n', 'ERR_CONFIG_INVALID', 'egress.trusted_ingress[0]', 3],
  // A trusted ingress needs no client key: "one relay /8" would trust a whole /8.
  ['listen = "127.0.0.1:1"\n[egress]\ntrusted_ingress = ["10.0.0.0/8", "203.0.113.10/8"]\n', 'ERR_CONFIG_INVALID', 'egress.trusted_ingress[1]', 3],
  ['listen = "127.0.0.1:1"\n[limits]\npackets_per_sec = -1\n', 'ERR_CONFIG_INVALID', 'limits.packets_per_sec', 3],
  ['listen = "127.0.0.1:1"\n[limits]\nmax_sessions_per_client = 1.5\n', 'ERR_CONFIG_INVALID', 'limits.max_sessions_per_client', 3],
  ['listen = "127.0.0.1:1"\nauth = "bearer"\n[[bearer_tokens]]\nid = "x"\ntoken = "short"\n', 'ERR_CONFIG_INVALID', 'bearer_tokens[0].token', 5],
  ['listen = "127.0.0.1:1"\n[[bearer_tokens]]\ntoken = "0123456789abcdef0"\n', 'ERR_CONFIG_MISSING_KEY', 'bearer_tokens[0].id', 2],
  ['listen = "127.0.0.1:1"\ningress = 3\n', 'ERR_CONFIG_INVALID', 'ingress', 2],
];

test('every validation error names the key and the line', () => {
  for (const [text, code, key, line] of BAD) {
    assert.throws(
      () => parseRelayConfig(text, 'relay.toml'),
      (e: ConfigError) => {
        assert.ok(e instanceof ConfigError, text);
        assert.equal(e.code, code, text);
        assert.equal(e.key, key, text);
        assert.equal(e.line, line, text);
        assert.ok(e.message.startsWith(`relay.toml:${line}: ${key}: `), e.message);
        return true;
      },
    );
  }
});

test('a prefix with host bits set names the network it probably meant; a valid config builds its policy', () => {
  assert.throws(() => parseRelayConfig('listen = "127.0.0.1:1"\n[egress]\nallow_targets = ["2001:db8::1/32"]\n'),
    (e: ConfigError) => e.code === 'ERR_CONFIG_INVALID' && e.message.includes('did you mean "2001:db8::/32"?'));
  const cfg = parseRelayConfig('listen = "127.0.0.1:1"\n[egress]\nallow_targets = ["10.0.0.0/8", "192.0.2.7"]\ndeny_targets = ["10.9.0.0/16"]\n');
  assert.doesNotThrow(() => buildPolicy(cfg));
});

test('deny_tcp_ports: [25] unless set; [] allows every port', () => {
  assert.deepEqual(parseRelayConfig('listen = "127.0.0.1:1"\n').egress.denyTcpPorts, [25]);
  assert.deepEqual(parseRelayConfig('listen = "127.0.0.1:1"\n[egress]\ndeny_tcp_ports = []\n').egress.denyTcpPorts, []);
  assert.deepEqual(parseRelayConfig('listen = "127.0.0.1:1"\n[egress]\ndeny_tcp_ports = [25, 465, 587]\n').egress.denyTcpPorts, [25, 465, 587]);
});

test('ipv6_pool = "off" (or ipv4_pool): an egress without that family upstream', () => {
  const cfg = parseRelayConfig('listen = "127.0.0.1:1"\n[egress]\nipv6_pool = "off"\n');
  assert.equal(cfg.egress.ipv6Pool, 'off');
  assert.equal(cfg.egress.ipv4Pool, '100.64.0.0/10');
  assert.equal(parseRelayConfig('listen = "127.0.0.1:1"\n[egress]\nipv4_pool = "off"\n').egress.ipv4Pool, 'off');
});

test('syntax errors carry the line; unreadable files are ERR_CONFIG_READ', async () => {
  assert.throws(() => parseRelayConfig('listen = "127.0.0.1:1"\nrole = \n', 'r.toml'), (e: ConfigError) => e.code === 'ERR_CONFIG_SYNTAX' && e.line === 2);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'masque-cfg-'));
  try {
    await assert.rejects(loadRelayConfig({ config: path.join(dir, 'missing.toml') }), (e: ConfigError) => e.code === 'ERR_CONFIG_READ' && e.message.includes('ENOENT'));
    const f = path.join(dir, 'r.toml');
    writeFileSync(f, 'listen = "127.0.0.1:1"\n');
    chmodSync(f, 0o000);
    if (process.getuid?.() !== 0) await assert.rejects(loadRelayConfig({ config: f }), { code: 'ERR_CONFIG_READ' });
    await assert.rejects(loadRelayConfig({ config: dir }), (e: ConfigError) => e.code === 'ERR_CONFIG_READ' && e.message.includes('EISDIR'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a flag value error names the flag', () => {
  assert.throws(() => parseRelayConfig(VALID, 'relay.toml', { listen: 'bogus' }), (e: ConfigError) => e.flag === '--listen' && e.message.startsWith('flag --listen: '));
  assert.throws(() => parseRelayConfig('', undefined, { listen: '127.0.0.1:1', allowTarget: ['x/99'] }), (e: ConfigError) => e.flag === '--allow-target');
});

test('cert and cert_key are read with the config: missing, not PEM, or not a pair is a ConfigError at the key', async () => {
  const { generateSelfSigned } = await import('../../../src/quic/certs.js');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'masque-cfg-cert-'));
  try {
    const [a, b] = [await generateSelfSigned({ names: ['a'] }), await generateSelfSigned({ names: ['b'] })];
    writeFileSync(path.join(dir, 'a.crt'), a.certPem);
    writeFileSync(path.join(dir, 'a.key'), a.keyPem);
    writeFileSync(path.join(dir, 'b.key'), b.keyPem);
    const f = path.join(dir, 'relay.toml');
    const withCert = (cert: string, key: string): Promise<unknown> => {
      writeFileSync(f, `listen = "127.0.0.1:1"\ncert = "${cert}"\ncert_key = "${key}"\n`);
      return loadRelayConfig({ config: f });
    };
    assert.equal(((await withCert('a.crt', 'a.key')) as { cert: string }).cert, path.join(dir, 'a.crt'));
    await assert.rejects(withCert('none.crt', 'a.key'), (e: ConfigError) => e.code === 'ERR_CONFIG_READ' && e.key === 'cert' && e.line === 2 && e.message.includes('ENOENT'));
    await assert.rejects(withCert('a.crt', '.'), (e: ConfigError) => e.code === 'ERR_CONFIG_READ' && e.key === 'cert_key' && e.message.includes('EISDIR'));
    await assert.rejects(withCert('a.key', 'a.key'), (e: ConfigError) => e.code === 'ERR_CONFIG_INVALID' && e.key === 'cert' && e.message.includes('not a PEM certificate'));
    await assert.rejects(withCert('a.crt', 'a.crt'), (e: ConfigError) => e.code === 'ERR_CONFIG_INVALID' && e.key === 'cert_key' && e.message.includes('not a PEM private key'));
    await assert.rejects(withCert('a.crt', 'b.key'), (e: ConfigError) => e.code === 'ERR_CONFIG_INVALID' && e.key === 'cert_key' && e.line === 3);
    // From flags: the flag is named.
    await assert.rejects(loadRelayConfig({ listen: '127.0.0.1:1', cert: path.join(dir, 'none.crt'), certKey: path.join(dir, 'a.key') }), (e: ConfigError) => e.flag === '--cert');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a config file over 1 MiB (or an endless one like /dev/zero) is ERR_CONFIG_READ, not read whole', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'masque-cfg-big-'));
  try {
    const f = path.join(dir, 'r.toml');
    writeFileSync(f, 'listen = "127.0.0.1:1"\n'.padEnd(MAX_CONFIG_BYTES, '#'));
    assert.equal((await loadRelayConfig({ config: f })).listen.port, 1);
    writeFileSync(f, 'listen = "127.0.0.1:1"\n'.padEnd(MAX_CONFIG_BYTES + 1, '#'));
    await assert.rejects(loadRelayConfig({ config: f }), (e: ConfigError) => e.code === 'ERR_CONFIG_READ' && e.message.includes('larger than 1 MiB'));
    if (existsSync('/dev/zero')) await assert.rejects(loadRelayConfig({ config: '/dev/zero' }), { code: 'ERR_CONFIG_READ' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
