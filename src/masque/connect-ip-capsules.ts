/**
 * CONNECT-IP capsules (RFC 9484 §4.7): ADDRESS_ASSIGN, ADDRESS_REQUEST, ROUTE_ADVERTISEMENT.
 *
 * `parse…(value)` decode a capsule *value* (the CapsuleParser already split Type and Length);
 * `encode…(w, …)` write the *whole* capsule (Type, Length, Value), validating first so we never
 * send what we would reject. Every violation throws CapsuleError; RFC 9297 §3.3 / RFC 9484 §4.7
 * make such a capsule malformed, and the session aborts the request stream with
 * H3_MESSAGE_ERROR (`CapsuleError.toH3Error()`).
 */
import { isMasqueError } from '../core/errors.js';
import { Reader } from '../wire/reader.js';
import { varintLen } from '../wire/varint.js';
import { Writer } from '../wire/writer.js';
import { encodeCapsuleHeader } from '../h3/capsule.js';
import { CapsuleError } from './errors.js';
import {
  compareIpBytes,
  formatIpAddress,
  hasZeroHostBits,
  ipAddressLen,
  ipBitLen,
  type IpPrefix,
  type IpVersion,
} from './ip-prefix.js';

/** RFC 9484 §4.7.1 */
export const CAPSULE_ADDRESS_ASSIGN = 0x01;
/** RFC 9484 §4.7.2 */
export const CAPSULE_ADDRESS_REQUEST = 0x02;
/** RFC 9484 §4.7.3 */
export const CAPSULE_ROUTE_ADVERTISEMENT = 0x03;

/**
 * An Assigned Address (RFC 9484 §4.7.1) or a Requested Address (§4.7.2) — same layout.
 * `requestId` 0 = unsolicited assignment. An all-zero address with the full prefix length is a
 * refusal in an assignment and "no preference" in a request.
 */
export interface AddressEntry {
  readonly requestId: number;
  readonly prefix: IpPrefix;
}

/** An IP Address Range (RFC 9484 §4.7.3); `ipProtocol` 0 = all protocols. */
export interface IpAddressRange {
  readonly version: IpVersion;
  readonly start: Uint8Array;
  readonly end: Uint8Array;
  readonly ipProtocol: number;
}

function fail(code: string, msg: string): never {
  throw new CapsuleError(code, msg);
}

function toReader(v: Reader | Uint8Array): Reader {
  return v instanceof Uint8Array ? new Reader(v) : v;
}

/** Runs `f`, turning a truncated read into ERR_CAPSULE_MALFORMED (RFC 9297 §3.3: missing bytes). */
function guard<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (isMasqueError(e) && e.code === 'ERR_WIRE_TRUNCATED') {
      throw new CapsuleError('ERR_CAPSULE_MALFORMED', `${what}: truncated entry`, { cause: e });
    }
    throw e;
  }
}

function readVersion(r: Reader): IpVersion {
  const v = r.u8();
  // RFC 9484 §4.7.1–3: IP Version MUST be 4 or 6, else the capsule is malformed.
  if (v !== 4 && v !== 6) fail('ERR_CAPSULE_IP_VERSION', `invalid IP version ${v}`);
  return v;
}

function checkPrefix(p: IpPrefix): void {
  if (p.version !== 4 && p.version !== 6) fail('ERR_CAPSULE_IP_VERSION', `invalid IP version ${String(p.version)}`);
  if (p.bytes.length !== ipAddressLen(p.version)) fail('ERR_CAPSULE_MALFORMED', 'address length does not match IP version');
  // RFC 9484 §4.7.1: the prefix length MUST be ≤ the address length in bits.
  if (!Number.isInteger(p.prefixLen) || p.prefixLen < 0 || p.prefixLen > ipBitLen(p.version)) {
    fail('ERR_CAPSULE_PREFIX_LENGTH', `prefix length ${p.prefixLen} exceeds ${ipBitLen(p.version)}`);
  }
  // The field carries a prefix, so bits past the prefix length must be zero. The RFC does not
  // spell out this check; connect-ip-go (our interop peer) rejects such entries in both
  // ADDRESS_ASSIGN and ADDRESS_REQUEST, so we do the same and never send them.
  if (!hasZeroHostBits(p.bytes, p.prefixLen)) {
    fail('ERR_CAPSULE_HOST_BITS', `bits set after prefix length ${p.prefixLen}`);
  }
}

function readEntry(r: Reader): AddressEntry {
  const requestId = r.varint();
  const version = readVersion(r);
  const bytes = Uint8Array.from(r.bytes(ipAddressLen(version))); // copy: outlives the chunk
  const prefix = { version, bytes, prefixLen: r.u8() };
  checkPrefix(prefix);
  return { requestId, prefix };
}

function entriesLen(entries: readonly AddressEntry[]): number {
  let n = 0;
  for (const e of entries) n += varintLen(e.requestId) + 2 + e.prefix.bytes.length;
  return n;
}

function writeEntries(w: Writer, type: number, entries: readonly AddressEntry[]): void {
  encodeCapsuleHeader(w, type, entriesLen(entries));
  for (const e of entries) w.varint(e.requestId).u8(e.prefix.version).bytes(e.prefix.bytes).u8(e.prefix.prefixLen);
}

/**
 * Parses an ADDRESS_ASSIGN value (RFC 9484 §4.7.1): zero or more Assigned Addresses. An empty
 * list is valid (all addresses removed). Returned entries own their bytes.
 */
export function parseAddressAssign(value: Reader | Uint8Array): AddressEntry[] {
  const r = toReader(value);
  const out: AddressEntry[] = [];
  guard('ADDRESS_ASSIGN', () => {
    while (r.remaining > 0) out.push(readEntry(r));
  });
  return out;
}

/** Writes a whole ADDRESS_ASSIGN capsule (the full current list, RFC 9484 §4.7.1). */
export function encodeAddressAssign(w: Writer, entries: readonly AddressEntry[]): void {
  for (const e of entries) checkPrefix(e.prefix);
  writeEntries(w, CAPSULE_ADDRESS_ASSIGN, entries);
}

function checkRequests(entries: readonly AddressEntry[]): void {
  // RFC 9484 §4.7.2: a capsule with no Requested Address is malformed (abort the stream).
  if (entries.length === 0) fail('ERR_CAPSULE_EMPTY_REQUEST', 'ADDRESS_REQUEST with no entries');
  for (const e of entries) {
    // RFC 9484 §4.7.2: Request ID MUST NOT be 0 in a request.
    if (e.requestId === 0) fail('ERR_CAPSULE_REQUEST_ID', 'ADDRESS_REQUEST entry with request id 0');
  }
}

/**
 * Parses an ADDRESS_REQUEST value (RFC 9484 §4.7.2): one or more Requested Addresses, each with
 * a non-zero Request ID. Reuse of an ID across capsules is session state, checked by the caller.
 */
export function parseAddressRequest(value: Reader | Uint8Array): AddressEntry[] {
  const out = parseAddressAssign(value); // identical layout and per-entry rules
  checkRequests(out);
  return out;
}

/** Writes a whole ADDRESS_REQUEST capsule; validates the §4.7.2 rules first. */
export function encodeAddressRequest(w: Writer, entries: readonly AddressEntry[]): void {
  checkRequests(entries);
  for (const e of entries) checkPrefix(e.prefix);
  writeEntries(w, CAPSULE_ADDRESS_REQUEST, entries);
}

/**
 * The Assigned Address that refuses request `requestId`: the all-zero address with the full
 * prefix length (RFC 9484 §4.7.2).
 */
export function addressRefusal(requestId: number, version: IpVersion): AddressEntry {
  return { requestId, prefix: { version, bytes: new Uint8Array(ipAddressLen(version)), prefixLen: ipBitLen(version) } };
}

function rangeText(x: IpAddressRange): string {
  return `${formatIpAddress(x.version, x.start)}-${formatIpAddress(x.version, x.end)} proto ${x.ipProtocol}`;
}

function checkRange(x: IpAddressRange, prev: IpAddressRange | undefined): void {
  if (x.version !== 4 && x.version !== 6) fail('ERR_CAPSULE_IP_VERSION', `invalid IP version ${String(x.version)}`);
  const len = ipAddressLen(x.version);
  if (x.start.length !== len || x.end.length !== len) fail('ERR_CAPSULE_MALFORMED', 'address length does not match IP version');
  if (!Number.isInteger(x.ipProtocol) || x.ipProtocol < 0 || x.ipProtocol > 255) {
    fail('ERR_CAPSULE_MALFORMED', `invalid IP protocol ${x.ipProtocol}`);
  }
  // RFC 9484 §4.7.3: Start IP Address MUST be ≤ End IP Address.
  if (compareIpBytes(x.start, x.end) > 0) fail('ERR_CAPSULE_RANGE_START_END', `start after end: ${rangeText(x)}`);
  if (prev === undefined) return;
  // RFC 9484 §4.7.3: ranges are ordered by IP Version, then IP Protocol; within one
  // (version, protocol) they are ascending and MUST NOT overlap. Else: malformed.
  const order = prev.version - x.version || prev.ipProtocol - x.ipProtocol;
  if (order > 0) fail('ERR_CAPSULE_RANGE_ORDER', `not ordered by version/protocol: ${rangeText(prev)} before ${rangeText(x)}`);
  if (order === 0 && compareIpBytes(prev.end, x.start) >= 0) {
    fail('ERR_CAPSULE_RANGE_ORDER', `overlapping or descending: ${rangeText(prev)} before ${rangeText(x)}`);
  }
}

/**
 * Parses a ROUTE_ADVERTISEMENT value (RFC 9484 §4.7.3): zero or more IP Address Ranges, which
 * replace the previous set. Returned ranges own their bytes.
 */
export function parseRouteAdvertisement(value: Reader | Uint8Array): IpAddressRange[] {
  const r = toReader(value);
  const out: IpAddressRange[] = [];
  guard('ROUTE_ADVERTISEMENT', () => {
    while (r.remaining > 0) {
      const version = readVersion(r);
      const len = ipAddressLen(version);
      const start = Uint8Array.from(r.bytes(len));
      const end = Uint8Array.from(r.bytes(len));
      const x: IpAddressRange = { version, start, end, ipProtocol: r.u8() };
      checkRange(x, out[out.length - 1]);
      out.push(x);
    }
  });
  return out;
}

/** Writes a whole ROUTE_ADVERTISEMENT capsule; validates order and ranges first. */
export function encodeRouteAdvertisement(w: Writer, ranges: readonly IpAddressRange[]): void {
  let len = 0;
  for (let i = 0; i < ranges.length; i++) {
    checkRange(ranges[i], ranges[i - 1]);
    len += 2 + 2 * ranges[i].start.length;
  }
  encodeCapsuleHeader(w, CAPSULE_ROUTE_ADVERTISEMENT, len);
  for (const x of ranges) w.u8(x.version).bytes(x.start).bytes(x.end).u8(x.ipProtocol);
}
