/**
 * TimerHeap (src/quic/timer-heap.ts): one Node timer for all connections of an endpoint. It
 * must fire owners in deadline order, skip stale entries, and never stay armed at a deadline
 * no live owner has: that would wake the process for nothing (an idle tunnel's ACK that ends
 * the loss-detection timer moves its deadline from ~26 ms to the 30 s idle timeout).
 */
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { REARM_LATER_MS, TimerHeap, type TimerKind, type TimerOwner } from '../../../src/quic/timer-heap.js';
import { loadUdpBatchAddon } from '../../../src/quic/udp-batch.js';

// Both timers behind the heap: native/udp's (what endpoints use) and Node's (the fallback).
const KINDS: TimerKind[] = ['native', 'node'];

function owner(log: string[], name: string): TimerOwner {
  return { timerGen: 0, onTimer: () => log.push(name) };
}

for (const kind of KINDS) {
test(`${kind}: a reschedule to later moves the armed deadline with it; a cancel disarms`, () => {
  const h = new TimerHeap(kind);
  const log: string[] = [];
  const a = owner(log, 'a');
  const t = Date.now();
  h.schedule(a, t + 27);
  assert.equal(h.armedDeadline, t + 27);
  h.schedule(a, t + 30_000);
  assert.equal(h.armedDeadline, t + 30_000, 'armed at the live deadline, not the stale one');
  h.cancel(a);
  assert.equal(h.armedDeadline, Infinity, 'nothing live: not armed');
  h.schedule(a, t + 40);
  h.schedule(a, Infinity); // Infinity cancels too
  assert.equal(h.armedDeadline, Infinity);
  h.stop();
});

test(`${kind}: with several owners the armed deadline is the earliest live one`, () => {
  const h = new TimerHeap(kind);
  const log: string[] = [];
  const a = owner(log, 'a');
  const b = owner(log, 'b');
  const t = Date.now();
  h.schedule(a, t + 27);
  h.schedule(b, t + 50);
  assert.equal(h.armedDeadline, t + 27);
  h.schedule(a, t + 30_000);
  assert.equal(h.armedDeadline, t + 50, "b's deadline is now the earliest");
  h.schedule(a, t + 10);
  assert.equal(h.armedDeadline, t + 10, 'an earlier deadline re-arms at once');
  h.cancel(b);
  assert.equal(h.armedDeadline, t + 10, "cancelling a later owner leaves the timer where it is");
  h.stop();
});

test(`${kind}: owners fire in deadline order, stale entries never fire, and the timer re-arms for the rest`, async () => {
  const h = new TimerHeap(kind);
  const log: string[] = [];
  const a = owner(log, 'a');
  const b = owner(log, 'b');
  const c = owner(log, 'c');
  const t = Date.now();
  h.schedule(c, t + 15);
  h.schedule(a, t + 5);
  h.schedule(b, t + 10);
  h.schedule(c, t + 60_000); // c's t+15 entry is now stale
  await new Promise((r) => setTimeout(r, 40));
  assert.deepEqual(log, ['a', 'b']);
  assert.equal(h.armedDeadline, t + 60_000);
  h.stop();
  assert.equal(h.armedDeadline, Infinity);
});
}

test('native/udp is loaded here, so endpoints get the native timer', () => {
  // The tests above would otherwise run the native case on nothing: TimerHeap('native')
  // throws without the addon, and this names why.
  assert.ok(loadUdpBatchAddon(), 'native/udp not loaded: run `npm run install` (or unset MASQUE_UDP_BATCH=0)');
});

/** Event-loop iterations so far (libuv's own count: each is one return from epoll_wait). */
const loopCount = (): number =>
  (performance as unknown as { nodeTiming: { uvMetricsInfo: { loopCount: number } } }).nodeTiming.uvMetricsInfo.loopCount;

test('native: a deadline moved later does not wake the process at the old time', async () => {
  const h = new TimerHeap('native');
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const a: TimerOwner = { timerGen: 0, onTimer: () => assert.fail('a was moved to 60 s') };
  const b: TimerOwner = { timerGen: 0, onTimer: () => done() };
  // Let the loop settle first (the test runner's own work), then count its iterations.
  await new Promise((r) => setTimeout(r, 20));
  const t = Date.now();
  const before = loopCount();
  h.schedule(a, t + 15); // a probe deadline…
  h.schedule(b, t + 60); // …and the test's end
  h.schedule(a, t + 60_000); // the ACK came: a's deadline moves past b's
  await finished;
  const iterations = loopCount() - before;
  // One iteration wakes for b. With Node's timer the loop also wakes at t + 15 to find
  // nothing due (two or more iterations).
  assert.equal(iterations, 1, `the loop ran ${iterations} times`);
  h.stop();
});

test('native timer handle: fires once, moves later, closes from its own callback, refuses foreign handles', async () => {
  const a = loadUdpBatchAddon()!;
  const fired: number[] = [];
  const t0 = Date.now();
  let closeInCb = false;
  const h = a.timerCreate(() => {
    fired.push(Date.now() - t0);
    if (closeInCb) a.timerClose(h);
  });
  a.timerStart(h, 5);
  a.timerStart(h, 30); // moved later: the 5 ms start is gone
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(fired.length, 1, 'one-shot');
  assert.ok(fired[0]! >= 29, `fired after ${fired[0]} ms, not at the old 5 ms`);
  closeInCb = true;
  a.timerStart(h, 0);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(fired.length, 2);
  a.timerStart(h, 0); // closed: a no-op, not a crash
  a.timerStop(h);
  a.timerClose(h);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(fired.length, 2, 'a closed timer never fires');
  assert.throws(() => a.timerStart({} as never, 1), (e: NodeJS.ErrnoException) => e instanceof TypeError && e.code === 'ERR_UDP_ARGS');
  assert.throws(() => a.timerCreate(42 as never), (e: NodeJS.ErrnoException) => e instanceof TypeError && e.code === 'ERR_UDP_ARGS');
});

test('native callbacks into JS: a throw reaches process \'uncaughtException\', and the loop goes on', () => {
  // In a child process: the test runner has its own uncaughtException handling.
  const addonPath = fileURLToPath(new URL('../../../src/quic/udp-batch.js', import.meta.url));
  const script = `
    const { loadUdpBatchAddon } = await import(${JSON.stringify(addonPath)});
    const a = loadUdpBatchAddon();
    const seen = [];
    process.on('uncaughtException', (e) => seen.push('caught ' + e.message));
    let n = 0;
    const h = a.timerCreate(() => {
      if (++n === 2) throw new Error('boom');
      // What a callback queues still runs, and the timer works on after a throw.
      setImmediate(() => seen.push('immediate'));
      queueMicrotask(() => seen.push('microtask'));
      a.timerStart(h, 5);
    });
    a.timerStart(h, 1);
    setTimeout(() => { a.timerClose(h); console.log(JSON.stringify(seen)); }, 60);
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual((JSON.parse(r.stdout.trim()) as string[]).sort(), ['caught boom', 'immediate', 'microtask']);
});

test('a deadline moved later by less than REARM_LATER_MS keeps the timer (a busy connection re-arms on every flush); it still fires on time', async () => {
  const h = new TimerHeap('native');
  const fired: number[] = [];
  const t = Date.now();
  const a: TimerOwner = { timerGen: 0, onTimer: () => fired.push(Date.now() - t) };
  h.schedule(a, t + 10);
  h.schedule(a, t + 10 + REARM_LATER_MS - 5);
  assert.equal(h.armedDeadline, t + 10, 'not re-armed for a small move');
  await new Promise((r) => setTimeout(r, 10 + REARM_LATER_MS + 30));
  assert.equal(fired.length, 1);
  assert.ok(fired[0]! >= 10 + REARM_LATER_MS - 5, `fired at ${fired[0]} ms, not at the stale deadline`);
  h.stop();
});
