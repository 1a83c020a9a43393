/**
 * TunWriter (src/tun/writer.ts): one write per burst, and a safety flush for a writer nobody
 * flushes, which an explicit flush cancels, so an idle process's loop can block right after
 * it wrote instead of running one more non-blocking iteration.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TunWriter } from '../../../src/tun/writer.js';
import type { TunDevice } from '../../../src/tun/device.js';

/** A device that records each writePackets call's packet count. */
function fakeTun(): { tun: TunDevice; writes: number[] } {
  const writes: number[] = [];
  const tun = { mtu: 1500, isClosed: false, writePackets: (_b: Uint8Array, _l: Int32Array, n: number) => (writes.push(n), n) };
  return { tun: tun as unknown as TunDevice, writes };
}

const pendingImmediates = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Immediate').length;

test('an explicit flush writes the burst at once and cancels the safety flush', () => {
  const { tun, writes } = fakeTun();
  const w = new TunWriter(tun);
  const before = pendingImmediates();
  w.push(new Uint8Array(60));
  w.push(new Uint8Array(80));
  assert.equal(pendingImmediates(), before + 1, 'a safety flush is scheduled');
  w.flush();
  assert.deepEqual(writes, [2], 'one write for the burst');
  assert.equal(pendingImmediates(), before, 'nothing left for the next loop iteration');
});

test('a writer nobody flushes is flushed on the next turn; oversize packets are dropped', async () => {
  const { tun, writes } = fakeTun();
  const w = new TunWriter(tun);
  w.push(new Uint8Array(60));
  w.push(new Uint8Array(1501));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(writes, [1]);
  assert.equal(w.dropped, 1);
});
