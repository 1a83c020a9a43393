import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryTun } from '../../../src/tun/memory.js';
import type { PacketBatch } from '../../../src/tun/device.js';
import { isMasqueError } from '../../../src/core/errors.js';

const pkt = (n: number, fill: number) => new Uint8Array(n).fill(fill);
const nextBatch = (t: MemoryTun) => new Promise<{ pkts: Uint8Array[]; headroom: Uint8Array[] }>((resolve) => {
  t.onRead((b: PacketBatch) => {
    const pkts: Uint8Array[] = [];
    const headroom: Uint8Array[] = [];
    for (let i = 0; i < b.count; i++) {
      pkts.push(b.bufs[i].slice(b.offset, b.offset + b.sizes[i]));
      headroom.push(b.bufs[i].slice(0, b.offset));
    }
    t.onRead(null);
    resolve({ pkts, headroom });
  });
});

test('what one end writes, the other reads as one batch at its offset', async () => {
  const [a, b] = MemoryTun.pair({ offset: 4 });
  const got = nextBatch(b);
  assert.equal(a.write({ bufs: [pkt(20, 1), pkt(40, 2), pkt(60, 3)] }), 3);
  const { pkts } = await got;
  assert.deepEqual(pkts, [pkt(20, 1), pkt(40, 2), pkt(60, 3)]);
  const back = nextBatch(a);
  b.write({ bufs: [new Uint8Array([9, 9, 7, 7])], offset: 2 }); // headroom on the write side too
  assert.deepEqual((await back).pkts, [new Uint8Array([7, 7])]);
});

test('write copies: the caller may reuse its buffers at once; sizes/count select packets', async () => {
  const [a, b] = MemoryTun.pair();
  const buf = pkt(100, 5);
  const got = nextBatch(b);
  a.write({ bufs: [buf, buf], sizes: [10, 30], count: 1 });
  buf.fill(0);
  assert.deepEqual((await got).pkts, [pkt(10, 5)]);
});

test('write and writePackets copy from a Buffer too (whose slice() is only a view)', async () => {
  const [a, b] = MemoryTun.pair();
  const buf = Buffer.alloc(100, 5);
  let got = nextBatch(b);
  a.write({ bufs: [buf], sizes: [10], count: 1 });
  buf.fill(0);
  assert.deepEqual((await got).pkts, [pkt(10, 5)]);
  buf.fill(6);
  got = nextBatch(b);
  a.writePackets(buf, new Int32Array([20, 30]), 2);
  buf.fill(0);
  assert.deepEqual((await got).pkts, [pkt(20, 6), pkt(30, 6)]);
});

test('batches are at most batchSize packets; the rest follow on later turns', async () => {
  const [a, b] = MemoryTun.pair({ batchSize: 4 });
  const sizes: number[] = [];
  const done = new Promise<void>((resolve) => b.onRead((batch) => {
    sizes.push(batch.count);
    if (sizes.reduce((x, y) => x + y, 0) === 10) resolve();
  }));
  a.write({ bufs: Array.from({ length: 10 }, (_, i) => pkt(30, i)) });
  await done;
  assert.deepEqual(sizes, [4, 4, 2]);
});

test('MTU enforcement: an oversized packet rejects the whole batch with ERR_TUN_PACKET_TOO_BIG', () => {
  const [a] = MemoryTun.pair({ mtu: 1280 });
  assert.throws(() => a.write({ bufs: [pkt(100, 1), pkt(1281, 1)] }),
    (e: unknown) => isMasqueError(e) && e.code === 'ERR_TUN_PACKET_TOO_BIG');
  assert.equal(a.write({ bufs: [pkt(1280, 1)] }), 1);
  a.setMtu(1400);
  assert.equal(a.mtu, 1400);
  assert.equal(a.write({ bufs: [pkt(1400, 1)] }), 1);
});

test('MTU enforcement is the same for sizes/offset batches and writePackets: nothing of the batch is written', async () => {
  const [a, b] = MemoryTun.pair({ mtu: 1280 });
  const tooBig = (e: unknown) => isMasqueError(e) && e.code === 'ERR_TUN_PACKET_TOO_BIG';
  const buf = pkt(1300, 1);
  // With sizes, the length is sizes[i] (not the buffer's); without, bufs[i].length − offset.
  assert.equal(a.write({ bufs: [buf], sizes: [1280], offset: 4 }), 1);
  assert.throws(() => a.write({ bufs: [buf, buf], sizes: [100, 1281] }), tooBig);
  assert.equal(a.write({ bufs: [buf], offset: 20 }), 1);
  assert.throws(() => a.write({ bufs: [buf], offset: 19 }), tooBig);
  assert.equal(a.write({ bufs: [buf, buf], sizes: [100, 1281], count: 1 }), 1, 'packets past count are not checked');
  const arena = pkt(100 + 1281, 2);
  assert.throws(() => a.writePackets(arena, Int32Array.of(100, 1281), 2), tooBig);
  assert.equal(a.writePackets(arena, Int32Array.of(100, 1280), 2), 2);
  const got = nextBatch(b);
  assert.deepEqual((await got).pkts.map((p) => p.length), [1280, 1280, 100, 100, 1280], 'refused batches left nothing');
});

test('a paused end queues up to queueLimit, then drops and counts', async () => {
  const [a, b] = MemoryTun.pair({ queueLimit: 3 });
  a.write({ bufs: [pkt(1, 1), pkt(1, 2), pkt(1, 3), pkt(1, 4), pkt(1, 5)] });
  assert.equal(b.droppedPackets, 2);
  const { pkts } = await nextBatch(b);
  assert.deepEqual(pkts, [pkt(1, 1), pkt(1, 2), pkt(1, 3)]);
});

test('close: ERR_TUN_CLOSED on the closed end, writes towards it are dropped', async () => {
  const [a, b] = MemoryTun.pair();
  b.close();
  b.close(); // idempotent
  assert.ok(b.isClosed);
  assert.throws(() => b.write({ bufs: [pkt(10, 1)] }), (e: unknown) => isMasqueError(e) && e.code === 'ERR_TUN_CLOSED');
  assert.equal(a.write({ bufs: [pkt(10, 1)] }), 1);
  await new Promise((r) => setImmediate(r));
});
