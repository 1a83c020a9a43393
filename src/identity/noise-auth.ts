/**
 * Noise IK authentication of a client to a relay, carried in one request header and one
 * response header of the first extended CONNECT (docs/protocol/auth.md has the exact
 * construction and threat model).
 *
 *   client                                       relay
 *   createClientHello() ── masque-noise: <msg1> ──▶ verifyClientHello()
 *   finishClient()     ◀── masque-noise: <msg2> ──
 *
 * Sans-IO: no sockets, files, timers or logging; time comes in as `nowMs`. Every failure is
 * an AuthError with a stable code; exceptions from noise-handshake or sodium never escape.
 */
import NoiseState from 'noise-handshake';
import { timingSafeEqual } from 'node:crypto';
import { AuthError } from './errors.js';
import { encodeKey, KEY_BYTES, type KeyPair } from './keys.js';
import {
  CERT_HASH_BYTES, CLIENT_MESSAGE_BYTES, NOISE_PROLOGUE, RELAY_MESSAGE_BYTES,
  decodeHeaderValue, encodeClientPayload, encodeHeaderValue, encodeRelayPayload,
  parseClientPayload, parseRelayPayload, timestampToUnixMs, encodeTimestamp,
  type MonotonicTimestamper, type Timestamp,
} from './noise-payload.js';
import type { ReplayGuard } from './replay-guard.js';

/**
 * Default freshness window: a hello whose timestamp is further than this from the relay's
 * clock is refused (ERR_AUTH_STALE). It bounds replays the ReplayGuard cannot catch (after
 * an eviction or a restart) at the price of needing roughly synchronised clocks, which TLS
 * certificate validity already assumes.
 */
export const DEFAULT_FRESHNESS_WINDOW_MS = 120_000;

export interface ClientHelloOptions {
  /** The client's static key pair (long-term, or a one-off pair for the egress hop). */
  clientStatic: KeyPair;
  /** The relay's pinned static public key (32 bytes). */
  relayPublicKey: Uint8Array;
  /** SHA-256 of the TLS leaf certificate the client saw on this QUIC connection. */
  tlsCertSha256: Uint8Array;
  nowMs: number;
  /** Keeps timestamps strictly increasing across hellos of the same key; recommended. */
  timestamper?: MonotonicTimestamper;
}

/** Opaque client state between createClientHello and finishClient. Single use. */
export interface ClientHandshakeState {
  readonly relayPublicKey: Uint8Array;
  readonly tlsCertSha256: Uint8Array;
  readonly timestamp: Timestamp;
  /** @internal the initiator's Noise state (holds the ephemeral private key). */
  readonly noise: NoiseState;
  /** @internal set once finishClient ran, so a state cannot be replayed into twice. */
  isUsed: boolean;
}

export interface ClientHello {
  /** Value of the `masque-noise` request header. */
  headerValue: string;
  state: ClientHandshakeState;
}

export interface ClientFinished {
  /** The relay's static key, now proven (it decrypted message 1 and produced message 2). */
  relayPublicKey: Uint8Array;
  /** Noise handshake hash: a transcript digest both sides share (future channel binding). */
  handshakeHash: Uint8Array;
}

export interface VerifyClientHelloOptions {
  relayStatic: KeyPair;
  /** Value of the `masque-noise` request header. */
  headerValue: string;
  /** SHA-256 of the leaf certificate this relay presented on the connection. */
  tlsCertSha256: Uint8Array;
  nowMs: number;
  /** Allowlist check on the authenticated client static key (32 bytes). */
  isAuthorized: (clientPublicKey: Uint8Array) => boolean;
  replay: ReplayGuard;
  /** Allowed |client timestamp − nowMs|; default DEFAULT_FRESHNESS_WINDOW_MS. */
  freshnessWindowMs?: number;
}

export interface VerifiedClient {
  clientPublicKey: Uint8Array;
  /** Value of the `masque-noise` response header. */
  responseHeaderValue: string;
  handshakeHash: Uint8Array;
}

/**
 * Builds the initiator's message (`-> e, es, s, ss` + payload) for the `masque-noise`
 * request header. Wrong key or hash lengths throw AuthError ERR_AUTH_MALFORMED (a caller
 * bug, never peer input). The returned state holds the ephemeral private key: keep it only
 * until the response arrives.
 */
export function createClientHello(opts: ClientHelloOptions): ClientHello {
  requireBytes(opts.relayPublicKey, KEY_BYTES, 'relay public key');
  requireBytes(opts.tlsCertSha256, CERT_HASH_BYTES, 'certificate hash');
  requireBytes(opts.clientStatic.privateKey, KEY_BYTES, 'client private key');
  const timestamp = opts.timestamper?.next(opts.nowMs) ?? encodeTimestamp(opts.nowMs);
  const noise = new NoiseState('IK', true, toNoiseKeyPair(opts.clientStatic));
  noise.initialise(NOISE_PROLOGUE, Buffer.from(opts.relayPublicKey));
  const msg = noise.send(encodeClientPayload(timestamp, opts.tlsCertSha256));
  return {
    headerValue: encodeHeaderValue(msg),
    state: {
      relayPublicKey: Uint8Array.from(opts.relayPublicKey),
      tlsCertSha256: Uint8Array.from(opts.tlsCertSha256),
      timestamp,
      noise,
      isUsed: false,
    },
  };
}

/**
 * Relay side: checks the initiator's message and builds the response. Checks, in order
 * (auth.md §3.3): header syntax → Noise decryption (proves the client holds the static
 * key it sent) → payload version and syntax → allowlist → certificate hash → replay →
 * freshness. Only if all pass is the timestamp recorded in `replay`.
 * Throws AuthError: ERR_AUTH_MALFORMED / ERR_AUTH_VERSION (400), ERR_AUTH_DECRYPT,
 * ERR_AUTH_UNKNOWN_KEY, ERR_AUTH_CERT_MISMATCH, ERR_AUTH_REPLAY, ERR_AUTH_STALE (403).
 */
export function verifyClientHello(opts: VerifyClientHelloOptions): VerifiedClient {
  const msg = decodeHeaderValue(opts.headerValue, CLIENT_MESSAGE_BYTES, 'request header');
  const noise = new NoiseState('IK', false, toNoiseKeyPair(opts.relayStatic));
  noise.initialise(NOISE_PROLOGUE);
  let plaintext: Uint8Array;
  try {
    plaintext = noise.recv(Buffer.from(msg));
  } catch (cause) {
    throw new AuthError('ERR_AUTH_DECRYPT', 'noise-auth: client hello does not decrypt', { cause });
  }
  const payload = parseClientPayload(plaintext);
  const clientPublicKey = Uint8Array.from(noise.rs!);
  if (!opts.isAuthorized(clientPublicKey)) {
    throw new AuthError('ERR_AUTH_UNKNOWN_KEY', 'noise-auth: client key is not authorized');
  }
  if (!bytesEqual(payload.tlsCertSha256, opts.tlsCertSha256)) {
    throw new AuthError('ERR_AUTH_CERT_MISMATCH', 'noise-auth: client saw another TLS certificate (man in the middle?)');
  }
  const keyText = encodeKey(clientPublicKey);
  if (!opts.replay.isNewer(keyText, payload.timestamp)) {
    throw new AuthError('ERR_AUTH_REPLAY', 'noise-auth: timestamp not newer than the last accepted one');
  }
  const windowMs = opts.freshnessWindowMs ?? DEFAULT_FRESHNESS_WINDOW_MS;
  if (Math.abs(timestampToUnixMs(payload.timestamp) - opts.nowMs) > windowMs) {
    throw new AuthError('ERR_AUTH_STALE', 'noise-auth: timestamp outside the freshness window');
  }
  let reply: Uint8Array;
  try {
    reply = noise.send(encodeRelayPayload(opts.tlsCertSha256));
  } catch (cause) {
    // Only reachable with a degenerate (low-order) ephemeral from the client.
    throw new AuthError('ERR_AUTH_DECRYPT', 'noise-auth: cannot complete the handshake', { cause });
  }
  opts.replay.record(keyText, payload.timestamp);
  return {
    clientPublicKey,
    responseHeaderValue: encodeHeaderValue(reply),
    handshakeHash: Uint8Array.from(noise.hash!),
  };
}

/**
 * Client side: checks the relay's response. Success proves the responder holds the private
 * key of `relayPublicKey` (only it can compute `es` from message 1) and saw the same TLS
 * certificate. Throws AuthError ERR_AUTH_MALFORMED (bad header), ERR_AUTH_DECRYPT (not the
 * pinned relay, or tampered), ERR_AUTH_CERT_MISMATCH (relay reports another certificate),
 * ERR_AUTH_RELAY_RESPONSE (state already used). `state` is consumed either way.
 */
export function finishClient(state: ClientHandshakeState, responseHeaderValue: string): ClientFinished {
  if (state.isUsed) throw new AuthError('ERR_AUTH_RELAY_RESPONSE', 'noise-auth: handshake state already used');
  state.isUsed = true;
  const msg = decodeHeaderValue(responseHeaderValue, RELAY_MESSAGE_BYTES, 'response header');
  let plaintext: Uint8Array;
  try {
    plaintext = state.noise.recv(Buffer.from(msg));
  } catch (cause) {
    throw new AuthError('ERR_AUTH_DECRYPT', 'noise-auth: relay response does not decrypt (wrong relay key?)', { cause });
  }
  const echoed = parseRelayPayload(plaintext);
  if (!bytesEqual(echoed, state.tlsCertSha256)) {
    throw new AuthError('ERR_AUTH_CERT_MISMATCH', 'noise-auth: relay saw another TLS certificate (man in the middle?)');
  }
  return { relayPublicKey: state.relayPublicKey, handshakeHash: Uint8Array.from(state.noise.hash!) };
}

function toNoiseKeyPair(kp: KeyPair): { publicKey: Buffer; secretKey: Buffer } {
  // Copies: noise-handshake keeps references and sodium wants Buffers it may zero later.
  return { publicKey: Buffer.from(kp.publicKey), secretKey: Buffer.from(kp.privateKey) };
}

function requireBytes(buf: Uint8Array, n: number, what: string): void {
  if (!(buf instanceof Uint8Array) || buf.byteLength !== n) {
    throw new AuthError('ERR_AUTH_MALFORMED', `noise-auth: ${what} must be ${n} bytes`);
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && timingSafeEqual(a, b);
}
