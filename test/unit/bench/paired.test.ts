// bench/vpn/paired.ts: the added idle RTT of one path over another, from per-round paired
// differences, with a seeded bootstrap interval.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pairedDiff } from '../../../bench/vpn/paired.js';

test('pairedDiff: a constant offset under a drifting box is found exactly', () => {
  const drift = [0, 0.6, -0.2, 0.3, 0.9, 0.1];
  const b = drift.map((x) => [1.2 + x, 1.3 + x, 1.25 + x]);
  const a = b.map((r) => r.map((t) => t + 0.3));
  const d = pairedDiff(a, b);
  assert.equal(d.rounds, 6);
  assert.ok(Math.abs(d.medianMs - 0.3) < 1e-9);
  assert.ok(Math.abs(d.loMs - 0.3) < 1e-9 && Math.abs(d.hiMs - 0.3) < 1e-9);
});

test('pairedDiff: rounds are paired by index, so drift between rounds does not leak into the difference', () => {
  // A's pings fall in the box's slow rounds more often than B's would if they were pooled:
  // pooled medians differ by 0.5 ms, each round says 0.1.
  const b = [[1.0], [1.0], [1.0], [2.0], [2.0]];
  const a = [[1.1], [2.1], [2.1], [2.1], [2.1]];
  assert.ok(Math.abs(pairedDiff(a, b).medianMs - 0.1) < 1e-9);
});

test('pairedDiff: rounds where a path got no reply are left out; none at all gives NaN', () => {
  const d = pairedDiff([[1.5], [], [1.7]], [[1.0], [1.1], [1.2]]);
  assert.equal(d.rounds, 2);
  assert.ok(Math.abs(d.medianMs - 0.5) < 1e-9);
  const none = pairedDiff([[]], [[1]]);
  assert.equal(none.rounds, 0);
  assert.ok(Number.isNaN(none.medianMs));
});

test('pairedDiff: a noisy difference gets an interval around its median, the same one every time', () => {
  const diffs = [0.05, 0.41, 0.22, 0.3, -0.1, 0.35, 0.18, 0.27, 0.6, 0.12, 0.33, 0.25];
  const b = diffs.map(() => [1.4]);
  const a = diffs.map((x) => [1.4 + x]);
  const d = pairedDiff(a, b);
  assert.ok(d.loMs < d.medianMs && d.medianMs < d.hiMs, JSON.stringify(d));
  assert.ok(d.loMs >= -0.1 && d.hiMs <= 0.6);
  assert.deepEqual(pairedDiff(a, b), d);
});
