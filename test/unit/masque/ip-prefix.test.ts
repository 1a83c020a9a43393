import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatIpAddress, formatIpPrefix, hasZeroHostBits, ipPrefix, maskBytes, parseIpAddress, parseIpPrefix, prefixContains,
  prefixCovers,
} from '../../../src/masque/ip-prefix.js';
import * as wire from '../../../src/wire/ip-address.js';

const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('parse and canonical format (RFC 5952)', () => {
  const cases: [string, string, string][] = [
    ['192.0.2.11', '192.0.2.11', 'c000020b'],
    ['0.0.0.0', '0.0.0.0', '00000000'],
    ['::', '::', '0'.repeat(32)],
    ['::1', '::1', '0'.repeat(31) + '1'],
    ['2001:DB8:0:0:0:0:0:42', '2001:db8::42', '20010db8' + '0'.repeat(22) + '42'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1', '20010db8000000000001000000000001'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1', '20010000000000010000000000000001'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1', '20010db8000000010001000100010001'],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1', '00000000000000000000ffffc0000201'],
    ['64:ff9b::192.0.2.1', '64:ff9b::c000:201', '0064ff9b0000000000000000c0000201'],
    ['fe80::1:2:3:4:5:6', 'fe80:0:1:2:3:4:5:6', 'fe800000000100020003000400050006'],
  ];
  for (const [s, canon, h] of cases) {
    const a = parseIpAddress(s);
    assert.ok(a, s);
    assert.equal(toHex(a.bytes), h, s);
    assert.equal(formatIpAddress(a.version, a.bytes), canon, s);
  }
});

test('invalid literals are refused', () => {
  for (const s of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.4 ', 'fe80::1%eth0', ':::', '1::2::3',
    '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::', 'g::', '::1.2.3', '1:2:3:4:5:6:7:8::', '[::1]', 'a.b.c.d']) {
    assert.equal(parseIpAddress(s), null, s);
  }
});

test('prefixes: parse, host bits, containment', () => {
  assert.equal(formatIpPrefix(ipPrefix('10.0.0.0/8')), '10.0.0.0/8');
  assert.equal(formatIpPrefix(ipPrefix('2001:db8::1')), '2001:db8::1/128');
  assert.equal(parseIpPrefix('10.0.0.1/8'), null, 'host bits set');
  assert.equal(parseIpPrefix('10.0.0.1/8', false)?.prefixLen, 8);
  assert.equal(parseIpPrefix('10.0.0.0/33'), null);
  assert.equal(parseIpPrefix('::/129'), null);
  assert.equal(parseIpPrefix('10.0.0.0/08'), null);
  assert.throws(() => ipPrefix('nope'), { code: 'ERR_IP_PREFIX_INVALID' });
  const p = ipPrefix('100.64.0.0/10');
  assert.ok(prefixContains(p, 4, ipPrefix('100.127.255.255').bytes));
  assert.ok(!prefixContains(p, 4, ipPrefix('100.128.0.0').bytes));
  assert.ok(!prefixContains(p, 6, ipPrefix('::').bytes));
  assert.ok(prefixCovers(p, ipPrefix('100.64.1.0/24')));
  assert.ok(!prefixCovers(ipPrefix('100.64.1.0/24'), p));
  assert.ok(hasZeroHostBits(Uint8Array.of(1, 2, 3, 0), 24));
  assert.ok(!hasZeroHostBits(Uint8Array.of(1, 2, 3, 4), 28));
  assert.equal(toHex(maskBytes(Uint8Array.of(255, 255, 255, 255), 20)), 'fffff000');
});

test('address text comes from wire/ip-address.ts; the length limit ip-prefix.ts keeps', () => {
  // Same reading of the text as wire/ (one parser): including RFC 4291 §2.2's dotted quad only last.
  for (const s of ['192.0.2.1', '2001:db8::1', '::ffff:192.0.2.1', '1:2:3:4:5:6:1.2.3.4', '1.2.3.4::1', '1.2.3.4::']) {
    const w = wire.parseIpAddress(s);
    assert.equal(toHex(parseIpAddress(s)?.bytes ?? new Uint8Array()), toHex(w ?? new Uint8Array()), s);
  }
  // IPv4-mapped keeps the dotted quad (RFC 5952 §5), in both; not mapped (::fffe:…, 1::ffff:…)
  // is plain RFC 5952 text.
  const text = (h: string) => {
    const b = Uint8Array.from(Buffer.from(h, 'hex'));
    assert.equal(formatIpAddress(6, b), wire.formatIpAddress(b, 0, 16), h);
    return formatIpAddress(6, b);
  };
  assert.equal(text('00000000000000000000ffffc0000201'), '::ffff:192.0.2.1');
  assert.equal(text('00000000000000000000fffec0000201'), '::fffe:c000:201');
  assert.equal(text('00010000000000000000ffffc0000201'), '1::ffff:c000:201');
  // The longest IPv6 literal is 45 characters; ip-prefix.ts refuses anything longer up front.
  const longest = '0000:0000:0000:0000:0000:0000:255.255.255.255';
  assert.equal(longest.length, 45);
  assert.equal(parseIpAddress(longest)?.version, 6);
  assert.equal(parseIpAddress('0' + longest), null);
});
