import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decrementTtl, ipDst, ipDstString, ipHeaderLength, ipProtocol, ipSrc, ipSrcString, ipTotalLength, ipUpperOffset,
  ipv4DstU32, ipv4FragmentOffset, ipv4SrcU32, ipVersion, isIpv4DontFragment, isIpv4Fragment, isIpv4HeaderChecksumValid,
  isMulticastOrBroadcast,
  isWellFormedIp, setIpv4HeaderChecksum, swapIpAddresses,
} from '../../../src/wire/ip.js';
import { formatIpAddress, parseIpAddress } from '../../../src/wire/ip-address.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

// IPv4 ICMP echo request 10.0.0.1 → 10.0.0.2, 28 bytes.
const V4_ECHO = hex(
  '45' + // version 4, IHL 5 (20 bytes)
  '00' + // DSCP/ECN
  '001c' + // total length 28
  '0001' + // identification
  '0000' + // flags 0, fragment offset 0
  '40' + // TTL 64
  '01' + // protocol ICMP
  '66de' + // header checksum (computed by hand in checksum.test.ts)
  '0a000001' + // source 10.0.0.1
  '0a000002' + // destination 10.0.0.2
  '0800e5ca12340001', // ICMP echo request, checksum e5ca, id 0x1234, seq 1
);

// IPv6: fd00::1 → fd00::2, Hop-by-Hop options header, then UDP (8 bytes).
const V6_HBH_UDP = hex(
  '60000000' + // version 6, traffic class 0, flow label 0
  '0010' + // payload length 16
  '00' + // next header: Hop-by-Hop options
  '40' + // hop limit 64
  'fd000000000000000000000000000001' + // source
  'fd000000000000000000000000000002' + // destination
  '11' + // HBH: next header UDP
  '00' + // HBH: length 0 (8 bytes)
  '010400000000' + // PadN, 4 bytes of padding
  '1234' + '5678' + '0008' + '0000', // UDP ports, length 8, checksum 0
);

test('IPv4 peeks: version, lengths, protocol, addresses', () => {
  assert.equal(ipVersion(V4_ECHO), 4);
  assert.equal(ipHeaderLength(V4_ECHO), 20);
  assert.equal(ipTotalLength(V4_ECHO), 28);
  assert.equal(ipProtocol(V4_ECHO), 1);
  assert.equal(ipUpperOffset(V4_ECHO), 20);
  assert.equal(ipSrcString(V4_ECHO), '10.0.0.1');
  assert.equal(ipDstString(V4_ECHO), '10.0.0.2');
  assert.deepEqual([...ipSrc(V4_ECHO)], [10, 0, 0, 1]);
  assert.deepEqual([...ipDst(V4_ECHO)], [10, 0, 0, 2]);
  assert.equal(ipv4SrcU32(V4_ECHO), 0x0a000001);
  assert.equal(ipv4DstU32(V4_ECHO), 0x0a000002);
  assert.equal(ipv4FragmentOffset(V4_ECHO), 0);
  assert.ok(isIpv4HeaderChecksumValid(V4_ECHO));
  assert.ok(isWellFormedIp(V4_ECHO));
});

test('peeks honour an offset (TUN slots have headroom)', () => {
  const slot = new Uint8Array(16 + V4_ECHO.length + 100);
  slot.set(V4_ECHO, 16);
  assert.equal(ipVersion(slot, 16), 4);
  assert.equal(ipTotalLength(slot, 16), 28);
  assert.equal(ipDstString(slot, 16), '10.0.0.2');
  assert.ok(isWellFormedIp(slot, 16, 28));
  assert.ok(!isWellFormedIp(slot, 16, 27), 'declared length longer than the bytes');
});

test('IPv6 peeks walk extension headers to the upper layer', () => {
  assert.equal(ipVersion(V6_HBH_UDP), 6);
  assert.equal(ipHeaderLength(V6_HBH_UDP), 40);
  assert.equal(ipTotalLength(V6_HBH_UDP), 56);
  assert.equal(ipProtocol(V6_HBH_UDP), 17);
  assert.equal(ipUpperOffset(V6_HBH_UDP), 48);
  assert.equal(ipSrcString(V6_HBH_UDP), 'fd00::1');
  assert.equal(ipDstString(V6_HBH_UDP), 'fd00::2');
  assert.ok(isWellFormedIp(V6_HBH_UDP));
});

test('IPv6 non-first fragment reports the Fragment header, first fragment the upper layer', () => {
  const frag = (offsetUnits: number) => hex(
    '60000000' + '0010' + '2c' + '40' + // payload 16, next header Fragment (44), hop limit 64
    'fd000000000000000000000000000001' + 'fd000000000000000000000000000002' +
    '11' + '00' + // Fragment: next header UDP, reserved
    (offsetUnits << 3 | 1).toString(16).padStart(4, '0') + // fragment offset, M flag
    '00000001' + // identification
    '1234567800080000', // 8 bytes of payload
  );
  assert.equal(ipProtocol(frag(0)), 17);
  assert.equal(ipUpperOffset(frag(0)), 48);
  assert.equal(ipProtocol(frag(1)), 44);
});

test('IPv4 flags: Don\'t Fragment, and fragments by More Fragments or offset, at an offset', () => {
  const slot = new Uint8Array(4 + V4_ECHO.length);
  const at = (flagsAndOffset: number) => {
    slot.set(V4_ECHO, 4);
    slot[4 + 6] = flagsAndOffset >> 8; // flags (3 bits) | fragment offset (13 bits, 8-byte units)
    slot[4 + 7] = flagsAndOffset & 0xff;
    return slot;
  };
  assert.ok(!isIpv4DontFragment(at(0x0000), 4));
  assert.ok(!isIpv4Fragment(at(0x0000), 4));
  assert.ok(isIpv4DontFragment(at(0x4000), 4), 'DF');
  assert.ok(!isIpv4Fragment(at(0x4000), 4), 'DF alone is not a fragment');
  assert.ok(isIpv4Fragment(at(0x2000), 4), 'MF: first fragment');
  assert.ok(!isIpv4DontFragment(at(0x2000), 4));
  assert.ok(isIpv4Fragment(at(0x0001), 4), 'offset 8 bytes: last fragment');
  assert.equal(ipv4FragmentOffset(at(0x0001), 4), 8);
});

test('malformed packets: -1 / 0 / false, never a throw', () => {
  assert.equal(ipVersion(new Uint8Array(0)), 0);
  assert.equal(ipProtocol(hex('60')), -1);
  assert.equal(ipProtocol(hex('00')), -1);
  assert.ok(!isWellFormedIp(hex('44000014')), 'IHL 4 < 5');
  assert.ok(!isWellFormedIp(V6_HBH_UDP.subarray(0, 50)));
  const cut = V6_HBH_UDP.slice(0, 44);
  cut[4] = 0; cut[5] = 4; // payload 4: HBH header claims 8 bytes
  assert.equal(ipProtocol(cut), -1);
  assert.ok(!isWellFormedIp(hex('7000')));
});

test('decrementTtl updates the IPv4 checksum incrementally and stops at 1', () => {
  const p = V4_ECHO.slice();
  assert.ok(decrementTtl(p));
  assert.equal(p[8], 63);
  assert.equal((p[10] << 8) | p[11], 0x67de);
  assert.ok(isIpv4HeaderChecksumValid(p));
  p[8] = 1;
  setIpv4HeaderChecksum(p);
  const before = p.slice();
  assert.ok(!decrementTtl(p));
  assert.deepEqual(p, before);
  const v6 = V6_HBH_UDP.slice();
  assert.ok(decrementTtl(v6));
  assert.equal(v6[7], 63);
  v6[7] = 1;
  assert.ok(!decrementTtl(v6));
});

test('decrementTtl checksum stays valid across the carry boundary', () => {
  for (let ttl = 2; ttl < 256; ttl++) {
    const p = V4_ECHO.slice();
    p[8] = ttl;
    p[4] = ttl; // vary the identification too, so sums hit every carry case
    setIpv4HeaderChecksum(p);
    assert.ok(decrementTtl(p));
    assert.ok(isIpv4HeaderChecksumValid(p), `ttl ${ttl}`);
  }
});

test('swapIpAddresses swaps v4 and v6 addresses in place', () => {
  const p = V4_ECHO.slice();
  swapIpAddresses(p);
  assert.equal(ipSrcString(p), '10.0.0.2');
  assert.equal(ipDstString(p), '10.0.0.1');
  assert.ok(isIpv4HeaderChecksumValid(p), 'checksum is commutative in the addresses');
  const q = V6_HBH_UDP.slice();
  swapIpAddresses(q);
  assert.equal(ipSrcString(q), 'fd00::2');
});

test('multicast/broadcast classification', () => {
  assert.ok(isMulticastOrBroadcast(hex('e0000001')));
  assert.ok(isMulticastOrBroadcast(hex('ffffffff')));
  assert.ok(!isMulticastOrBroadcast(hex('0a000001')));
  assert.ok(isMulticastOrBroadcast(hex('ff020000000000000000000000000001')));
  assert.ok(!isMulticastOrBroadcast(hex('fd000000000000000000000000000001')));
});

test('address text: parse and RFC 5952 format', () => {
  assert.deepEqual([...parseIpAddress('192.0.2.1')!], [192, 0, 2, 1]);
  assert.equal(parseIpAddress('256.0.0.1'), null);
  assert.equal(parseIpAddress('01.2.3.4'), null);
  assert.equal(parseIpAddress('1.2.3'), null);
  const cases: [string, string][] = [
    ['2001:db8::1', '2001:db8::1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['fe80::', 'fe80::'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // single zero group is not compressed
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // longest run wins
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // first of equal runs
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'], // RFC 5952 §5: mapped keeps the dotted quad
  ];
  for (const [input, canonical] of cases) {
    const b = parseIpAddress(input);
    assert.ok(b, input);
    assert.equal(formatIpAddress(b), canonical, input);
  }
  for (const bad of ['1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', 'g::1', '1:2:3:4:5:6:7']) {
    assert.equal(parseIpAddress(bad), null, bad);
  }
});

test('address text: a dotted quad only as the last piece (RFC 4291 §2.2)', () => {
  const v6 = (s: string) => {
    const b = parseIpAddress(s);
    return b === null ? null : formatIpAddress(b);
  };
  for (const s of ['1.2.3.4::1', '1.2.3.4::', '1:1.2.3.4::1.2.3.4', '1.2.3.4:1::']) assert.equal(v6(s), null, s);
  for (const [s, canonical] of [['::ffff:192.0.2.1', '::ffff:192.0.2.1'], ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'], ['64:ff9b::1.2.3.4', '64:ff9b::102:304']]) {
    assert.equal(v6(s), canonical, s);
  }
  for (const s of ['::01.2.3.4', '::1.2.3', '::256.0.0.1', '1:2:3:4:5:6:7:1.2.3.4']) assert.equal(v6(s), null, s);
});
