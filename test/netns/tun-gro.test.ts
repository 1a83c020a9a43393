/**
 * native/tun/gro.c against the real kernel: runs of TCP segments written as one super-segment
 * come back out of the kernel's forwarding as the original segments, in order, with valid
 * checksums; holes and short segments split runs; IPv6 too; a packet the kernel refuses is
 * not counted as written. rx_packets counts the writes.
 * Then the same with TSO reads (native/tun/tso.c): the forwarded super-segments come back
 * whole and the addon must cut them into exactly those segments.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { canUseNetns, createNetns, deleteNetns, NetnsChild } from '../helpers/tun-netns.js';

const skip = canUseNetns() ? false : 'needs root (network namespaces, TUN)';

interface Back { seq: number; len: number; ttl: number; ipOk: boolean; tcpOk: boolean; psh: boolean; same: boolean }
interface Case { consumed: number; rx: number; back: Back[] }

interface Result {
  cases: Record<string, Case>;
  udp: Array<{ v6: boolean; ok: boolean }>;
  udpGso: Array<{ v6: boolean; taken: number; back: Array<{ len: number; ok: boolean; same: boolean }> }>;
  tso: { segs: number; uso: boolean; error?: string; stats: { superSegments: number; segments: number; dropped: number } };
}

const namespaces: string[] = [];
const children: NetnsChild[] = [];
after(() => {
  for (const c of children) c.kill();
  for (const ns of namespaces) deleteNetns(ns);
});

async function runChild(arg: { tso?: boolean }): Promise<Result> {
  const ns = createNetns();
  namespaces.push(ns);
  const c = new NetnsChild(ns, new URL('../helpers/tun-gro.js', import.meta.url), arg);
  children.push(c);
  return (await c.next('result', 20_000)) as unknown as Result;
}

function assertSegments(r: Result): void {
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
}

test('GRO writes: merged runs are cut back into the very segments we wrote', { skip }, async () => {
  const r = await runChild({});
  assert.equal(r.tso.segs, 0);
  assert.deepEqual(r.udp, [{ v6: false, ok: true }, { v6: true, ok: true }], 'no offload: the kernel checksums');
  assertSegments(r);
});

test('TSO reads: the kernel hands the super-segments back whole, the addon cuts them', { skip }, async () => {
  const r = await runChild({ tso: true });
  assert.equal(r.tso.error, undefined, 'TSO turned on');
  assert.equal(r.tso.segs, 32);
  assertSegments(r);
  // v4run (20 in one), v4gap (3 + 3), v4short (3 + 2), v6run (10): every multi-segment write
  // came back as one super-segment; the refused case's single packet came back as itself
  // (counted with the UDP super-segments below).
  // Checksum offload: a local socket's datagrams arrive with the checksum left to us.
  assert.deepEqual(r.udp, [{ v6: false, ok: true }, { v6: true, ok: true }], 'UDP checksums completed');
  // USO (this kernel is 6.x): a UDP_SEGMENT send of ten 1000-byte datagrams, IPv4 and IPv6,
  // comes out as the ten datagrams; the counters say it came as one super-segment each.
  assert.equal(r.tso.uso, true, 'the kernel took USO');
  const want = { taken: 10, back: Array.from({ length: 10 }, () => ({ len: 1000, ok: true, same: true })) };
  assert.deepEqual(r.udpGso, [{ v6: false, ...want }, { v6: true, ...want }]);
  assert.deepEqual(r.tso.stats, { superSegments: 8, segments: 61, dropped: 0 });
});
