/**
 * What forwarded mode does to one short-header packet besides the transform
 * (draft-ietf-masque-quic-proxy-07 §6.1): swap the Destination Connection ID for another,
 * growing or shrinking the packet when the two differ in length. Short headers carry no CID
 * length (RFC 9000 §17.3), so the caller says how long the CID in `pkt` is.
 */
import { Writer } from '../../wire/writer.js';
import { splitCapsule } from '../connect-ip-packet.js';
import { encodeCidCapsule, type CidCapsule } from './capsules.js';

/** True when `pkt` is a short-header packet whose DCID starts with `cid` (RFC 9000 §17.3). */
export function hasDcid(pkt: Uint8Array, cid: Uint8Array): boolean {
  if ((pkt[0] & 0x80) !== 0 || pkt.length < 1 + cid.length) return false;
  for (let i = 0; i < cid.length; i++) if (pkt[1 + i] !== cid[i]) return false;
  return true;
}

/**
 * `pkt` with its first `oldLen` DCID bytes replaced by `cid`, written into `out` when it is
 * large enough (else a new buffer). Returns the view of the result.
 */
export function swapDcid(pkt: Uint8Array, oldLen: number, cid: Uint8Array, out: Uint8Array): Uint8Array {
  const n = pkt.length - oldLen + cid.length;
  const dst = out.length >= n ? out.subarray(0, n) : new Uint8Array(n);
  dst[0] = pkt[0];
  dst.set(cid, 1);
  dst.set(pkt.subarray(1 + oldLen), 1 + cid.length);
  return dst;
}

/** The Type and Value of a CID capsule, for H3Stream.writeCapsule. */
export function cidCapsuleParts(c: CidCapsule): [number, Uint8Array] {
  const w = new Writer(64);
  encodeCidCapsule(w, c);
  const b = w.finish();
  const { type, valueOff, len } = splitCapsule(b, 0);
  return [type, b.subarray(valueOff, valueOff + len)];
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
