/**
 * One timer structure per endpoint: a min-heap of deadlines with lazy deletion, behind a
 * single libuv timer armed for the earliest deadline. Thousands of connections cost one
 * timer, and re-arming a connection is O(log n).
 *
 * The timer is native/udp's (timer.c) when the addon is loaded, else a Node timeout. Node's
 * timers share one libuv timer that only moves earlier, so with them a deadline that moves
 * later still wakes the process at the old time, for nothing (settle(), below).
 */
import { loadUdpBatchAddon } from './udp-batch.js';

export interface TimerOwner {
  /** Bumped on every reschedule; heap entries with an older generation are stale. */
  timerGen: number;
  onTimer(nowMs: number): void;
}

interface Entry {
  at: number;
  gen: number;
  owner: TimerOwner;
}

/** A deadline that moved later by less than this keeps the timer where it is (settle()). */
export const REARM_LATER_MS = 20;

/** The one timer behind a heap: a one-shot that start() arms or moves. */
export interface TimerBackend {
  start(ms: number): void;
  stop(): void;
  close(): void;
}

/** Which timer a heap uses: `auto` is native when native/udp is loaded (MASQUE_UDP_BATCH≠0). */
export type TimerKind = 'auto' | 'native' | 'node';

function nodeTimer(cb: () => void): TimerBackend {
  let t: NodeJS.Timeout | null = null;
  const stop = (): void => {
    if (t) clearTimeout(t);
    t = null;
  };
  return {
    start(ms) {
      stop();
      t = setTimeout(cb, ms);
    },
    stop,
    close: stop,
  };
}

function nativeTimer(cb: () => void): TimerBackend | null {
  const a = loadUdpBatchAddon();
  if (!a) return null;
  const h = a.timerCreate(cb);
  return {
    start: (ms) => a.timerStart(h, ms),
    stop: () => a.timerStop(h),
    close: () => a.timerClose(h),
  };
}

export class TimerHeap {
  private heap: Entry[] = [];
  private armedAt = Infinity;
  private timer: TimerBackend | null = null;

  constructor(private readonly kind: TimerKind = 'auto') {}

  /** (Re)schedules `owner` at absolute time `at` (ms, Date.now() clock); Infinity cancels. */
  schedule(owner: TimerOwner, at: number): void {
    owner.timerGen++;
    if (at !== Infinity) {
      this.push({ at, gen: owner.timerGen, owner });
      // Stale entries accumulate between pops; compact when they dominate.
      if (this.heap.length > 4096 && this.heap.length > 8 * this.live()) this.compact();
      if (at < this.armedAt) {
        this.arm(at);
        return;
      }
    }
    this.settle();
  }

  cancel(owner: TimerOwner): void {
    owner.timerGen++;
    this.settle();
  }

  /** When the timer fires (Infinity: not armed). For diagnostics and tests. */
  get armedDeadline(): number {
    return this.armedAt;
  }

  /** Stops and closes the timer (endpoint shutdown). */
  stop(): void {
    this.timer?.close();
    this.timer = null;
    this.armedAt = Infinity;
    this.heap = [];
  }

  get size(): number {
    return this.heap.length;
  }

  private live(): number {
    let n = 0;
    for (const e of this.heap) if (e.gen === e.owner.timerGen) n++;
    return n;
  }

  private compact(): void {
    const live = this.heap.filter((e) => e.gen === e.owner.timerGen);
    this.heap = [];
    for (const e of live) this.push(e);
  }

  /**
   * After a reschedule to later or a cancel, the armed deadline may have been that owner's
   * old one: drop stale entries off the top and move the timer to the earliest live
   * deadline. Otherwise it wakes the process for nothing: an ACK that ends a connection's
   * loss-detection timer (RFC 9002 §6.2) would leave the timer at the old probe deadline.
   * Only the native timer really moves later (see the top of this file).
   */
  private settle(): void {
    const h = this.heap;
    while (h.length && h[0].gen !== h[0].owner.timerGen) this.pop();
    const next = h.length ? h[0].at : Infinity;
    // A busy connection pushes its probe deadline a little later on every flush (thousands a
    // second): re-arming for each would cost more than the one early wake it saves, which a
    // busy loop hardly notices. An idle tunnel's ACK moves it by seconds (27 ms → the 30 s idle
    // timeout): that one is worth a re-arm.
    if (next <= this.armedAt + REARM_LATER_MS) return;
    if (next !== Infinity) this.arm(next);
    else {
      this.timer?.stop();
      this.armedAt = Infinity;
    }
  }

  private arm(at: number): void {
    this.armedAt = at;
    this.timer ??= this.makeTimer();
    this.timer.start(Math.max(0, at - Date.now()));
  }

  private makeTimer(): TimerBackend {
    const cb = (): void => this.fire();
    if (this.kind === 'node') return nodeTimer(cb);
    const t = nativeTimer(cb);
    if (t) return t;
    if (this.kind === 'native') throw new Error('TimerHeap: native/udp is not loaded (not built, or MASQUE_UDP_BATCH=0)');
    return nodeTimer(cb);
  }

  private fire(): void {
    this.armedAt = Infinity;
    const now = Date.now();
    while (this.heap.length && this.heap[0].at <= now) {
      const e = this.pop()!;
      if (e.gen === e.owner.timerGen) {
        e.owner.timerGen++;
        e.owner.onTimer(now);
      }
    }
    while (this.heap.length && this.heap[0].gen !== this.heap[0].owner.timerGen) this.pop();
    if (this.heap.length) this.arm(this.heap[0].at);
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].at <= h[i].at) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
  }

  private pop(): Entry | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l].at < h[m].at) m = l;
        if (r < h.length && h[r].at < h[m].at) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return top;
  }
}
