/**
 * The decoder's copy of the QPACK dynamic table (RFC 9204 §3.2).
 *
 * Entries are addressed by absolute index (§3.2.4): the first insert is 0, and indices
 * are never reused. Eviction drops the oldest entries first (§3.2.2). All methods throw
 * H3Error(QPACK_ENCODER_STREAM_ERROR), because only encoder-stream instructions change
 * the table; lookups for field sections return undefined and let the caller choose the
 * error.
 */
import { H3Error, QPACK_ENCODER_STREAM_ERROR } from '../errors.js';
import type { FieldLine } from './types.js';

/** Per-entry overhead in bytes (RFC 9204 §3.2.1). */
export const ENTRY_OVERHEAD = 32;

/** Size of an entry as RFC 9204 §3.2.1 counts it: name + value + 32. */
export function entrySize(name: string, value: string): number {
  return name.length + value.length + ENTRY_OVERHEAD;
}

function encoderStreamError(message: string): H3Error {
  return new H3Error(QPACK_ENCODER_STREAM_ERROR, `qpack: ${message}`);
}

export class DynamicTable {
  /** SETTINGS_QPACK_MAX_TABLE_CAPACITY we advertised; the ceiling for `capacity`. */
  readonly maxCapacity: number;
  /** Current capacity (§3.2.3: starts at 0 until Set Dynamic Table Capacity). */
  capacity = 0;
  /** Sum of entrySize over live entries. */
  size = 0;
  /** Total number of inserts ever (the next absolute index). */
  insertCount = 0;
  private entries: FieldLine[] = [];
  /** entries[head] has absolute index `evictedCount`. */
  private head = 0;

  constructor(maxCapacity: number) {
    this.maxCapacity = maxCapacity;
  }

  /** Number of entries evicted so far = absolute index of the oldest live entry. */
  get evictedCount(): number {
    return this.insertCount - (this.entries.length - this.head);
  }

  /** The entry with absolute index `abs`, or undefined if evicted or not yet inserted. */
  get(abs: number): FieldLine | undefined {
    const i = abs - this.evictedCount;
    if (!Number.isInteger(i) || i < 0 || abs >= this.insertCount) return undefined;
    return this.entries[this.head + i];
  }

  /**
   * Set Dynamic Table Capacity (§4.3.1). Above maxCapacity → QPACK_ENCODER_STREAM_ERROR.
   * Lowering it evicts the oldest entries until they fit.
   */
  setCapacity(capacity: number): void {
    if (capacity > this.maxCapacity) {
      throw encoderStreamError(`capacity ${capacity} exceeds maximum ${this.maxCapacity}`);
    }
    this.capacity = capacity;
    this.evictUntil(capacity);
  }

  /**
   * Appends an entry, evicting as needed (§3.2.2). An entry larger than the capacity is
   * QPACK_ENCODER_STREAM_ERROR. The name/value strings are immutable, so an entry can
   * reference the name of an entry this insert evicts (§3.2.2's caution) safely.
   */
  insert(name: string, value: string): void {
    const size = entrySize(name, value);
    if (size > this.capacity) {
      throw encoderStreamError(`entry of ${size} bytes exceeds capacity ${this.capacity}`);
    }
    this.evictUntil(this.capacity - size);
    this.entries.push([name, value]);
    this.size += size;
    this.insertCount++;
  }

  /**
   * Absolute index for an encoder-stream relative index (§3.2.5: relative 0 is the most
   * recent insert). Throws QPACK_ENCODER_STREAM_ERROR if that entry does not exist or was
   * evicted (§4.3.2, §4.3.4).
   */
  entryForRelative(relative: number): FieldLine {
    const entry = relative < this.insertCount ? this.get(this.insertCount - 1 - relative) : undefined;
    if (entry === undefined) throw encoderStreamError(`relative index ${relative} does not name a live entry`);
    return entry;
  }

  private evictUntil(limit: number): void {
    while (this.size > limit) {
      const [name, value] = this.entries[this.head++];
      this.size -= entrySize(name, value);
    }
    // Compact occasionally so the array does not grow without bound.
    if (this.head > 64 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}
