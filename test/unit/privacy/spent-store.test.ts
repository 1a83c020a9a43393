/**
 * SpentTokenStore: bounded under a flood (100k tokens, fail closed at capacity, memory
 * bounded), expiring with its issuer key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SpentTokenStore } from '../../../src/privacy/spent-store.js';

test('spend: once ok, then spent; per key', () => {
  const s = new SpentTokenStore(10);
  const t = randomBytes(98);
  assert.equal(s.spend('k1', t), 'ok');
  assert.equal(s.spend('k1', t), 'spent');
  assert.equal(s.spend('k2', t), 'ok', 'another key is another token space');
  assert.equal(s.size, 2);
});

test('bounded: 100k tokens fill it, the next is refused (never forgotten early); memory stays bounded', () => {
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed;
  const s = new SpentTokenStore(100_000);
  const input = new Uint8Array(98);
  const dv = new DataView(input.buffer);
  const first = Uint8Array.from(input);
  for (let i = 0; i < 150_000; i++) {
    dv.setUint32(2, i);
    const r = s.spend('k', input);
    assert.equal(r, i < 100_000 ? 'ok' : 'full');
  }
  assert.equal(s.size, 100_000);
  assert.equal(s.spend('k', first), 'spent', 'a spent token stays spent when full');
  const grownMb = (process.memoryUsage().heapUsed - before) / 1e6;
  assert.ok(grownMb < 40, `100k entries cost ${grownMb.toFixed(1)} MB`);
});

test('expiring: entries of a key that is no longer accepted are dropped', () => {
  const s = new SpentTokenStore(3);
  s.spend('old', randomBytes(98));
  s.spend('old', randomBytes(98));
  s.spend('cur', randomBytes(98));
  assert.equal(s.spend('cur', randomBytes(98)), 'full');
  s.retainKeys(new Set(['cur']));
  assert.equal(s.size, 1);
  assert.equal(s.spend('cur', randomBytes(98)), 'ok');
});
