import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cidrContains, parseCidr, parseIp } from '../../../src/identity/cidr.js';

test('IPv4 prefixes', () => {
  const c = parseCidr('192.0.2.0/24');
  assert.ok(cidrContains(c, '192.0.2.77'));
  assert.ok(!cidrContains(c, '192.0.3.1'));
  assert.ok(cidrContains(c, '::ffff:192.0.2.9'), 'IPv4-mapped IPv6 matches IPv4 rules');
  assert.ok(cidrContains(parseCidr('10.1.2.3'), '10.1.2.3'), 'bare address is a /32');
  assert.ok(!cidrContains(parseCidr('10.1.2.3'), '10.1.2.4'));
  assert.ok(cidrContains(parseCidr('10.0.0.0/9'), '10.127.255.255'));
  assert.ok(!cidrContains(parseCidr('10.0.0.0/9'), '10.128.0.0'));
  assert.ok(cidrContains(parseCidr('0.0.0.0/0'), '203.0.113.5'));
  assert.ok(!cidrContains(parseCidr('0.0.0.0/0'), '2001:db8::1'), 'families never mix');
});

test('IPv6 prefixes, zones and brackets', () => {
  const c = parseCidr('2001:db8:abcd::/48');
  assert.ok(cidrContains(c, '2001:db8:abcd:12::1'));
  assert.ok(!cidrContains(c, '2001:db8:abce::1'));
  assert.ok(cidrContains(parseCidr('fe80::/10'), 'fe80::1%eth0'));
  assert.ok(cidrContains(parseCidr('::1'), '[::1]'));
  assert.deepEqual(parseIp('::'), new Uint8Array(16));
  assert.deepEqual(parseIp('1:2:3:4:5:6:7:8'), Uint8Array.from([0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]));
  assert.deepEqual(parseIp('64:ff9b::192.0.2.1')!.subarray(12), Uint8Array.from([192, 0, 2, 1]));
});

test('invalid prefixes throw ERR_CIDR_INVALID; invalid addresses match nothing', () => {
  for (const bad of ['', '1.2.3', '1.2.3.4/33', '1.2.3.256', '01.2.3.4', '::/129', '1::2::3', '1:2:3:4:5:6:7:8:9', 'x/8', '1.2.3.4/8/8', '1.2.3.4/-1', '1.2.3.0/08', '::/0128']) {
    assert.throws(() => parseCidr(bad), { code: 'ERR_CIDR_INVALID' }, bad);
  }
  assert.ok(!cidrContains(parseCidr('0.0.0.0/0'), 'not-an-ip'));
});

test('address text: what parseIp takes on top of wire/ip-address, and what it refuses', () => {
  const hex = (s: string) => {
    const b = parseIp(s);
    return b === null ? null : Buffer.from(b).toString('hex');
  };
  // Brackets, zones and IPv4-mapped addresses are this file's, not wire/'s.
  assert.equal(hex('[2001:db8::1]'), '20010db8000000000000000000000001');
  assert.equal(hex('fe80::1%eth0'), 'fe800000000000000000000000000001');
  assert.equal(hex('::ffff:192.0.2.1'), 'c0000201');
  assert.equal(hex('::FFFF:c000:0201'), 'c0000201', 'mapped in hex, upper case, leading zeros in a group');
  assert.equal(parseCidr('::ffff:10.0.0.0/8').prefixLength, 8, 'a mapped prefix takes an IPv4 length');
  assert.throws(() => parseCidr('::ffff:10.0.0.0/104'), { code: 'ERR_CIDR_INVALID' });
  // Whitespace: parseCidr trims the whole text, nothing inside it.
  assert.equal(parseCidr(' 10.0.0.0/8\n').text, '10.0.0.0/8');
  for (const bad of ['10.0.0.0 /8', '10.0.0.0/ 8', '10. 0.0.0', ':: 1']) {
    assert.throws(() => parseCidr(bad), { code: 'ERR_CIDR_INVALID' }, bad);
  }
  assert.equal(hex(' 10.0.0.1'), null);
  // Leading zeros: refused in a dotted quad (octal to some parsers), also in an embedded one.
  assert.equal(hex('::ffff:01.2.3.4'), null);
  assert.equal(hex('0001::1'), '00010000000000000000000000000001');
  // A dotted quad only as the last piece (RFC 4291 §2.2): text with one before '::' is refused,
  // never read as some other address (it once read '1.2.3.4::' as ::1.2.3.4).
  for (const bad of ['1.2.3.4::1', '1.2.3.4::', '1:1.2.3.4::', ':1.2.3.4::']) assert.equal(hex(bad), null, bad);
  assert.throws(() => parseCidr('1.2.3.4::1/64'), { code: 'ERR_CIDR_INVALID' });
  assert.throws(() => parseCidr('1.2.3.4::/128'), { code: 'ERR_CIDR_INVALID' });
  assert.equal(hex('1:2:3:4:5:6:1.2.3.4::'), null);
});
