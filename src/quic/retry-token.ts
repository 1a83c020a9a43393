/**
 * Stateless Retry tokens (RFC 9000 §8.1.2): address validation without per-client state.
 * token = issuedAtSec(4) | odcidLen(1) | odcid | HMAC-SHA256(key, issuedAt|odcid|peer)[0..16]
 * A token binds the client's address and original DCID and expires after `maxAgeSec`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { HostPort } from './path.js';

const MAC_LEN = 16;

function mac(key: Uint8Array, head: Uint8Array, peer: HostPort): Buffer {
  return createHmac('sha256', key).update(head).update(`${peer.host}|${peer.port}`).digest().subarray(0, MAC_LEN);
}

export function mintRetryToken(key: Uint8Array, odcid: Uint8Array, peer: HostPort, nowMs: number): Uint8Array {
  const head = Buffer.alloc(5 + odcid.length);
  head.writeUInt32BE(Math.floor(nowMs / 1000) >>> 0, 0);
  head[4] = odcid.length;
  head.set(odcid, 5);
  return Buffer.concat([head, mac(key, head, peer)]);
}

/** The original DCID the token vouches for, or null if forged, for another address or expired. */
export function checkRetryToken(key: Uint8Array, token: Uint8Array, peer: HostPort, nowMs: number, maxAgeSec = 10): Uint8Array | null {
  if (token.length < 5 + MAC_LEN) return null;
  const len = token[4];
  if (len > 20 || token.length !== 5 + len + MAC_LEN) return null;
  const head = token.subarray(0, 5 + len);
  const expect = mac(key, head, peer);
  if (!timingSafeEqual(expect, token.subarray(5 + len))) return null;
  const issued = Buffer.from(head).readUInt32BE(0);
  const age = Math.floor(nowMs / 1000) - issued;
  if (age < 0 || age > maxAgeSec) return null;
  return Uint8Array.from(head.subarray(5));
}
