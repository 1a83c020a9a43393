import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import NoiseState from 'noise-handshake';
import {
  createClientHello, finishClient, verifyClientHello, type VerifyClientHelloOptions,
} from '../../../src/identity/noise-auth.js';
import {
  CLIENT_MESSAGE_BYTES, MonotonicTimestamper, NOISE_PROLOGUE, RELAY_MESSAGE_BYTES,
  encodeHeaderValue, encodeRelayPayload,
} from '../../../src/identity/noise-payload.js';
import { ReplayGuard } from '../../../src/identity/replay-guard.js';
import { AuthorizedKeys } from '../../../src/identity/authorized-keys.js';
import { encodeKey, generateKeyPair, type KeyPair } from '../../../src/identity/keys.js';
import { AuthError } from '../../../src/identity/errors.js';

const NOW = Date.UTC(2025, 0, 1);
const certHash = (s: string) => new Uint8Array(createHash('sha256').update(s).digest());
const CERT = certHash('relay leaf cert');
const MITM_CERT = certHash('attacker leaf cert');

function setup() {
  const relay = generateKeyPair();
  const client = generateKeyPair();
  const keys = AuthorizedKeys.fromList([encodeKey(client.publicKey)]);
  const replay = new ReplayGuard();
  const verify = (headerValue: string, over: Partial<VerifyClientHelloOptions> = {}) =>
    verifyClientHello({
      relayStatic: relay, headerValue, tlsCertSha256: CERT, nowMs: NOW,
      isAuthorized: (k) => keys.has(k), replay, ...over,
    });
  const hello = (over: { nowMs?: number; cert?: Uint8Array; clientStatic?: KeyPair; relayPublicKey?: Uint8Array } = {}) =>
    createClientHello({
      clientStatic: over.clientStatic ?? client,
      relayPublicKey: over.relayPublicKey ?? relay.publicKey,
      tlsCertSha256: over.cert ?? CERT,
      nowMs: over.nowMs ?? NOW,
    });
  return { relay, client, replay, verify, hello };
}

function assertAuthError(fn: () => unknown, code: string, status?: number): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof AuthError, `expected AuthError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (status !== undefined) assert.equal(e.httpStatus, status);
    return true;
  });
}

test('full handshake: relay learns the client key, client verifies the relay', () => {
  const { client, relay, verify, hello } = setup();
  const h = hello();
  assert.match(h.headerValue, /^[A-Za-z0-9_-]+$/);
  assert.equal(Buffer.from(h.headerValue, 'base64url').byteLength, CLIENT_MESSAGE_BYTES);
  const v = verify(h.headerValue);
  assert.deepEqual(v.clientPublicKey, client.publicKey);
  assert.equal(Buffer.from(v.responseHeaderValue, 'base64url').byteLength, RELAY_MESSAGE_BYTES);
  const done = finishClient(h.state, v.responseHeaderValue);
  assert.deepEqual(done.relayPublicKey, relay.publicKey);
  assert.deepEqual(done.handshakeHash, v.handshakeHash, 'both sides share the transcript hash');
  assertAuthError(() => finishClient(h.state, v.responseHeaderValue), 'ERR_AUTH_RELAY_RESPONSE');
});

test('unknown client key → ERR_AUTH_UNKNOWN_KEY / 403', () => {
  const { verify, hello } = setup();
  assertAuthError(() => verify(hello({ clientStatic: generateKeyPair() }).headerValue), 'ERR_AUTH_UNKNOWN_KEY', 403);
});

test('replayed header → ERR_AUTH_REPLAY / 403', () => {
  const { verify, hello } = setup();
  const h = hello();
  verify(h.headerValue);
  assertAuthError(() => verify(h.headerValue), 'ERR_AUTH_REPLAY', 403);
  assertAuthError(() => verify(h.headerValue, { nowMs: NOW + 1000 }), 'ERR_AUTH_REPLAY', 403);
});

test('an older timestamp is refused after a newer one; a newer one is accepted', () => {
  const { verify, hello } = setup();
  const older = hello({ nowMs: NOW - 5000 });
  const newer = hello({ nowMs: NOW });
  verify(newer.headerValue);
  assertAuthError(() => verify(older.headerValue), 'ERR_AUTH_REPLAY', 403);
  verify(hello({ nowMs: NOW + 1 }).headerValue);
});

test('a refused hello does not advance the replay guard', () => {
  const { verify, hello, replay } = setup();
  const h = hello();
  assertAuthError(() => verify(h.headerValue, { tlsCertSha256: MITM_CERT }), 'ERR_AUTH_CERT_MISMATCH');
  assert.equal(replay.size, 0);
  verify(h.headerValue);
});

test('same-millisecond hellos pass with a MonotonicTimestamper', () => {
  const { client, relay, verify } = setup();
  const ts = new MonotonicTimestamper();
  for (let i = 0; i < 3; i++) {
    const h = createClientHello({ clientStatic: client, relayPublicKey: relay.publicKey, tlsCertSha256: CERT, nowMs: NOW, timestamper: ts });
    verify(h.headerValue);
  }
});

test('timestamps outside the freshness window → ERR_AUTH_STALE', () => {
  const { verify, hello } = setup();
  assertAuthError(() => verify(hello({ nowMs: NOW - 10 * 60_000 }).headerValue), 'ERR_AUTH_STALE', 403);
  assertAuthError(() => verify(hello({ nowMs: NOW + 10 * 60_000 }).headerValue), 'ERR_AUTH_STALE', 403);
  verify(hello({ nowMs: NOW - 60_000 }).headerValue, { freshnessWindowMs: 61_000 });
});

test('TLS MITM, relay side: the client saw another certificate → ERR_AUTH_CERT_MISMATCH', () => {
  const { verify, hello } = setup();
  assertAuthError(() => verify(hello({ cert: MITM_CERT }).headerValue), 'ERR_AUTH_CERT_MISMATCH', 403);
});

test('TLS MITM, client side: a response echoing another certificate → ERR_AUTH_CERT_MISMATCH', () => {
  const { relay, hello } = setup();
  const h = hello();
  // A responder that holds the real relay key but reports the certificate it saw on the
  // MITM's onward connection (hand-built, since verifyClientHello would refuse first).
  const responder = new NoiseState('IK', false, { publicKey: Buffer.from(relay.publicKey), secretKey: Buffer.from(relay.privateKey) });
  responder.initialise(NOISE_PROLOGUE);
  responder.recv(Buffer.from(h.headerValue, 'base64url'));
  const reply = encodeHeaderValue(responder.send(encodeRelayPayload(MITM_CERT)));
  assertAuthError(() => finishClient(h.state, reply), 'ERR_AUTH_CERT_MISMATCH');
});

test('relay impersonation: a responder without the pinned key is detected by the client', () => {
  const { hello, client } = setup();
  const impostor = generateKeyPair();
  const h = hello(); // pinned to the real relay's key
  // The impostor cannot even decrypt message 1 …
  const impostorReplay = new ReplayGuard();
  assert.throws(() => verifyClientHello({
    relayStatic: impostor, headerValue: h.headerValue, tlsCertSha256: CERT, nowMs: NOW,
    isAuthorized: () => true, replay: impostorReplay,
  }), { code: 'ERR_AUTH_DECRYPT' });
  // … and a response from a handshake with the impostor's own key does not verify.
  const h2 = createClientHello({ clientStatic: client, relayPublicKey: impostor.publicKey, tlsCertSha256: CERT, nowMs: NOW });
  const fake = verifyClientHello({
    relayStatic: impostor, headerValue: h2.headerValue, tlsCertSha256: CERT, nowMs: NOW,
    isAuthorized: () => true, replay: impostorReplay,
  });
  assertAuthError(() => finishClient(h.state, fake.responseHeaderValue), 'ERR_AUTH_DECRYPT');
});

test('tampered request bytes → ERR_AUTH_DECRYPT (or MALFORMED), never anything else', () => {
  const { verify, hello } = setup();
  const raw = Buffer.from(hello().headerValue, 'base64url');
  for (let i = 0; i < raw.byteLength; i += 7) {
    const bad = Buffer.from(raw);
    bad[i]! ^= 0x01;
    assert.throws(() => verify(encodeHeaderValue(bad)), (e: unknown) => {
      assert.ok(e instanceof AuthError);
      assert.ok(e.code === 'ERR_AUTH_DECRYPT' || e.code === 'ERR_AUTH_MALFORMED', e.code);
      return true;
    }, `byte ${i}`);
  }
});

test('tampered response bytes → ERR_AUTH_DECRYPT', () => {
  const { verify, hello } = setup();
  const h = hello();
  const raw = Buffer.from(verify(h.headerValue).responseHeaderValue, 'base64url');
  raw[50]! ^= 0x80;
  assertAuthError(() => finishClient(h.state, encodeHeaderValue(raw)), 'ERR_AUTH_DECRYPT');
});

test('malformed header values → ERR_AUTH_MALFORMED / 400', () => {
  const { verify, hello } = setup();
  const good = hello().headerValue;
  for (const v of ['', 'abc', `${good}A`, `${good.slice(0, -1)}=`, good.replace(/.$/, '+'), 'x'.repeat(100_000)]) {
    assertAuthError(() => verify(v), 'ERR_AUTH_MALFORMED', 400);
  }
  // 141 and 81 bytes are multiples of 3, so base64url has no padding bits to abuse.
});

test('a hello for another protocol version or prologue fails to decrypt', () => {
  const { relay, client, verify } = setup();
  const initiator = new NoiseState('IK', true, { publicKey: Buffer.from(client.publicKey), secretKey: Buffer.from(client.privateKey) });
  initiator.initialise(new TextEncoder().encode('masque-relay noise-auth v2'), Buffer.from(relay.publicKey));
  const msg = initiator.send(new Uint8Array(45));
  assertAuthError(() => verify(encodeHeaderValue(msg)), 'ERR_AUTH_DECRYPT', 403);
});

test('a well-encrypted payload with another version byte → ERR_AUTH_VERSION', () => {
  const { relay, client, verify } = setup();
  const initiator = new NoiseState('IK', true, { publicKey: Buffer.from(client.publicKey), secretKey: Buffer.from(client.privateKey) });
  initiator.initialise(NOISE_PROLOGUE, Buffer.from(relay.publicKey));
  const payload = new Uint8Array(45);
  payload[0] = 2;
  assertAuthError(() => verify(encodeHeaderValue(initiator.send(payload))), 'ERR_AUTH_VERSION', 400);
});
