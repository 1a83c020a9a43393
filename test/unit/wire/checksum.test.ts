import { test } from 'node:test';
import assert from 'node:assert/strict';
import { foldSum, internetChecksum, onesComplementSum, pseudoHeaderSum, updateChecksum16 } from '../../../src/wire/checksum.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

test('RFC 1071 §3 numerical example: sum ddf2, checksum 220d', () => {
  const b = hex('0001 f203 f4f5 f6f7');
  assert.equal(onesComplementSum(b, 0, b.length), 0xddf2);
  assert.equal(internetChecksum(b, 0, b.length), 0x220d);
});

test('odd length pads with a zero byte; offset and initial are honoured', () => {
  const b = hex('ff 0102 03');
  // words 0102 + 0300 = 0402
  assert.equal(onesComplementSum(b, 1, 3), 0x0402);
  assert.equal(onesComplementSum(b, 1, 3, 0xfbfd), 0xffff);
});

test('a header including its checksum sums to ffff', () => {
  const h = hex('4500 001c 0001 0000 4001 66de 0a00 0001 0a00 0002');
  assert.equal(onesComplementSum(h, 0, h.length), 0xffff);
  assert.equal(internetChecksum(h, 0, h.length), 0);
});

test('RFC 1624 incremental update equals recomputation', () => {
  const h = hex('4500 001c 0001 0000 4001 0000 0a00 0001 0a00 0002');
  const before = internetChecksum(h, 0, h.length);
  assert.equal(before, 0x66de);
  h[8] = 0x3f; // TTL 64 → 63: word 4001 → 3f01
  assert.equal(updateChecksum16(before, 0x4001, 0x3f01), internetChecksum(h, 0, h.length));
  assert.equal(updateChecksum16(before, 0x4001, 0x3f01), 0x67de);
});

test('IPv6 pseudo-header sum (RFC 8200 §8.1) for fd00::1 → fd00::2, ICMPv6, 8 bytes', () => {
  const p = new Uint8Array(40);
  p[0] = 0x60;
  p.set(hex('fd00 0000 0000 0000 0000 0000 0000 0001'), 8); // source
  p.set(hex('fd00 0000 0000 0000 0000 0000 0000 0002'), 24); // destination
  // fd00+0001+fd00+0002 = 1fa03 → fa04; + length 0008 + next header 003a = fa46
  assert.equal(pseudoHeaderSum(p, 0, 58, 8), 0xfa46);
});

test('IPv4 pseudo-header sum (RFC 768) uses both addresses, protocol and length', () => {
  const p = hex('4500 001c 0001 0000 4011 0000 0a00 0001 0a00 0002');
  // 0a00+0001+0a00+0002 = 1403; + 0011 + 0008 = 141c
  assert.equal(pseudoHeaderSum(p, 0, 17, 8), 0x141c);
});

test('foldSum carries repeatedly until 16 bits', () => {
  assert.equal(foldSum(0x1ffff), 0x0001); // ffff + 1 = 10000 → 0000 + 1
  assert.equal(foldSum(0x2fffe), 0x0001); // fffe + 2 = 10000 → 1
  assert.equal(foldSum(0x1234), 0x1234);
});
