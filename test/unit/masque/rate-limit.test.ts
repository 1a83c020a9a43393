import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimiter, RateLimiterTable } from '../../../src/masque/rate-limit.js';

test('byte bucket: a one-second burst, then the configured rate', () => {
  let now = 0;
  const l = new RateLimiter({ bytesPerSec: 10_000, packetsPerSec: 0 }, () => now);
  let passed = 0;
  for (let i = 0; i < 20; i++) if (l.allow('up', 1000)) passed++;
  assert.equal(passed, 10, 'burst = one second of bytes');
  now += 500;
  passed = 0;
  for (let i = 0; i < 20; i++) if (l.allow('up', 1000)) passed++;
  assert.equal(passed, 5, 'half a second refills half');
  assert.equal(l.allow('down', 1000), true, 'directions are separate buckets');
});

test('packet bucket', () => {
  let now = 0;
  const l = new RateLimiter({ bytesPerSec: 0, packetsPerSec: 100 }, () => now);
  let passed = 0;
  for (let i = 0; i < 150; i++) if (l.allow('down', 1)) passed++;
  assert.equal(passed, 100);
  now += 100;
  assert.equal(l.allow('down', 1), true);
});

test('table: none when unlimited, one limiter per key, idle ones evicted, reload replaces', () => {
  let now = 0;
  const unlimited = new RateLimiterTable({ bytesPerSec: 0, packetsPerSec: 0 }, () => now);
  assert.equal(unlimited.get('a'), null);
  const t = new RateLimiterTable({ bytesPerSec: 1000, packetsPerSec: 0 }, () => now);
  const a = t.get('a');
  assert.ok(a);
  assert.equal(t.get('a'), a, 'shared by all sessions of one client');
  t.get('b');
  now = 61_000;
  t.get('b')!.allow('up', 1);
  t.evict();
  assert.equal(t.size, 1, 'the idle client is forgotten');
  t.setLimits({ bytesPerSec: 0, packetsPerSec: 0 });
  assert.equal(t.get('b'), null);
});
