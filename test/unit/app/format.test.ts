import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chartPoints, formatBytes, formatDuration, formatRate, niceCeil, parseList } from '../../../app/electron/renderer/format.js';

test('rates, bytes, durations', () => {
  assert.equal(formatRate(0), '0 bit/s');
  assert.equal(formatRate(999), '999 bit/s');
  assert.equal(formatRate(3_812_000), '3.8 Mbit/s');
  assert.equal(formatRate(250_000_000), '250 Mbit/s');
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(5 * 1024 ** 3), '5.0 GiB');
  assert.equal(formatDuration(42_000), '42 s');
  assert.equal(formatDuration(185_000), '3 min 05 s');
  assert.equal(formatDuration(3_720_000), '1 h 02 min');
});

test('parseList splits on commas, spaces and newlines', () => {
  assert.deepEqual(parseList(' 1.1.1.1, 9.9.9.9\n::1  '), ['1.1.1.1', '9.9.9.9', '::1']);
  assert.deepEqual(parseList(''), []);
});

test('chart geometry: window clipping, scaling, floor for idle', () => {
  const pts = chartPoints([{ t: 0, v: 5 }, { t: 30_000, v: 5 }, { t: 60_000, v: 10 }, { t: 60_000, v: 20 }], 60_000, 60_000, 600, 100, 10);
  assert.deepEqual(pts, [{ x: 0, y: 50 }, { x: 300, y: 50 }, { x: 600, y: 0 }, { x: 600, y: 0 }]);
  assert.equal(chartPoints([{ t: -1, v: 1 }], 60_000, 60_000, 600, 100, 10).length, 0, 'older than the window');
  assert.deepEqual(chartPoints([{ t: 60_000, v: 0 }], 60_000, 60_000, 600, 100, 0), [{ x: 600, y: 100 }]);
  assert.deepEqual([niceCeil(0), niceCeil(1), niceCeil(3), niceCeil(3_800_000), niceCeil(7000)], [1, 1, 5, 5_000_000, 10_000]);
});
