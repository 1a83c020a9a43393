/**
 * Connection ID capsules of QUIC-aware proxying (draft-ietf-masque-quic-proxy-07 §5, types in
 * §11.4): the client registers client/target CIDs, the proxy acknowledges them (assigning VCIDs in
 * forwarded mode), either side closes them, and the proxy raises the registration limit.
 *
 * Same conventions as connect-ip-capsules.ts: `parseCidCapsule(type, value)` decodes a capsule
 * *value* (CapsuleParser already split Type and Length); `encodeCidCapsule(w, c)` validates, then
 * writes the *whole* capsule. Violations throw CapsuleError ERR_CAPSULE_MALFORMED (RFC 9297 §3.3),
 * except a MAX_CONNECTION_IDS below 1, which is ERR_CAPSULE_MAX_CIDS: §5 says the client resets the
 * stream with H3_DATAGRAM_ERROR, not H3_MESSAGE_ERROR — see `cidCapsuleErrorH3Code()`.
 *
 * Rules beyond the figures: CID/VCID lengths are 0..255 (§5.1–§5.6, the QUIC invariants limit,
 * RFC 8999 §5.1); a Stateless Reset Token is 0 bytes (none, §5.4/§5.5/§9) or 16 (RFC 9000 §10.3);
 * bytes after the last field are malformed. Parsed byte fields are copies, never views into the
 * parser's chunks.
 */
import { isMasqueError } from '../../core/errors.js';
import { encodeCapsuleHeader } from '../../h3/capsule.js';
import { H3_DATAGRAM_ERROR } from '../../h3/errors.js';
import { Reader } from '../../wire/reader.js';
import { varintLen } from '../../wire/varint.js';
import { Writer } from '../../wire/writer.js';
import { CapsuleError } from '../errors.js';

/** draft-ietf-masque-quic-proxy-07 §11.4 (provisional codepoints). */
export const CAPSULE_REGISTER_CLIENT_CID = 0xffe600;
export const CAPSULE_REGISTER_TARGET_CID = 0xffe601;
export const CAPSULE_ACK_CLIENT_CID = 0xffe602;
export const CAPSULE_ACK_CLIENT_VCID = 0xffe603;
export const CAPSULE_ACK_TARGET_CID = 0xffe604;
export const CAPSULE_CLOSE_CLIENT_CID = 0xffe605;
export const CAPSULE_CLOSE_TARGET_CID = 0xffe606;
export const CAPSULE_MAX_CONNECTION_IDS = 0xffe607;

/** Longest Connection ID the QUIC invariants allow (RFC 8999 §5.1). */
export const MAX_CID_LEN = 255;
/** Stateless Reset Token size (RFC 9000 §10.3); 0 means "no token" (§5.4, §5.5, §9). */
export const RESET_TOKEN_LEN = 16;

/** One decoded Connection ID capsule (§5.1–§5.7). `resetToken` is empty or 16 bytes. */
export type CidCapsule =
  | { readonly type: 'register-client'; readonly cid: Uint8Array }
  | { readonly type: 'register-target'; readonly cid: Uint8Array; readonly resetToken: Uint8Array }
  | { readonly type: 'ack-client'; readonly cid: Uint8Array; readonly vcid: Uint8Array }
  | { readonly type: 'ack-client-vcid'; readonly cid: Uint8Array; readonly vcid: Uint8Array; readonly resetToken: Uint8Array }
  | { readonly type: 'ack-target'; readonly cid: Uint8Array; readonly vcid: Uint8Array; readonly resetToken: Uint8Array }
  | { readonly type: 'close-client'; readonly cid: Uint8Array }
  | { readonly type: 'close-target'; readonly cid: Uint8Array }
  | { readonly type: 'max-cids'; readonly maxSeq: number };

const TYPE_OF: Record<CidCapsule['type'], number> = {
  'register-client': CAPSULE_REGISTER_CLIENT_CID,
  'register-target': CAPSULE_REGISTER_TARGET_CID,
  'ack-client': CAPSULE_ACK_CLIENT_CID,
  'ack-client-vcid': CAPSULE_ACK_CLIENT_VCID,
  'ack-target': CAPSULE_ACK_TARGET_CID,
  'close-client': CAPSULE_CLOSE_CLIENT_CID,
  'close-target': CAPSULE_CLOSE_TARGET_CID,
  'max-cids': CAPSULE_MAX_CONNECTION_IDS,
};

/** True for the eight capsule types of §11.4. */
export function isCidCapsuleType(type: number): boolean {
  return type >= CAPSULE_REGISTER_CLIENT_CID && type <= CAPSULE_MAX_CONNECTION_IDS;
}

/**
 * The wire code to reset the request stream with for a CapsuleError from this module: §5 makes a
 * MAX_CONNECTION_IDS below 1 an H3_DATAGRAM_ERROR; everything else is malformed (H3_MESSAGE_ERROR).
 */
export function cidCapsuleErrorH3Code(e: CapsuleError): number {
  return e.code === 'ERR_CAPSULE_MAX_CIDS' ? H3_DATAGRAM_ERROR : e.h3Code;
}

function fail(code: string, msg: string): never {
  throw new CapsuleError(code, msg);
}

/** Runs `f`, turning a truncated read into ERR_CAPSULE_MALFORMED (RFC 9297 §3.3). */
function guard<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (isMasqueError(e) && e.code === 'ERR_WIRE_TRUNCATED') {
      throw new CapsuleError('ERR_CAPSULE_MALFORMED', `${what}: truncated`, { cause: e });
    }
    throw e;
  }
}

function checkCid(what: string, b: Uint8Array): void {
  if (b.length > MAX_CID_LEN) fail('ERR_CAPSULE_MALFORMED', `${what}: length ${b.length} exceeds ${MAX_CID_LEN}`);
}

function checkToken(what: string, n: number): void {
  if (n !== 0 && n !== RESET_TOKEN_LEN) fail('ERR_CAPSULE_MALFORMED', `${what}: stateless reset token length ${n}`);
}

function checkMaxSeq(n: number): void {
  // §5.7: MUST NOT be less than 1; §5: the client resets the stream with H3_DATAGRAM_ERROR.
  if (!(n >= 1)) fail('ERR_CAPSULE_MAX_CIDS', `MAX_CONNECTION_IDS ${n} is less than 1`);
  if (!Number.isInteger(n) || n >= 2 ** 62) fail('ERR_CAPSULE_MALFORMED', `MAX_CONNECTION_IDS ${n} is not a varint`);
}

/** A length-prefixed CID/VCID (copied). */
function readCid(r: Reader, what: string): Uint8Array {
  const n = r.varint();
  if (n > MAX_CID_LEN) fail('ERR_CAPSULE_MALFORMED', `${what}: length ${n} exceeds ${MAX_CID_LEN}`);
  return Uint8Array.from(r.bytes(n));
}

/** A length-prefixed Stateless Reset Token (copied). */
function readToken(r: Reader, what: string): Uint8Array {
  const n = r.varint();
  checkToken(what, n);
  return Uint8Array.from(r.bytes(n));
}

function parseFields(type: number, r: Reader): CidCapsule | null {
  switch (type) {
    case CAPSULE_REGISTER_CLIENT_CID:
    case CAPSULE_CLOSE_CLIENT_CID:
    case CAPSULE_CLOSE_TARGET_CID: {
      // §5.1, §5.6: the CID's length is implied by the capsule length.
      const cid = Uint8Array.from(r.rest());
      checkCid('connection ID', cid);
      const t = type === CAPSULE_REGISTER_CLIENT_CID ? 'register-client' : type === CAPSULE_CLOSE_CLIENT_CID ? 'close-client' : 'close-target';
      return { type: t, cid };
    }
    case CAPSULE_REGISTER_TARGET_CID: // §5.2
      return { type: 'register-target', cid: readCid(r, 'connection ID'), resetToken: readToken(r, 'REGISTER_TARGET_CID') };
    case CAPSULE_ACK_CLIENT_CID: // §5.3
      return { type: 'ack-client', cid: readCid(r, 'connection ID'), vcid: readCid(r, 'virtual connection ID') };
    case CAPSULE_ACK_CLIENT_VCID: // §5.5
    case CAPSULE_ACK_TARGET_CID: { // §5.4
      const cid = readCid(r, 'connection ID');
      const vcid = readCid(r, 'virtual connection ID');
      const resetToken = readToken(r, type === CAPSULE_ACK_TARGET_CID ? 'ACK_TARGET_CID' : 'ACK_CLIENT_VCID');
      return { type: type === CAPSULE_ACK_TARGET_CID ? 'ack-target' : 'ack-client-vcid', cid, vcid, resetToken };
    }
    case CAPSULE_MAX_CONNECTION_IDS: { // §5.7
      const maxSeq = r.varint();
      checkMaxSeq(maxSeq);
      return { type: 'max-cids', maxSeq };
    }
    default:
      return null;
  }
}

/**
 * Parses the value of a Connection ID capsule (§5.1–§5.7). Returns null when `type` is not one of
 * the eight (the caller handles or skips it); throws CapsuleError for a malformed value.
 */
export function parseCidCapsule(type: number, value: Uint8Array): CidCapsule | null {
  if (!isCidCapsuleType(type)) return null;
  const r = new Reader(value);
  return guard(`capsule 0x${type.toString(16)}`, () => {
    const c = parseFields(type, r);
    if (r.remaining > 0) fail('ERR_CAPSULE_MALFORMED', `capsule 0x${type.toString(16)}: ${r.remaining} trailing bytes`);
    return c;
  });
}

/** Validates `c`; returns its length-prefixed fields, or null for the implied-length types. */
function prefixedFields(c: CidCapsule): Uint8Array[] | null {
  switch (c.type) {
    case 'register-target':
      checkCid('connection ID', c.cid);
      checkToken('REGISTER_TARGET_CID', c.resetToken.length);
      return [c.cid, c.resetToken];
    case 'ack-client':
      checkCid('connection ID', c.cid);
      checkCid('virtual connection ID', c.vcid);
      return [c.cid, c.vcid];
    case 'ack-client-vcid':
    case 'ack-target':
      checkCid('connection ID', c.cid);
      checkCid('virtual connection ID', c.vcid);
      checkToken(c.type === 'ack-target' ? 'ACK_TARGET_CID' : 'ACK_CLIENT_VCID', c.resetToken.length);
      return [c.cid, c.vcid, c.resetToken];
    default:
      return null;
  }
}

/** Writes a whole Connection ID capsule; validates first, so nothing is written on error. */
export function encodeCidCapsule(w: Writer, c: CidCapsule): void {
  const type = TYPE_OF[c.type];
  if (c.type === 'max-cids') {
    checkMaxSeq(c.maxSeq);
    encodeCapsuleHeader(w, type, varintLen(c.maxSeq));
    w.varint(c.maxSeq);
    return;
  }
  const fields = prefixedFields(c);
  if (fields === null) {
    // REGISTER_CLIENT_CID, CLOSE_CLIENT_CID, CLOSE_TARGET_CID: the value is the CID.
    checkCid('connection ID', c.cid);
    encodeCapsuleHeader(w, type, c.cid.length);
    w.bytes(c.cid);
    return;
  }
  let len = 0;
  for (const f of fields) len += varintLen(f.length) + f.length;
  encodeCapsuleHeader(w, type, len);
  for (const f of fields) w.varint(f.length).bytes(f);
}
