// The interleaved idle-RTT phase of the VPN benchmark (bench/vpn/measure.ts) orders its rounds
// so that no path always runs right after the same neighbour: each must follow each other path
// equally often, or one path's RTT would carry another's cache footprint more than the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { balancedOrders, median } from '../../../bench/vpn/measure.js';

test('balancedOrders: every round is a permutation and each path follows each other one equally often', () => {
  for (let n = 1; n <= 9; n++) {
    const rows = balancedOrders(n);
    assert.equal(rows.length, n % 2 ? 2 * n : n, `n=${n}: rounds`);
    for (const row of rows) assert.deepEqual([...row].sort((a, b) => a - b), [...Array(n).keys()], `n=${n}: ${row.join(',')} is a permutation`);
    const follows = new Map<string, number>();
    for (const row of rows) for (let i = 1; i < row.length; i++) follows.set(`${row[i - 1]}>${row[i]}`, (follows.get(`${row[i - 1]}>${row[i]}`) ?? 0) + 1);
    const want = n % 2 ? 2 : 1;
    assert.equal(follows.size, n * (n - 1), `n=${n}: every ordered pair occurs`);
    for (const [pair, k] of follows) assert.equal(k, want, `n=${n}: ${pair} occurs ${k} times`);
  }
  assert.deepEqual(balancedOrders(0), []);
});

test('median: odd, even and unsorted inputs', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});
