/**
 * Per-client rate limits (bytes/s and packets/s, each direction) as token buckets with a
 * one-second burst. One limiter per client identity, shared by all its sessions; the relay
 * decides who gets one (aggregates such as a trusted ingress get none). Time is read with
 * `now()` (ms) so tests can drive it; a packet over the limit is dropped and counted (RFC
 * 9484/9298 give no signal for this; TCP above backs off on the loss).
 */
export type Direction = 'up' | 'down';

export interface RateLimits {
  /** 0 = unlimited. */
  bytesPerSec: number;
  packetsPerSec: number;
}

interface Bucket {
  bytes: number;
  packets: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets: Record<Direction, Bucket>;
  /** Last time any packet was checked (for eviction of idle limiters). */
  lastUsedMs: number;

  constructor(private readonly limits: RateLimits, private readonly now: () => number = () => performance.now()) {
    const t = now();
    this.lastUsedMs = t;
    const full = (): Bucket => ({ bytes: limits.bytesPerSec, packets: limits.packetsPerSec, at: t });
    this.buckets = { up: full(), down: full() };
  }

  /** True if a packet of `len` bytes may pass in `dir` now (and takes its tokens). */
  allow(dir: Direction, len: number): boolean {
    const { bytesPerSec, packetsPerSec } = this.limits;
    if (bytesPerSec === 0 && packetsPerSec === 0) return true;
    const b = this.buckets[dir];
    const t = this.now();
    this.lastUsedMs = t;
    const dt = (t - b.at) / 1000;
    b.at = t;
    if (bytesPerSec) b.bytes = Math.min(bytesPerSec, b.bytes + dt * bytesPerSec);
    if (packetsPerSec) b.packets = Math.min(packetsPerSec, b.packets + dt * packetsPerSec);
    if ((bytesPerSec && b.bytes < len) || (packetsPerSec && b.packets < 1)) return false;
    if (bytesPerSec) b.bytes -= len;
    if (packetsPerSec) b.packets -= 1;
    return true;
  }
}

/** Limiters by client key, idle ones evicted (bounded memory under many short-lived clients). */
export class RateLimiterTable {
  private readonly table = new Map<string, RateLimiter>();

  constructor(private limits: RateLimits, private readonly now: () => number = () => performance.now()) {}

  get isUnlimited(): boolean {
    return this.limits.bytesPerSec === 0 && this.limits.packetsPerSec === 0;
  }

  /** The shared limiter of `key`, or null when no limit is configured. */
  get(key: string): RateLimiter | null {
    if (this.isUnlimited) return null;
    let l = this.table.get(key);
    if (!l) {
      if (this.table.size >= 65536) this.evict(0);
      l = new RateLimiter(this.limits, this.now);
      this.table.set(key, l);
    }
    return l;
  }

  /** New limits apply to limiters made from now on (reload). */
  setLimits(limits: RateLimits): void {
    this.limits = limits;
    this.table.clear();
  }

  /** Drops limiters idle for `idleMs` (call periodically). */
  evict(idleMs = 60_000): void {
    const t = this.now();
    for (const [k, l] of this.table) if (t - l.lastUsedMs >= idleMs) this.table.delete(k);
  }

  get size(): number {
    return this.table.size;
  }
}
