/**
 * ReplayGuard: the newest accepted handshake timestamp per client static key, with a
 * bounded number of keys (least recently used is forgotten first).
 *
 * WireGuard refuses a handshake initiation whose TAI64N timestamp is not newer than the
 * last one accepted from the same peer (wireguard-go `device/noise-protocol.go`). We do the
 * same, but our peers are not a fixed configured list: a relay that admits any key, or a
 * huge authorized-keys file, must not let a flood of distinct keys grow memory without
 * bound. Only fully authenticated handshakes are recorded (the Noise payload decrypted and
 * the key is authorized), so filling the guard needs many accepted keys, not just traffic.
 *
 * What forgetting costs: once a key's entry is evicted (or after a restart) an old hello of
 * that key is only held back by the freshness window (ERR_AUTH_STALE); see auth.md.
 *
 * Not thread-safe in any sense that matters to JS: `isNewer` then `record` within one
 * synchronous call is race-free on one event loop. Each relay process keeps its own guard.
 */
import { compareTimestamps, type Timestamp } from './noise-payload.js';

/** Default bound: 64 Ki keys × (44-char key + 12-byte timestamp + Map overhead) ≈ 15 MB. */
export const DEFAULT_REPLAY_GUARD_ENTRIES = 65_536;

export class ReplayGuard {
  readonly maxEntries: number;
  // A Map iterates in insertion order; re-inserting on every record makes the first key
  // the least recently used one, so eviction is O(1) without a linked list.
  private readonly last = new Map<string, Timestamp>();

  constructor(opts: { maxEntries?: number } = {}) {
    const max = opts.maxEntries ?? DEFAULT_REPLAY_GUARD_ENTRIES;
    if (!Number.isInteger(max) || max < 1) throw new RangeError('ReplayGuard: maxEntries must be a positive integer');
    this.maxEntries = max;
  }

  /** Number of keys remembered (≤ maxEntries). */
  get size(): number {
    return this.last.size;
  }

  /**
   * True if `timestamp` is strictly newer than the last one recorded for `key` (or the key
   * is not remembered). Does not record anything.
   */
  isNewer(key: string, timestamp: Timestamp): boolean {
    const prev = this.last.get(key);
    return prev === undefined || compareTimestamps(timestamp, prev) > 0;
  }

  /** Remembers `timestamp` as the newest accepted for `key`, evicting the LRU key if full. */
  record(key: string, timestamp: Timestamp): void {
    this.last.delete(key);
    this.last.set(key, Uint8Array.from(timestamp));
    if (this.last.size > this.maxEntries) {
      const oldest = this.last.keys().next();
      if (!oldest.done) this.last.delete(oldest.value);
    }
  }

  /** Forgets everything (tests; an operator rotating the relay key). */
  clear(): void {
    this.last.clear();
  }
}
