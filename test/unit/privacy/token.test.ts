/**
 * Privacy Pass codecs: token layout (RFC 9577 §2.2), TokenChallenge (§2.1.1) against the
 * library's encoder, the PrivateToken credential syntax, and fast-check: random input gives
 * a PrivacyError (or "not ours"), nothing else.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TokenChallenge } from '@cloudflare/privacypass-ts';
import {
  encodeToken, encodeTokenChallenge, formatPrivateTokenChallenge, formatPrivateTokenCredential, parsePrivateTokenCredential,
  parseToken, TOKEN_LEN,
} from '../../../src/privacy/token.js';
import { PrivacyError } from '../../../src/privacy/errors.js';
import { egressChallenge, egressOriginName } from '../../../src/privacy/challenge.js';
import { generateKeyPair } from '../../../src/identity/keys.js';

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof PrivacyError, `unexpected ${String(e)}`);
    return e.code;
  }
  return 'ok';
};

test('token: hand-built bytes parse field by field and re-encode', () => {
  const b = new Uint8Array(TOKEN_LEN);
  b.set([0x00, 0x02]); // token_type = 0x0002 Blind RSA (RFC 9578 §8.2.2)
  b.fill(0x11, 2, 34); // nonce[32]
  b.fill(0x22, 34, 66); // challenge_digest[32]
  b.fill(0x33, 66, 98); // token_key_id[32]
  b.fill(0x44, 98); // authenticator[Nk = 256]
  const t = parseToken(b);
  assert.equal(t.tokenType, 2);
  assert.deepEqual([t.nonce[0], t.challengeDigest[0], t.tokenKeyId[31], t.authenticator[255]], [0x11, 0x22, 0x33, 0x44]);
  assert.equal(t.tokenInput.length, 98);
  assert.deepEqual(encodeToken(t), b);
});

test('token: wrong type, short, long → stable codes', () => {
  const b = new Uint8Array(TOKEN_LEN);
  b[1] = 1; // type 0x0001 (VOPRF): not supported here
  assert.equal(code(() => parseToken(b)), 'ERR_PRIVACY_TOKEN_TYPE');
  b[1] = 2;
  assert.equal(code(() => parseToken(b.subarray(0, 100))), 'ERR_PRIVACY_MALFORMED');
  assert.equal(code(() => parseToken(new Uint8Array([...b, 0]))), 'ERR_PRIVACY_MALFORMED');
  assert.equal(code(() => parseToken(new Uint8Array(1))), 'ERR_PRIVACY_MALFORMED');
});

test('TokenChallenge: our encoder matches @cloudflare/privacypass-ts byte for byte', () => {
  const egress = generateKeyPair().publicKey;
  const origin = egressOriginName(egress);
  assert.equal(origin.length, 43);
  const lib = new TokenChallenge(2, 'masque-relay-issuer', new Uint8Array(0), [origin]).serialize();
  assert.deepEqual(egressChallenge('masque-relay-issuer', egress), lib);
  const ctx = new Uint8Array(32).fill(7);
  assert.deepEqual(
    encodeTokenChallenge({ tokenType: 2, issuerName: 'i.example', redemptionContext: ctx, originInfo: ['a.example', 'b.example'] }),
    new TokenChallenge(2, 'i.example', ctx, ['a.example', 'b.example']).serialize(),
  );
  assert.equal(code(() => encodeTokenChallenge({ tokenType: 2, issuerName: 'x', redemptionContext: new Uint8Array(5), originInfo: [] })), 'ERR_PRIVACY_MALFORMED');
});

test('credential: quoted, unquoted, padded, extra params, other schemes', () => {
  const tok = new Uint8Array(TOKEN_LEN).fill(9);
  const b64 = Buffer.from(tok).toString('base64url');
  assert.deepEqual(parsePrivateTokenCredential(formatPrivateTokenCredential(tok)), tok);
  assert.deepEqual(parsePrivateTokenCredential(`privatetoken token=${b64}`), tok);
  assert.deepEqual(parsePrivateTokenCredential(`PrivateToken token="${Buffer.from(tok).toString('base64').replace(/\+/g, '-').replace(/\//g, '_')}"`), tok);
  assert.deepEqual(parsePrivateTokenCredential(`PrivateToken extensions="AAA", token="${b64}"`), tok);
  assert.equal(parsePrivateTokenCredential('Bearer abcdefghijklmnop'), null);
  assert.equal(parsePrivateTokenCredential(''), null);
  assert.match(formatPrivateTokenChallenge(new Uint8Array([1, 2]), new Uint8Array([3])), /^PrivateToken challenge="AQI", token-key="Aw"$/);
});

test('credential: malformed → ERR_PRIVACY_MALFORMED', () => {
  for (const v of [
    'PrivateToken', 'PrivateToken token=', 'PrivateToken token="abc', 'PrivateToken token=a b', 'PrivateToken foo',
    'PrivateToken token="AAAA", token="AAAA"', 'PrivateToken token="A"', 'PrivateToken token="!!!!"', `PrivateToken token="${'A'.repeat(2000)}"`,
  ]) assert.equal(code(() => parsePrivateTokenCredential(v)), 'ERR_PRIVACY_MALFORMED', v);
});

test('fast-check: random credential values → bytes, null or PrivacyError', () => {
  const value = fc.oneof(
    fc.string({ maxLength: 600 }),
    fc.string({ maxLength: 600 }).map((s) => `PrivateToken ${s}`),
    fc.uint8Array({ maxLength: 400 }).map((b) => `PrivateToken token="${Buffer.from(b).toString('base64url')}"`),
    fc.uint8Array({ maxLength: 400 }).map((b) => `PrivateToken token=${Buffer.from(b).toString('base64')}, x="${b.length}"`),
  );
  fc.assert(fc.property(value, (v) => {
    try {
      const r = parsePrivateTokenCredential(v);
      if (r !== null) code(() => parseToken(r));
    } catch (e) {
      assert.ok(e instanceof PrivacyError, `unexpected ${String(e)}`);
      assert.equal(typeof e.httpStatus, 'number');
    }
  }), { numRuns: 3000, interruptAfterTimeLimit: 10_000 });
});
