import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddressPool, DEFAULT_IPV4_POOL, DEFAULT_IPV6_POOL } from '../../../src/masque/address-pool.js';
import { formatIpPrefix, ipPrefix } from '../../../src/masque/ip-prefix.js';

const show = (p: ReturnType<AddressPool['allocate']>) => (p === null ? null : formatIpPrefix(p));

test('defaults: sequential /32 and /128 from the pools, network address skipped', () => {
  const v4 = new AddressPool({ prefix: DEFAULT_IPV4_POOL });
  assert.equal(show(v4.allocate()), '100.64.0.1/32');
  assert.equal(show(v4.allocate()), '100.64.0.2/32');
  const v6 = new AddressPool({ prefix: DEFAULT_IPV6_POOL });
  assert.equal(show(v6.allocate()), 'fd00:6d61:7371::1/128');
  assert.equal(v6.size, 1);
});

test('exhaustion: a /29 gives 6 addresses (no network, no broadcast), then null', () => {
  const p = new AddressPool({ prefix: '192.0.2.0/29' });
  const got = [];
  for (let i = 0; i < 6; i++) got.push(show(p.allocate()));
  assert.deepEqual(got, [1, 2, 3, 4, 5, 6].map((i) => `192.0.2.${i}/32`));
  assert.equal(p.allocate(), null);
  assert.equal(p.allocate(ipPrefix('192.0.2.7')), null, 'broadcast never handed out');
});

test('maxAllocations bounds live allocations', () => {
  const p = new AddressPool({ prefix: '10.0.0.0/8', maxAllocations: 2 });
  assert.ok(p.allocate());
  const b = p.allocate();
  assert.ok(b);
  assert.equal(p.allocate(), null);
  assert.ok(p.release(b));
  assert.ok(p.allocate());
});

test('reuse after release, FIFO (the longest-free address first)', () => {
  const p = new AddressPool({ prefix: '192.0.2.0/29' });
  const a = [1, 2, 3, 4, 5, 6].map(() => p.allocate()!);
  assert.ok(p.release(a[2]));
  assert.ok(p.release(a[0]));
  assert.equal(p.release(a[0]), false, 'double release');
  assert.equal(p.release(ipPrefix('198.51.100.1')), false, 'foreign address');
  assert.equal(show(p.allocate()), '192.0.2.3/32');
  assert.equal(show(p.allocate()), '192.0.2.1/32');
  assert.equal(p.allocate(), null);
});

test('requested address honoured when free, else another one (RFC 9484 §4.7.2)', () => {
  const p = new AddressPool({ prefix: '100.64.0.0/10' });
  assert.equal(show(p.allocate(ipPrefix('100.64.7.7'))), '100.64.7.7/32');
  assert.ok(p.isAllocated(ipPrefix('100.64.7.7')));
  assert.equal(show(p.allocate(ipPrefix('100.64.7.7'))), '100.64.0.1/32', 'taken → any');
  assert.equal(show(p.allocate(ipPrefix('0.0.0.0/32'))), '100.64.0.2/32', 'no preference');
  assert.equal(show(p.allocate(ipPrefix('10.0.0.1'))), '100.64.0.3/32', 'outside the pool');
  assert.equal(show(p.allocate(ipPrefix('::1'))), '100.64.0.4/32', 'other family');
  assert.equal(show(p.allocate(ipPrefix('100.64.9.0/24'))), '100.64.0.5/32', 'other length');
  // the sequential cursor skips a slot taken by request
  const q = new AddressPool({ prefix: '192.0.2.0/29' });
  assert.ok(q.allocate(ipPrefix('192.0.2.2')));
  assert.equal(show(q.allocate()), '192.0.2.1/32');
  assert.equal(show(q.allocate()), '192.0.2.3/32');
});

test('reserve() keeps the relay address out; per-client prefixes', () => {
  const p = new AddressPool({ prefix: '100.64.0.0/10' });
  p.reserve(ipPrefix('100.64.0.1'));
  assert.equal(show(p.allocate()), '100.64.0.2/32');
  assert.equal(show(p.allocate(ipPrefix('100.64.0.1'))), '100.64.0.3/32');
  assert.throws(() => p.reserve(ipPrefix('10.0.0.1')), { code: 'ERR_IP_POOL_CONFIG' });
  const v6 = new AddressPool({ prefix: '2001:db8::/48', allocPrefixLen: 64 });
  assert.equal(show(v6.allocate()), '2001:db8:0:1::/64');
  assert.equal(show(v6.allocate(ipPrefix('2001:db8:0:ff::/64'))), '2001:db8:0:ff::/64');
  assert.throws(() => new AddressPool({ prefix: '10.0.0.0/8', allocPrefixLen: 7 }), { code: 'ERR_IP_POOL_CONFIG' });
  assert.throws(() => new AddressPool({ prefix: '10.0.0.1/8' }), { code: 'ERR_IP_PREFIX_INVALID' });
});
