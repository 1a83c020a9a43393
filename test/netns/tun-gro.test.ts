/**
 * native/tun/gro.c against the real kernel: runs of TCP segments written as one super-segment
 * come back out of the kernel's forwarding as the original segments, in order, with valid
 * checksums; holes and short segments split runs; IPv6 too; a packet the kernel refuses is
 * not counted as written. rx_packets counts the writes.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { canUseNetns, createNetns, deleteNetns, NetnsChild } from '../helpers/tun-netns.js';

const skip = canUseNetns() ? false : 'needs root (network namespaces, TUN)';

interface Back { seq: number; len: number; ttl: number; ipOk: boolean; tcpOk: boolean; psh: boolean; same: boolean }
interface Case { consumed: number; rx: number; back: Back[] }

let ns: string | undefined;
let c: NetnsChild | undefined;
after(() => {
  c?.kill();
  if (ns) deleteNetns(ns);
});

test('GRO writes: merged runs are cut back into the very segments we wrote', { skip }, async () => {
  ns = createNetns();
  c = new NetnsChild(ns, new URL('../helpers/tun-gro.js', import.meta.url), {});
  const r = (await c.next('result', 20_000)) as unknown as { cases: Record<string, Case> };
  const ok = (k: Case, n: number, writes: number, what: string) => {
    assert.equal(k.consumed, n, `${what}: all consumed`);
    assert.equal(k.rx, writes, `${what}: ${writes} write(s) reached the kernel`);
    assert.equal(k.back.length, n, `${what}: every segment forwarded back`);
    for (const b of k.back) {
      assert.ok(b.ipOk && b.tcpOk, `${what}: checksums of seq ${b.seq}`);
      assert.ok(b.same, `${what}: payload of seq ${b.seq}`);
      assert.equal(b.ttl, 63, `${what}: forwarded once`);
    }
    const seqs = k.back.map((b) => b.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `${what}: in order`);
  };
  ok(r.cases.v4run!, 20, 1, 'v4 run of 20');
  assert.deepEqual(r.cases.v4run!.back.map((b) => b.psh), [...new Array(19).fill(false), true], 'PSH stays on the last segment');
  ok(r.cases.v4gap!, 6, 2, 'v4 with a hole');
  ok(r.cases.v4short!, 5, 2, 'v4 with a short segment');
  assert.deepEqual(r.cases.v4short!.back.map((b) => b.len), [1000, 1000, 400, 1000, 1000]);
  ok(r.cases.v6run!, 10, 1, 'v6 run of 10');
  ok(r.cases.refused!, 1, 1, 'after a refused packet'); // 2 written, 1 taken
});
