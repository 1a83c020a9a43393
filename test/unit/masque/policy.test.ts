import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TargetPolicy, classifyAddress, policyDenial, type AddressClass } from '../../../src/masque/policy.js';
import { errToStatus } from '../../../src/masque/proxy-status.js';
import { parseIpAddress } from '../../../src/masque/ip-prefix.js';

const addr = (s: string) => {
  const a = parseIpAddress(s);
  assert.ok(a, s);
  return a;
};
const cls = (s: string) => {
  const a = addr(s);
  return classifyAddress(a.version, a.bytes);
};
const check = (p: TargetPolicy, s: string) => {
  const a = addr(s);
  return p.check(a.version, a.bytes);
};

test('classification table: a row per range, both families, mapped and NAT64 unwrapped', () => {
  const rows: [string, AddressClass][] = [
    ['0.0.0.0', 'unspecified'], ['0.1.2.3', 'this_network'], ['10.1.2.3', 'private'], ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'], ['192.168.1.1', 'private'], ['100.64.0.1', 'cgnat'], ['100.127.255.254', 'cgnat'],
    ['127.0.0.1', 'loopback'], ['127.255.0.9', 'loopback'], ['169.254.1.1', 'link_local'],
    ['169.254.169.254', 'metadata'], ['192.0.0.8', 'reserved'], ['192.0.2.6', 'documentation'],
    ['198.51.100.1', 'documentation'], ['203.0.113.9', 'documentation'], ['198.18.0.1', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'], ['192.88.99.1', 'reserved'], ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'], ['240.0.0.1', 'reserved'], ['255.255.255.255', 'broadcast'],
    ['8.8.8.8', 'public'], ['1.1.1.1', 'public'], ['172.32.0.1', 'public'], ['100.128.0.1', 'public'],
    ['::', 'unspecified'], ['::1', 'loopback'], ['::2', 'reserved'], ['100::1', 'reserved'],
    ['2001:2::1', 'benchmarking'], ['2001:db8::1', 'documentation'], ['3fff::1', 'documentation'],
    ['2002:c000:0204::1', 'reserved'], ['fc00::1', 'ula'], ['fd12:3456::1', 'ula'], ['fd00:ec2::254', 'metadata'],
    ['fe80::1', 'link_local'], ['febf::1', 'link_local'], ['fec0::1', 'private'], ['ff02::1', 'multicast'],
    ['2606:4700:4700::1111', 'public'], ['2001:4860:4860::8888', 'public'],
    ['::ffff:127.0.0.1', 'loopback'], ['::ffff:10.0.0.1', 'private'], ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:8.8.8.8', 'public'], ['64:ff9b::192.168.0.1', 'private'], ['64:ff9b::1.1.1.1', 'public'],
  ];
  for (const [s, want] of rows) assert.equal(cls(s), want, s);
});

test('default policy: only public allowed; reason = class for counting', () => {
  const p = new TargetPolicy();
  assert.deepEqual(check(p, '8.8.8.8'), { isAllowed: true, reason: 'public' });
  assert.deepEqual(check(p, '127.0.0.1'), { isAllowed: false, reason: 'loopback' });
  assert.deepEqual(check(p, '::ffff:192.168.0.1'), { isAllowed: false, reason: 'private' });
  assert.deepEqual(check(p, 'fd00:ec2::254'), { isAllowed: false, reason: 'metadata' });
});

test('allowTarget covers refused classes, but metadata needs an exact entry', () => {
  const p = new TargetPolicy({ allow: ['10.0.0.0/8'] });
  p.allowTarget('169.254.0.0/16');
  assert.deepEqual(check(p, '10.9.9.9'), { isAllowed: true, reason: 'allow_listed' });
  assert.deepEqual(check(p, '::ffff:10.9.9.9'), { isAllowed: true, reason: 'allow_listed' });
  assert.deepEqual(check(p, '169.254.1.1'), { isAllowed: true, reason: 'allow_listed' });
  assert.deepEqual(check(p, '169.254.169.254'), { isAllowed: false, reason: 'metadata' });
  p.allowTarget('169.254.169.254/32');
  assert.equal(check(p, '169.254.169.254').isAllowed, true);
  assert.equal(check(p, '192.168.0.1').isAllowed, false);
});

test('relay pool exception and deny list', () => {
  const p = new TargetPolicy({ deny: ['8.8.4.0/24'] });
  p.exemptRelayPool('100.64.0.0/10');
  assert.deepEqual(check(p, '100.64.0.1'), { isAllowed: true, reason: 'relay_pool' });
  assert.deepEqual(check(p, '100.128.0.1'), { isAllowed: true, reason: 'public' });
  assert.deepEqual(check(p, '8.8.4.4'), { isAllowed: false, reason: 'denied_by_config' });
  p.denyTarget('100.64.0.0/10'); // deny wins over the exception
  assert.deepEqual(check(p, '100.64.0.1'), { isAllowed: false, reason: 'denied_by_config' });
  const v6 = new TargetPolicy();
  v6.exemptRelayPool('fd00:6d61:7371::/64');
  assert.equal(check(v6, 'fd00:6d61:7371::5').reason, 'relay_pool');
  assert.equal(check(v6, 'fd00:6d61:7372::5').reason, 'ula');
});

test('policyDenial → 502 destination_ip_prohibited, class in details', () => {
  const st = errToStatus(policyDenial({ isAllowed: false, reason: 'loopback' }));
  assert.deepEqual(st, { httpStatus: 502, error: 'destination_ip_prohibited', details: 'target refused by policy (loopback)' });
});
