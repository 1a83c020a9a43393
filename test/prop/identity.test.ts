// Property tests for the identity layer (STYLE.md §7): whatever a peer sends in the
// masque-noise header (request or response), the result is success or an AuthError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { createClientHello, finishClient, verifyClientHello } from '../../src/identity/noise-auth.js';
import { CLIENT_MESSAGE_BYTES, RELAY_MESSAGE_BYTES } from '../../src/identity/noise-payload.js';
import { ReplayGuard } from '../../src/identity/replay-guard.js';
import { AuthorizedKeys } from '../../src/identity/authorized-keys.js';
import { composeAuthorizers, NoiseAuthorizer, BearerAuthorizer } from '../../src/identity/authorizer.js';
import { BearerTokens } from '../../src/identity/bearer.js';
import { AuthError } from '../../src/identity/errors.js';
import { decodeKey, generateKeyPair } from '../../src/identity/keys.js';
import { isMasqueError } from '../../src/core/errors.js';

const NOW = Date.UTC(2025, 0, 1);
const CERT = new Uint8Array(createHash('sha256').update('cert').digest());
const relay = generateKeyPair();
const client = generateKeyPair();
const budget = { numRuns: 2000, interruptAfterTimeLimit: 10_000 };

// Strings that look like header values: random text, random base64url of any length, and
// random bytes of exactly the expected length (these reach the Noise decryption).
const headerValue = (n: number) => fc.oneof(
  fc.string({ maxLength: 400 }),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('base64url')),
  fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b).toString('base64url')),
);

function onlyAuthError(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof AuthError, `unexpected ${String(e)}`);
    assert.equal(typeof e.httpStatus, 'number');
  }
}

test('verifyClientHello: random header values → AuthError only', () => {
  fc.assert(fc.property(headerValue(CLIENT_MESSAGE_BYTES), (v) => {
    onlyAuthError(() => verifyClientHello({
      relayStatic: relay, headerValue: v, tlsCertSha256: CERT, nowMs: NOW, isAuthorized: () => true, replay: new ReplayGuard(),
    }));
  }), budget);
});

test('verifyClientHello: a real hello with random bit flips → AuthError only', () => {
  const good = Buffer.from(createClientHello({ clientStatic: client, relayPublicKey: relay.publicKey, tlsCertSha256: CERT, nowMs: NOW }).headerValue, 'base64url');
  fc.assert(fc.property(fc.nat(good.byteLength - 1), fc.integer({ min: 1, max: 255 }), (i, x) => {
    const bad = Buffer.from(good);
    bad[i]! ^= x;
    assert.throws(() => verifyClientHello({
      relayStatic: relay, headerValue: bad.toString('base64url'), tlsCertSha256: CERT, nowMs: NOW, isAuthorized: () => true, replay: new ReplayGuard(),
    }), AuthError);
  }), { numRuns: 500, interruptAfterTimeLimit: 10_000 });
});

test('finishClient: random response values → AuthError only', () => {
  fc.assert(fc.property(headerValue(RELAY_MESSAGE_BYTES), (v) => {
    const h = createClientHello({ clientStatic: client, relayPublicKey: relay.publicKey, tlsCertSha256: CERT, nowMs: NOW });
    onlyAuthError(() => finishClient(h.state, v));
  }), { numRuns: 500, interruptAfterTimeLimit: 10_000 });
});

test('composed authorizer: random header lists → a result, never an exception', () => {
  const auth = composeAuthorizers([
    new NoiseAuthorizer({ relayStatic: relay, authorizedKeys: AuthorizedKeys.empty(), replay: new ReplayGuard() }),
    new BearerAuthorizer(new BearerTokens([{ id: 't', token: 'abcdefghijklmnopqrstuvwxyz' }])),
  ]);
  const name = fc.constantFrom('masque-noise', 'proxy-authorization', 'other', 'Proxy-Authorization');
  fc.assert(fc.property(fc.array(fc.tuple(name, fc.string({ maxLength: 200 })), { maxLength: 4 }), (headers) => {
    const r = auth.authorize({ headers, tlsCertSha256: CERT, peerAddress: '192.0.2.1', nowMs: NOW });
    assert.equal(typeof r.ok, 'boolean');
  }), budget);
});

test('decodeKey: random strings → a key or ERR_KEY_INVALID', () => {
  fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.uint8Array({ minLength: 30, maxLength: 34 }).map((b) => Buffer.from(b).toString('base64'))), (s) => {
    try {
      assert.equal(decodeKey(s).byteLength, 32);
    } catch (e) {
      assert.ok(isMasqueError(e) && e.code === 'ERR_KEY_INVALID');
    }
  }), budget);
});

test('AuthorizedKeys.parse: random text → parsed or ERR_AUTHORIZED_KEYS_SYNTAX with a line', () => {
  fc.assert(fc.property(fc.string({ maxLength: 300 }), (text) => {
    try {
      AuthorizedKeys.parse(text);
    } catch (e) {
      assert.ok(isMasqueError(e) && e.code === 'ERR_AUTHORIZED_KEYS_SYNTAX');
      assert.ok(((e as { line?: number }).line ?? 0) >= 1);
    }
  }), budget);
});
