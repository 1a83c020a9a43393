import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writer } from '../../../src/wire/writer.js';
import { CapsuleParser } from '../../../src/h3/capsule.js';
import {
  CAPSULE_ADDRESS_ASSIGN, CAPSULE_ADDRESS_REQUEST, CAPSULE_ROUTE_ADVERTISEMENT, addressRefusal, encodeAddressAssign,
  encodeAddressRequest, encodeRouteAdvertisement, parseAddressAssign, parseAddressRequest, parseRouteAdvertisement,
  type AddressEntry, type IpAddressRange,
} from '../../../src/masque/connect-ip-capsules.js';
import { CapsuleError } from '../../../src/masque/errors.js';
import { formatIpPrefix, ipPrefix } from '../../../src/masque/ip-prefix.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const enc = (f: (w: Writer) => void) => {
  const w = new Writer();
  f(w);
  return toHex(w.finish());
};
/** Splits a whole capsule with CapsuleParser and returns its value. */
const valueOf = (h: string, type: number) => {
  const [c] = new CapsuleParser().feed(hex(h));
  assert.equal(c.type, type);
  return c.value;
};
const entry = (requestId: number, cidr: string): AddressEntry => ({ requestId, prefix: ipPrefix(cidr) });
const show = (es: AddressEntry[]) => es.map((e) => [e.requestId, formatIpPrefix(e.prefix)]);
const range = (v: 4 | 6, a: string, b: string, ipProtocol = 0): IpAddressRange =>
  ({ version: v, start: ipPrefix(a).bytes, end: ipPrefix(b).bytes, ipProtocol });

test('WIRE-VECTORS §8: ADDRESS_REQUEST id 1, 0.0.0.0/32', () => {
  // 02 Type ADDRESS_REQUEST, 07 Length, 01 Request ID, 04 IPv4, 00000000 address, 20 prefix len 32
  const bytes = '02 07 01 04 00000000 20';
  assert.equal(enc((w) => encodeAddressRequest(w, [entry(1, '0.0.0.0/32')])), bytes.replace(/ /g, ''));
  assert.deepEqual(show(parseAddressRequest(valueOf(bytes, CAPSULE_ADDRESS_REQUEST))), [[1, '0.0.0.0/32']]);
});

test('WIRE-VECTORS §8: ADDRESS_ASSIGN id 1, 192.0.2.11/32', () => {
  // 01 Type ADDRESS_ASSIGN, 07 Length, 01 Request ID, 04 IPv4, c000020b = 192.0.2.11, 20 = /32
  const bytes = '01 07 01 04 c000020b 20';
  assert.equal(enc((w) => encodeAddressAssign(w, [entry(1, '192.0.2.11/32')])), bytes.replace(/ /g, ''));
  assert.deepEqual(show(parseAddressAssign(valueOf(bytes, CAPSULE_ADDRESS_ASSIGN))), [[1, '192.0.2.11/32']]);
});

test('WIRE-VECTORS §8: ROUTE_ADVERTISEMENT IPv4 0.0.0.0–255.255.255.255 proto 0', () => {
  // 03 Type, 0a Length 10, 04 IPv4, 00000000 start, ffffffff end, 00 IP protocol (all)
  const bytes = '03 0a 04 00000000 ffffffff 00';
  assert.equal(enc((w) => encodeRouteAdvertisement(w, [range(4, '0.0.0.0', '255.255.255.255')])), bytes.replace(/ /g, ''));
  const [r] = parseRouteAdvertisement(valueOf(bytes, CAPSULE_ROUTE_ADVERTISEMENT));
  assert.deepEqual([r.version, toHex(r.start), toHex(r.end), r.ipProtocol], [4, '00000000', 'ffffffff', 0]);
});

test('WIRE-VECTORS §8: IPv6 ADDRESS_REQUEST id 2, ::/128', () => {
  // 02 Type, 13 Length 19, 02 Request ID, 06 IPv6, 16 zero bytes, 80 prefix len 128
  const bytes = '02 13 02 06' + '00'.repeat(16) + '80';
  assert.equal(enc((w) => encodeAddressRequest(w, [entry(2, '::/128')])), bytes.replace(/ /g, ''));
  assert.deepEqual(show(parseAddressRequest(valueOf(bytes, CAPSULE_ADDRESS_REQUEST))), [[2, '::/128']]);
});

test('ADDRESS_ASSIGN: empty list is valid (all removed); several entries; refusal helper', () => {
  assert.deepEqual(parseAddressAssign(new Uint8Array(0)), []);
  assert.equal(enc((w) => encodeAddressAssign(w, [])), '0100');
  const es = [entry(0, '100.64.0.2/32'), entry(1337, '2001:db8::/64'), addressRefusal(7, 6)];
  const w = new Writer();
  encodeAddressAssign(w, es);
  const [c] = new CapsuleParser().feed(w.finish());
  assert.deepEqual(show(parseAddressAssign(c.value)), [[0, '100.64.0.2/32'], [1337, '2001:db8::/64'], [7, '::/128']]);
  assert.equal(formatIpPrefix(addressRefusal(1, 4).prefix), '0.0.0.0/32');
});

// RFC 9484 §4.7: each validity rule violated once.
const rejects = (f: () => unknown, code: string) =>
  assert.throws(f, (e: unknown) => e instanceof CapsuleError && e.code === code);

test('§4.7.1/§4.7.2 IP Version other than 4 or 6 → ERR_CAPSULE_IP_VERSION', () => {
  // 01 Request ID, 05 bad version, 01020304, 20
  rejects(() => parseAddressAssign(hex('01 05 01020304 20')), 'ERR_CAPSULE_IP_VERSION');
  rejects(() => parseAddressRequest(hex('01 00 01020304 20')), 'ERR_CAPSULE_IP_VERSION');
});

test('§4.7.1 prefix length > 32 / > 128 → ERR_CAPSULE_PREFIX_LENGTH', () => {
  // 01 id, 04 IPv4, 01020304, 21 = 33
  rejects(() => parseAddressAssign(hex('01 04 01020304 21')), 'ERR_CAPSULE_PREFIX_LENGTH');
  // 01 id, 06 IPv6, 16 bytes, 81 = 129
  rejects(() => parseAddressAssign(hex('01 06' + '20010db8' + '00'.repeat(12) + '81')), 'ERR_CAPSULE_PREFIX_LENGTH');
  rejects(() => encodeAddressAssign(new Writer(), [{ requestId: 1, prefix: { version: 4, bytes: new Uint8Array(4), prefixLen: 33 } }]), 'ERR_CAPSULE_PREFIX_LENGTH');
});

test('bits set after the prefix length → ERR_CAPSULE_HOST_BITS (as connect-ip-go)', () => {
  // 01 id, 04 IPv4, 01020304 = 1.2.3.4, 1c = /28 → low 4 bits set
  rejects(() => parseAddressAssign(hex('01 04 01020304 1c')), 'ERR_CAPSULE_HOST_BITS');
  rejects(() => parseAddressRequest(hex('01 04 01020304 1c')), 'ERR_CAPSULE_HOST_BITS');
});

test('§4.7.2 Request ID 0 in ADDRESS_REQUEST → ERR_CAPSULE_REQUEST_ID', () => {
  // 00 Request ID 0, 04 IPv4, 00000000, 20
  rejects(() => parseAddressRequest(hex('00 04 00000000 20')), 'ERR_CAPSULE_REQUEST_ID');
  rejects(() => encodeAddressRequest(new Writer(), [entry(0, '0.0.0.0/32')]), 'ERR_CAPSULE_REQUEST_ID');
  // ...while 0 is fine (unsolicited) in ADDRESS_ASSIGN
  assert.equal(parseAddressAssign(hex('00 04 00000000 20')).length, 1);
});

test('§4.7.2 ADDRESS_REQUEST with zero entries → ERR_CAPSULE_EMPTY_REQUEST', () => {
  rejects(() => parseAddressRequest(new Uint8Array(0)), 'ERR_CAPSULE_EMPTY_REQUEST');
  rejects(() => encodeAddressRequest(new Writer(), []), 'ERR_CAPSULE_EMPTY_REQUEST');
});

test('RFC 9297 §3.3 missing bytes in an entry → ERR_CAPSULE_MALFORMED', () => {
  rejects(() => parseAddressAssign(hex('01 04 010203')), 'ERR_CAPSULE_MALFORMED'); // address cut
  rejects(() => parseAddressAssign(hex('01 04 01020304')), 'ERR_CAPSULE_MALFORMED'); // no prefix len
  rejects(() => parseAddressAssign(hex('40')), 'ERR_CAPSULE_MALFORMED'); // request id cut
  rejects(() => parseRouteAdvertisement(hex('04 00000000 ffffffff')), 'ERR_CAPSULE_MALFORMED'); // no proto
  rejects(() => parseRouteAdvertisement(hex('06 00')), 'ERR_CAPSULE_MALFORMED');
});

test('§4.7.3 bad IP version in a range → ERR_CAPSULE_IP_VERSION', () => {
  rejects(() => parseRouteAdvertisement(hex('07 00000000 ffffffff 00')), 'ERR_CAPSULE_IP_VERSION');
});

test('§4.7.3 start > end → ERR_CAPSULE_RANGE_START_END', () => {
  // 04 IPv4, start 10.0.0.2, end 10.0.0.1, proto 0
  rejects(() => parseRouteAdvertisement(hex('04 0a000002 0a000001 00')), 'ERR_CAPSULE_RANGE_START_END');
  rejects(() => encodeRouteAdvertisement(new Writer(), [range(6, '::2', '::1')]), 'ERR_CAPSULE_RANGE_START_END');
});

test('§4.7.3 ordering: version, then protocol, then ascending non-overlapping', () => {
  const w = new Writer();
  const ok = [
    range(4, '10.0.0.0', '10.0.0.255', 0), range(4, '10.0.1.0', '10.0.1.255', 0), // ascending
    range(4, '10.0.0.0', '10.0.0.255', 6), // higher protocol may restart addresses
    range(6, '::', '::ffff', 0), range(6, '2001:db8::', '2001:db8::ffff', 17),
  ];
  encodeRouteAdvertisement(w, ok);
  const [c] = new CapsuleParser().feed(w.finish());
  assert.equal(parseRouteAdvertisement(c.value).length, 5);
  const v4 = (a: string, b: string, p: number) => `04 ${a} ${b} ${p.toString(16).padStart(2, '0')}`;
  const v6 = `06 ${'00'.repeat(16)} ${'00'.repeat(15)}01 00`;
  // IPv6 before IPv4 → version order
  rejects(() => parseRouteAdvertisement(hex(v6 + v4('0a000000', '0a0000ff', 0))), 'ERR_CAPSULE_RANGE_ORDER');
  // protocol 17 before protocol 6
  rejects(() => parseRouteAdvertisement(hex(v4('0a000000', '0a0000ff', 17) + v4('0a000100', '0a0001ff', 6))), 'ERR_CAPSULE_RANGE_ORDER');
  // descending addresses
  rejects(() => parseRouteAdvertisement(hex(v4('0a000100', '0a0001ff', 0) + v4('0a000000', '0a0000ff', 0))), 'ERR_CAPSULE_RANGE_ORDER');
  // overlap (10.0.0.0–10.0.0.255 and 10.0.0.255–10.0.1.0)
  rejects(() => parseRouteAdvertisement(hex(v4('0a000000', '0a0000ff', 0) + v4('0a0000ff', '0a000100', 0))), 'ERR_CAPSULE_RANGE_ORDER');
  rejects(() => encodeRouteAdvertisement(new Writer(), [ok[1], ok[0]]), 'ERR_CAPSULE_RANGE_ORDER');
});

test('empty ROUTE_ADVERTISEMENT is valid (no routes)', () => {
  assert.deepEqual(parseRouteAdvertisement(new Uint8Array(0)), []);
  assert.equal(enc((w) => encodeRouteAdvertisement(w, [])), '0300');
});
