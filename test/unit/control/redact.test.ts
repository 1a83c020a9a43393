// src/control/redact.ts: what leaves the daemon's group-readable socket and `--json` config
// output. Secrets are strings under secret-looking keys; settings that merely share a word
// with them (privateTokens, tokensPerClientPerHour) must stay readable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactSecrets, REDACTED } from '../../../src/control/redact.js';

test('redactSecrets: secret strings go, tables under secret-looking keys are searched, numbers and booleans stay', () => {
  const cfg = {
    privateKey: 'c2VjcmV0',
    proxy: { authorization: 'Bearer abc', template: 'https://p.example/{target}' },
    privateTokens: { enabled: true, issuerName: 'issuer.example', batchSize: 8, issuerKeys: ['pk1'] },
    bearerTokens: [{ id: 'ops', token: 'long-random-token-1' }],
    egress: { privateToken: { mode: 'required', issuerKeys: ['pk2'] } },
    issuer: { tokensPerClientPerHour: 1000, keyFile: '/etc/masque/issuer.key' },
    tokens: ['t1', 't2'],
    unset: { password: null },
  };
  const r = redactSecrets(cfg);
  assert.equal(r.privateKey, REDACTED);
  assert.deepEqual(r.proxy, { authorization: REDACTED, template: 'https://p.example/{target}' });
  assert.deepEqual(r.privateTokens, cfg.privateTokens);
  assert.deepEqual(r.bearerTokens, [{ id: 'ops', token: REDACTED }]);
  assert.deepEqual(r.egress, cfg.egress);
  assert.deepEqual(r.issuer, cfg.issuer);
  assert.deepEqual(r.tokens, [REDACTED, REDACTED]);
  assert.deepEqual(r.unset, { password: null });
  assert.equal(cfg.privateKey, 'c2VjcmV0', 'the input is not changed');
});
