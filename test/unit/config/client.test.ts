import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseClientConfig, patchClientConfig, assertConnectable, loadClientConfig } from '../../../src/config/client.js';
import { ConfigError } from '../../../src/config/errors.js';
import { encodeKey, generateKeyPair } from '../../../src/identity/keys.js';

const priv = encodeKey(generateKeyPair().privateKey);
const pubA = encodeKey(generateKeyPair().publicKey);
const pubB = encodeKey(generateKeyPair().publicKey);

const VALID = `private_key = "${priv}"
chain = "two-hop"
kill_switch = true

[[relays]]
name = "in-1"
address = "ingress.example.net:4433"
public_key = "${pubA}"
role = "ingress"

[[relays]]
name = "out-1"
address = "[2001:db8::2]:4433"
public_key = "${pubB}"
role = "egress"
ca = "ca.pem"

[routing]
mode = "split"
include = ["10.0.0.0/8", "2001:db8::/32"]
exclude = ["10.1.0.0/16"]

[dns]
servers = ["9.9.9.9", "2620:fe::fe"]
`;

test('a valid two-hop client config; default chain picks relays by role', () => {
  const c = parseClientConfig(VALID, '/etc/masque/client.toml');
  assert.equal(c.ingress, 'in-1');
  assert.equal(c.egress, 'out-1');
  assert.equal(c.relays[1]!.ca, '/etc/masque/ca.pem');
  assert.equal(c.routing.mode, 'split');
  assert.deepEqual(c.dns.servers, ['9.9.9.9', '2620:fe::fe']);
  assert.equal(c.killSwitch, true);
  assert.deepEqual(c.tun, { name: 'masque0', mtu: 1280 });
  assertConnectable(c);
});

test('template single hop from flags alone (no file)', async () => {
  const c = await loadClientConfig({ singleHop: true, template: 'https://proxy.example:443/.well-known/masque/ip/{target}/{ipproto}/', ca: 'ca.pem', proxyAuthorization: 'Bearer abc' });
  assert.equal(c.chain, 'single-hop');
  assert.equal(c.proxy?.authorization, 'Bearer abc');
  assert.ok(c.proxy?.ca?.endsWith('/ca.pem'));
  assertConnectable(c);
});

test('flags override the file', () => {
  const c = parseClientConfig(VALID, 'c.toml', { singleHop: true, relay: 'out-1', killSwitch: false, dns: ['1.1.1.1'], exclude: [] });
  assert.equal(c.chain, 'single-hop');
  assert.equal(c.relay, 'out-1');
  assert.equal(c.killSwitch, false);
  assert.deepEqual(c.dns.servers, ['1.1.1.1']);
  assert.deepEqual(c.routing.exclude, []);
});

test('a config without relays loads but cannot connect', () => {
  const c = parseClientConfig(`private_key = "${priv}"\n`);
  assert.throws(() => assertConnectable(c), { code: 'ERR_CONFIG_MISSING_KEY' });
});

const BAD: [string, string, string, number][] = [
  ['private_key = "short"\n', 'ERR_CONFIG_INVALID', 'private_key', 1],
  ['chain = "three-hop"\n', 'ERR_CONFIG_INVALID', 'chain', 1],
  ['[[relays]]\nname = "a"\naddress = "nope"\npublic_key = "' + pubA + '"\n', 'ERR_CONFIG_INVALID', 'relays[0].address', 3],
  ['[[relays]]\nname = "a"\naddress = "a.example:1"\npublic_key = "xyz"\n', 'ERR_CONFIG_INVALID', 'relays[0].public_key', 4],
  ['[[relays]]\nname = "a"\naddress = "a.example:1"\n', 'ERR_CONFIG_MISSING_KEY', 'relays[0].public_key', 1],
  ['[[relays]]\nname = "a"\naddress = "a.example:1"\npublic_key = "' + pubA + '"\nrole = "exit"\n', 'ERR_CONFIG_INVALID', 'relays[0].role', 5],
  ['[[relays]]\nname = "a"\naddress = "a.example:1"\npublic_key = "' + pubA + '"\nport = 1\n', 'ERR_CONFIG_UNKNOWN_KEY', 'relays[0].port', 5],
  ['ingress = "ghost"\n[[relays]]\nname = "a"\naddress = "a.example:1"\npublic_key = "' + pubA + '"\n', 'ERR_CONFIG_UNKNOWN_RELAY', 'ingress', 1],
  ['chain = "single-hop"\n[proxy]\ntemplate = "http://x/{target}"\n', 'ERR_CONFIG_INVALID', 'proxy.template', 3],
  ['chain = "single-hop"\n[proxy]\nca = "x.pem"\n', 'ERR_CONFIG_MISSING_KEY', 'proxy.template', 2],
  ['[proxy]\ntemplate = "https://p.example:443/.well-known/masque/ip/{target}/{ipproto}/"\n', 'ERR_CONFIG_INVALID', 'proxy', 1],
  ['[routing]\nmode = "split"\n', 'ERR_CONFIG_MISSING_KEY', 'routing.include', 1],
  ['[routing]\nexclude = ["10.0.0.0/8", "banana"]\n', 'ERR_CONFIG_INVALID', 'routing.exclude[1]', 2],
  ['[routing]\nmode = "split"\ninclude = ["10.1.2.3/16"]\n', 'ERR_CONFIG_INVALID', 'routing.include[0]', 3], // ip route would refuse it at connect
  ['[dns]\nservers = ["dns.google"]\n', 'ERR_CONFIG_INVALID', 'dns.servers[0]', 2],
  ['[tun]\nmtu = 1000\n', 'ERR_CONFIG_INVALID', 'tun.mtu', 2],
  ['kill_switch = 1\n', 'ERR_CONFIG_INVALID', 'kill_switch', 1],
];

test('every client validation error names the key and the line', () => {
  for (const [text, code, key, line] of BAD) {
    assert.throws(
      () => parseClientConfig(text, 'client.toml'),
      (e: ConfigError) => {
        assert.equal(e.code, code, text);
        assert.equal(e.key, key, text);
        assert.equal(e.line, line, text);
        assert.ok(e.message.startsWith(`client.toml:${line}: ${key}: `), e.message);
        return true;
      },
    );
  }
});

test('secrets never appear in error messages', () => {
  const secret = 'AAAAsecretAAAA';
  try {
    parseClientConfig(`private_key = "${secret}"\n`, 'c.toml');
    assert.fail('should throw');
  } catch (e) {
    assert.ok(!(e as Error).message.includes(secret));
  }
});

test('patchClientConfig re-validates and names the key', () => {
  const c = parseClientConfig(VALID, 'c.toml');
  assert.equal(patchClientConfig(c, { killSwitch: false }).killSwitch, false);
  assert.throws(() => patchClientConfig(c, { killSwitch: 'on' }), (e: ConfigError) => e.code === 'ERR_CONFIG_INVALID' && e.key === 'kill_switch');
  assert.throws(() => patchClientConfig(c, { dns: { servers: ['x'] } }), (e: ConfigError) => e.key === 'dns.servers[0]');
});

test('patchClientConfig refuses keys that would otherwise vanish: file and __proto__ (as JSON parses them)', () => {
  const c = parseClientConfig(VALID, 'c.toml');
  assert.throws(() => patchClientConfig(c, { file: '/tmp/x.toml' }), (e: ConfigError) => e.code === 'ERR_CONFIG_UNKNOWN_KEY' && e.key === 'file');
  for (const body of ['{"__proto__": 1}', '{"__proto__": {"killSwitch": true}}']) {
    assert.throws(() => patchClientConfig(c, JSON.parse(body) as Record<string, unknown>), (e: ConfigError) => e.code === 'ERR_CONFIG_UNKNOWN_KEY' && e.key === '__proto__', body);
  }
  assert.equal(patchClientConfig(c, {}).file, c.file, 'the file stays the one loaded');
});
