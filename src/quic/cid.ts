/**
 * Connection-ID helpers for the router. Short-header DCIDs are read in JS (+48 % over
 * quiche's Header.fromSlice: FACTS.md); we know their length because we chose it.
 * Keys are latin1 strings: a cheap, collision-free Map key for raw bytes.
 */
import { randomBytes, createHmac } from 'node:crypto';

/** Length of every connection ID we issue. */
export const CID_LEN = 16;

export function newCid(): Uint8Array {
  return randomBytes(CID_LEN);
}

export function cidKey(cid: Uint8Array): string {
  return Buffer.from(cid.buffer, cid.byteOffset, cid.byteLength).toString('latin1');
}

/** True for a long-header packet (RFC 9000 §17.2: top bit set). */
export function isLongHeader(pkt: Uint8Array): boolean {
  return (pkt[0] & 0x80) !== 0;
}

/**
 * The router key of a packet's DCID, or null if the packet is too short to have one.
 * Long header (RFC 9000 §17.2): flags(1) version(4) dcidLen(1) dcid. Short (§17.3): flags(1) dcid.
 */
export function dcidKeyOf(pkt: Uint8Array): string | null {
  const b = Buffer.from(pkt.buffer, pkt.byteOffset, pkt.byteLength);
  if (isLongHeader(pkt)) {
    if (pkt.length < 6) return null;
    const len = pkt[5];
    if (len > 20 || pkt.length < 6 + len) return null;
    return b.toString('latin1', 6, 6 + len);
  }
  if (pkt.length < 1 + CID_LEN) return null;
  return b.toString('latin1', 1, 1 + CID_LEN);
}

/** Stateless reset token for a CID (RFC 9000 §10.3.2): HMAC of the CID under an endpoint key. */
export function resetTokenFor(key: Uint8Array, cid: Uint8Array): bigint {
  const mac = createHmac('sha256', key).update(cid).digest();
  return mac.readBigUInt64BE(0) * 2n ** 64n + mac.readBigUInt64BE(8);
}
