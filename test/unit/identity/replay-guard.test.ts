import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplayGuard } from '../../../src/identity/replay-guard.js';
import { MonotonicTimestamper, compareTimestamps, encodeTimestamp, timestampToUnixMs } from '../../../src/identity/noise-payload.js';

const NOW = Date.UTC(2025, 0, 1);

test('TAI64N layout: 2^62 + 10 + seconds, then nanoseconds, big-endian', () => {
  const ts = encodeTimestamp(1_700_000_000_123);
  const expectSecs = (1n << 62n) + 10n + 1_700_000_000n;
  assert.equal(Buffer.from(ts).readBigUInt64BE(0), expectSecs);
  assert.equal(Buffer.from(ts).readUInt32BE(8), 123_000_000);
  assert.equal(timestampToUnixMs(ts), 1_700_000_000_123);
  assert.ok(compareTimestamps(encodeTimestamp(NOW), encodeTimestamp(NOW + 1)) < 0);
  const bad = Uint8Array.from(ts);
  Buffer.from(bad.buffer).writeUInt32BE(1_000_000_000, 8);
  assert.throws(() => timestampToUnixMs(bad), { code: 'ERR_AUTH_MALFORMED' });
});

test('MonotonicTimestamper never repeats or goes back', () => {
  const t = new MonotonicTimestamper();
  let prev = t.next(NOW);
  for (const now of [NOW, NOW, NOW - 5000, NOW + 1, NOW + 1]) {
    const ts = t.next(now);
    assert.ok(compareTimestamps(ts, prev) > 0);
    prev = ts;
  }
});

test('isNewer / record: strictly newer per key', () => {
  const g = new ReplayGuard();
  const t1 = encodeTimestamp(NOW);
  const t2 = encodeTimestamp(NOW + 1);
  assert.ok(g.isNewer('k', t1));
  g.record('k', t2);
  assert.ok(!g.isNewer('k', t2), 'equal is a replay');
  assert.ok(!g.isNewer('k', t1), 'older is a replay');
  assert.ok(g.isNewer('other', t1), 'keys are independent');
});

test('bounded under 100k distinct keys; least recently used is forgotten first', () => {
  const g = new ReplayGuard({ maxEntries: 1000 });
  const ts = encodeTimestamp(NOW);
  g.record('hot', ts);
  for (let i = 0; i < 100_000; i++) {
    g.record(`k${i}`, ts);
    if (i % 500 === 0) g.record('hot', encodeTimestamp(NOW + i + 1)); // keep 'hot' recent
    assert.ok(g.size <= 1000);
  }
  assert.equal(g.size, 1000);
  assert.ok(!g.isNewer('hot', ts), 'a recently used key is still remembered');
  assert.ok(!g.isNewer('k99999', ts));
  assert.ok(g.isNewer('k0', ts), 'the oldest keys were evicted');
});

test('default bound and argument checks', () => {
  assert.equal(new ReplayGuard().maxEntries, 65_536);
  assert.throws(() => new ReplayGuard({ maxEntries: 0 }), RangeError);
});
