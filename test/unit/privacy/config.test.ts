/** The Privacy Pass keys of the relay and client configs (src/config, small additions). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRelayConfig } from '../../../src/config/relay.js';
import { parseClientConfig } from '../../../src/config/client.js';
import { ConfigError } from '../../../src/config/errors.js';

const KEY = 'A'.repeat(400);
const fails = (fn: () => unknown, code: string, key: string) =>
  assert.throws(fn, (e: unknown) => e instanceof ConfigError && e.code === code && e.key === key && e.line !== undefined);

test('relay: [issuer] and [egress] private_token defaults, values and paths', () => {
  const off = parseRelayConfig('role = "egress"\nlisten = "127.0.0.1:4433"\n', '/etc/masque/relay.toml');
  assert.equal(off.issuer, undefined);
  assert.equal(off.egress.privateToken, undefined);
  const c = parseRelayConfig([
    'role = "both"', 'listen = "127.0.0.1:4433"',
    '[issuer]', 'enabled = true', 'key_file = "issuer.json"', 'rotation_period_sec = 3600', 'directory_file = "/srv/dir.json"',
    '[egress]', 'private_token = "required"', `private_token_issuer_keys = ["${KEY}"]`, 'private_token_issuer_directory = "dir.json"',
  ].join('\n'), '/etc/masque/relay.toml');
  assert.deepEqual(c.issuer, { name: 'masque-relay-issuer', keyFile: '/etc/masque/issuer.json', rotationPeriodSec: 3600, directoryFile: '/srv/dir.json', tokensPerClientPerHour: 1000 });
  assert.deepEqual(c.egress.privateToken, {
    mode: 'required', issuerName: 'masque-relay-issuer', issuerKeys: [KEY], issuerDirectory: '/etc/masque/dir.json', keyGraceSec: 86400, spentCapacity: 1_000_000,
  });
});

test('relay: errors name the key and line', () => {
  fails(() => parseRelayConfig('[issuer]\nenabled = true\n'), 'ERR_CONFIG_MISSING_KEY', 'issuer.key_file');
  fails(() => parseRelayConfig('[issuer]\nrotation_period_sec = 5\n'), 'ERR_CONFIG_INVALID', 'issuer.rotation_period_sec');
  fails(() => parseRelayConfig('[issuer]\nenable = true\n'), 'ERR_CONFIG_UNKNOWN_KEY', 'issuer.enable');
  fails(() => parseRelayConfig('[egress]\nprivate_token = "yes"\n'), 'ERR_CONFIG_INVALID', 'egress.private_token');
  fails(() => parseRelayConfig('[egress]\nprivate_token = "required"\n'), 'ERR_CONFIG_MISSING_KEY', 'egress.private_token');
  fails(() => parseRelayConfig(`[egress]\nprivate_token = "required-with-trusted-ingress"\nprivate_token_issuer_keys = ["${KEY}"]\n`), 'ERR_CONFIG_MISSING_KEY', 'egress.private_token');
  fails(() => parseRelayConfig('[egress]\nprivate_token_issuer_keys = ["short"]\n'), 'ERR_CONFIG_INVALID', 'egress.private_token_issuer_keys[0]');
});

test('relay: an egress with tokens needs no authorized_keys off loopback', () => {
  const c = parseRelayConfig(`role = "egress"\nlisten = "10.0.0.1:4433"\n[egress]\nprivate_token = "required"\nprivate_token_issuer_keys = ["${KEY}"]\n`);
  assert.equal(c.egress.privateToken?.mode, 'required');
});

test('client: [private_tokens]', () => {
  const base = 'chain = "single-hop"\n';
  assert.equal(parseClientConfig(base).privateTokens, undefined);
  assert.equal(parseClientConfig(`${base}[private_tokens]\nenabled = false\n`).privateTokens, undefined);
  assert.deepEqual(parseClientConfig(`${base}[private_tokens]\nenabled = true\nbatch_size = 4\n`).privateTokens, { enabled: true, issuerName: 'masque-relay-issuer', batchSize: 4, refillBelow: 2 });
  fails(() => parseClientConfig(`${base}[private_tokens]\nbatch_size = 0\n`), 'ERR_CONFIG_INVALID', 'private_tokens.batch_size');
  fails(() => parseClientConfig(`${base}[private_tokens]\nbatch_size = 2\nrefill_below = 3\n`), 'ERR_CONFIG_INVALID', 'private_tokens.refill_below');
});
