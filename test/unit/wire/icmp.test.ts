import { test } from 'node:test';
import assert from 'node:assert/strict';
import { internetChecksum, pseudoHeaderSum } from '../../../src/wire/checksum.js';
import {
  buildIcmpEcho, buildIcmpv4DestinationUnreachable, buildIcmpv4FragmentationNeeded, buildIcmpv6DestinationUnreachable,
  buildIcmpv6PacketTooBig, echoRequestToReply, mayAnswerWithIcmpError,
} from '../../../src/wire/icmp.js';
import { ipDstString, ipProtocol, ipSrcString, ipTotalLength, isIpv4HeaderChecksumValid, isWellFormedIp,
  setIpv4HeaderChecksum } from '../../../src/wire/ip.js';
import { parseIpAddress } from '../../../src/wire/ip-address.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const ip = (s: string) => parseIpAddress(s)!;

/** A UDP packet of `total` bytes (headers + zero payload). */
function udp4(total: number, src = '192.0.2.1', dst = '198.51.100.1'): Uint8Array {
  const p = new Uint8Array(total);
  p.set(hex('4500'), 0); // version 4, IHL 5, DSCP 0
  p[2] = total >> 8; p[3] = total & 0xff; // total length
  p[6] = 0x40; // DF set
  p[8] = 64; p[9] = 17; // TTL, protocol UDP
  p.set(ip(src), 12); p.set(ip(dst), 16);
  setIpv4HeaderChecksum(p);
  return p;
}

function udp6(total: number, src = '2001:db8::1', dst = '2001:db8:1::1'): Uint8Array {
  const p = new Uint8Array(total);
  p[0] = 0x60; // version 6
  p[4] = (total - 40) >> 8; p[5] = (total - 40) & 0xff; // payload length
  p[6] = 17; p[7] = 64; // next header UDP, hop limit
  p.set(ip(src), 8); p.set(ip(dst), 24);
  return p;
}

test('echoRequestToReply leaves IPv4 fragments of an echo request untouched', () => {
  for (const [b6, b7] of [[0x20, 0x00], [0x00, 0x01]]) { // More Fragments; fragment offset 8 bytes
    const p = buildIcmpEcho({ src: ip('10.0.0.1'), dst: ip('10.0.0.2'), id: 7, seq: 9 });
    p[6] = b6; p[7] = b7;
    setIpv4HeaderChecksum(p);
    const before = p.slice();
    assert.ok(!echoRequestToReply(p));
    assert.deepEqual(p, before);
  }
});

test('echo request bytes (IPv4): header and ICMP checksums as computed by hand', () => {
  const p = buildIcmpEcho({ src: ip('10.0.0.1'), dst: ip('10.0.0.2'), id: 0x1234, seq: 1 });
  assert.deepEqual(p, hex(
    '4500001c' + // v4, IHL 5, total 28
    '00000000' + // id 0, no flags (unlike the ip.test.ts vector whose id is 1)
    '4001' + '66df' + // TTL 64, ICMP, checksum (66de − 1 for id 0)
    '0a000001' + '0a000002' + // addresses
    '08' + '00' + 'e5ca' + '1234' + '0001', // echo request, code 0, checksum, id, seq
  ));
});

test('echo request bytes (IPv6): pseudo-header checksum 7383 as computed by hand', () => {
  const p = buildIcmpEcho({ src: ip('fd00::1'), dst: ip('fd00::2'), id: 0x1234, seq: 1 });
  assert.deepEqual(p, hex(
    '60000000' + '0008' + '3a' + '40' + // v6, payload 8, next header ICMPv6, hop limit 64
    'fd000000000000000000000000000001' + 'fd000000000000000000000000000002' +
    // pseudo 0xfa46 + 8000 + 1234 + 0001 = 18c7b → 8c7c; ~ = 7383
    '80' + '00' + '7383' + '1234' + '0001', // echo request, code 0, checksum, id, seq
  ));
});

test('echoRequestToReply turns requests into valid replies, v4 and v6, at an offset', () => {
  for (const [src, dst, replyType] of [['10.0.0.1', '10.0.0.2', 0], ['fd00::1', 'fd00::2', 129]] as const) {
    const req = buildIcmpEcho({ src: ip(src), dst: ip(dst), id: 7, seq: 9, payload: hex('deadbeefcafe') });
    const slot = new Uint8Array(8 + req.length);
    slot.set(req, 8);
    assert.ok(echoRequestToReply(slot, 8, req.length));
    const rep = slot.subarray(8);
    const want = buildIcmpEcho({ src: ip(dst), dst: ip(src), id: 7, seq: 9, payload: hex('deadbeefcafe'), isReply: true });
    assert.deepEqual(rep, want);
    assert.equal(rep[src.includes(':') ? 40 : 20], replyType);
    assert.ok(!echoRequestToReply(slot, 8, req.length), 'a reply is not a request');
  }
});

test('ICMPv4 Fragmentation Needed (type 3 code 4) carries the next-hop MTU and ≤ 576 bytes', () => {
  const orig = udp4(1500);
  const e = buildIcmpv4FragmentationNeeded(orig, ip('10.0.0.1'), 1400)!;
  assert.equal(e.length, 576); // RFC 1812 §4.3.2.3
  assert.equal(ipTotalLength(e), 576);
  assert.ok(isIpv4HeaderChecksumValid(e));
  assert.equal(ipSrcString(e), '10.0.0.1');
  assert.equal(ipDstString(e), '192.0.2.1'); // back to the sender
  assert.equal(ipProtocol(e), 1);
  assert.deepEqual(e.subarray(20, 28).filter((_, i) => i !== 2 && i !== 3), hex(
    '03' + '04' + // type 3, code 4 (checksum bytes skipped)
    '0000' + '0578', // unused, next-hop MTU 1400 (RFC 1191 §4)
  ));
  assert.equal(internetChecksum(e, 20, e.length - 20), 0, 'ICMP checksum verifies');
  assert.deepEqual(e.subarray(28), orig.subarray(0, 548), 'quotes the start of the packet');
});

test('ICMPv4 Destination Unreachable quotes a small packet whole', () => {
  const orig = udp4(60);
  const e = buildIcmpv4DestinationUnreachable(orig, ip('10.0.0.1'), 1)!;
  assert.equal(e.length, 20 + 8 + 60);
  assert.equal(e[20], 3); assert.equal(e[21], 1);
  assert.equal(internetChecksum(e, 20, e.length - 20), 0);
});

test('ICMPv6 Packet Too Big (type 2) carries the MTU, ≤ 1280 bytes, pseudo-header checksum', () => {
  const orig = udp6(1500);
  const e = buildIcmpv6PacketTooBig(orig, ip('2001:db8::ff'), 1400)!;
  assert.equal(e.length, 1280); // RFC 4443 §2.4(c)
  assert.ok(isWellFormedIp(e));
  assert.equal(ipSrcString(e), '2001:db8::ff');
  assert.equal(ipDstString(e), '2001:db8::1');
  assert.equal(ipProtocol(e), 58);
  assert.deepEqual([...e.subarray(40, 42)], [2, 0]); // type 2, code 0
  assert.deepEqual(e.subarray(44, 48), hex('00000578')); // MTU 1400
  const len = e.length - 40;
  assert.equal(internetChecksum(e, 40, len, pseudoHeaderSum(e, 0, 58, len)), 0, 'checksum verifies');
  assert.deepEqual(e.subarray(48), orig.subarray(0, 1232));
});

test('ICMPv6 Destination Unreachable', () => {
  const orig = udp6(100);
  const e = buildIcmpv6DestinationUnreachable(orig, ip('2001:db8::ff'), 4)!;
  assert.equal(e.length, 40 + 8 + 100);
  assert.deepEqual([...e.subarray(40, 42)], [1, 4]);
  const len = e.length - 40;
  assert.equal(internetChecksum(e, 40, len, pseudoHeaderSum(e, 0, 58, len)), 0);
});

test('no ICMP errors about ICMP errors, fragments, multicast (RFC 1122 §3.2.2, RFC 4443 §2.4(e))', () => {
  const me4 = ip('10.0.0.1');
  const me6 = ip('2001:db8::ff');
  const err4 = buildIcmpv4FragmentationNeeded(udp4(1500), me4, 1400)!;
  assert.equal(buildIcmpv4FragmentationNeeded(err4, me4, 500), null);
  const frag = udp4(100);
  frag[7] = 1; // fragment offset 8 bytes
  setIpv4HeaderChecksum(frag);
  assert.equal(buildIcmpv4DestinationUnreachable(frag, me4, 1), null);
  assert.equal(buildIcmpv4DestinationUnreachable(udp4(100, '192.0.2.1', '224.0.0.1'), me4, 1), null);
  assert.equal(buildIcmpv4DestinationUnreachable(udp4(100, '0.0.0.0'), me4, 1), null);
  const err6 = buildIcmpv6PacketTooBig(udp6(1500), me6, 1400)!;
  assert.equal(buildIcmpv6PacketTooBig(err6, me6, 1280), null);
  // Packet Too Big may answer a multicast destination (§2.4(e.3)); Destination Unreachable not.
  assert.ok(buildIcmpv6PacketTooBig(udp6(1500, '2001:db8::1', 'ff0e::1'), me6, 1400));
  assert.equal(buildIcmpv6DestinationUnreachable(udp6(100, '2001:db8::1', 'ff0e::1'), me6, 0), null);
  assert.equal(buildIcmpv6DestinationUnreachable(udp6(100, '::'), me6, 0), null);
  // Echo requests are informational: errors about them are fine.
  assert.ok(mayAnswerWithIcmpError(buildIcmpEcho({ src: ip('fd00::1'), dst: ip('fd00::2'), id: 1, seq: 1 })));
  // Wrong family or garbage: null, no throw.
  assert.equal(buildIcmpv6PacketTooBig(udp4(100), me6, 1280), null);
  assert.equal(buildIcmpv4FragmentationNeeded(hex('4500'), me4, 1280), null);
});
