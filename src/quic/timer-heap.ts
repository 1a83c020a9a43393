/**
 * One timer structure per endpoint: a min-heap of deadlines with lazy deletion, behind a
 * single Node timeout armed for the earliest deadline. Thousands of connections cost one
 * libuv timer, and re-arming a connection is O(log n) with no clearTimeout.
 */
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

export class TimerHeap {
  private heap: Entry[] = [];
  private armedAt = Infinity;
  private timer: NodeJS.Timeout | null = null;

  /** (Re)schedules `owner` at absolute time `at` (ms, Date.now() clock); Infinity cancels. */
  schedule(owner: TimerOwner, at: number): void {
    owner.timerGen++;
    if (at === Infinity) return;
    this.push({ at, gen: owner.timerGen, owner });
    // Stale entries accumulate between pops; compact when they dominate.
    if (this.heap.length > 4096 && this.heap.length > 8 * this.live()) this.compact();
    if (at < this.armedAt) this.arm(at);
  }

  cancel(owner: TimerOwner): void {
    owner.timerGen++;
  }

  /** Stops the Node timer (endpoint shutdown). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
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

  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.armedAt = at;
    this.timer = setTimeout(() => this.fire(), Math.max(0, at - Date.now()));
  }

  private fire(): void {
    this.timer = null;
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
