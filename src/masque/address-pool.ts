/**
 * Client address pools for CONNECT-IP (RFC 9484 §4.7.1 ADDRESS_ASSIGN): hands out one /32
 * (IPv4) or /128 (IPv6) — or a configurable per-client prefix — from a pool prefix.
 *
 * Defaults:
 * - IPv4 `100.64.0.0/10` (RFC 6598 shared address space: never routed on the Internet and
 *   unlikely to clash with the client's LAN, which is usually RFC 1918).
 * - IPv6 `fd00:6d61:7371::/64` (RFC 4193 ULA; `6d61:7371` is "masq" in ASCII). A real
 *   deployment should pick a random Global ID (RFC 4193 §3.2.2) — override `prefix`.
 *
 * Slot 0 (the network / subnet-router anycast address) is never handed out, nor, for an IPv4
 * pool of /32s, the last address (broadcast). `reserve()` keeps more out (the relay's own
 * tunnel address). Allocation is amortised O(1): a FIFO of released slots (so a released
 * address is reused as late as possible), then a cursor over never-used slots.
 * Sans-IO, single owner; not safe to share between event loops.
 */
import { IpAddressError } from './errors.js';
import { ipBitLen, ipPrefix, isAllZero, type IpPrefix, type IpVersion } from './ip-prefix.js';

export const DEFAULT_IPV4_POOL = '100.64.0.0/10';
export const DEFAULT_IPV6_POOL = 'fd00:6d61:7371::/64';
/** Default bound on live allocations per pool. */
export const DEFAULT_MAX_ALLOCATIONS = 65536;

export interface AddressPoolOptions {
  /** Pool prefix, e.g. '100.64.0.0/10'. Host bits must be zero. */
  prefix: string | IpPrefix;
  /** Length of each client's prefix: default 32 (IPv4) / 128 (IPv6). */
  allocPrefixLen?: number;
  /** At most this many live allocations (default 65536): allocate() returns null beyond. */
  maxAllocations?: number;
}

function toBig(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

function fromBig(v: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

export class AddressPool {
  readonly prefix: IpPrefix;
  readonly version: IpVersion;
  readonly allocPrefixLen: number;
  readonly maxAllocations: number;
  private readonly base: bigint;
  private readonly shift: bigint;
  /** Number of usable slot indices (capped at 2^53). */
  private readonly slotLimit: number;
  private readonly allocated = new Set<number>();
  private readonly reserved = new Set<number>();
  private freeQueue: number[] = [];
  private freeHead = 0;
  private nextFresh = 1;
  private compactAt: number;

  /** Throws IpAddressError ERR_IP_POOL_CONFIG on an invalid prefix or allocation length. */
  constructor(opts: AddressPoolOptions) {
    this.prefix = typeof opts.prefix === 'string' ? ipPrefix(opts.prefix) : opts.prefix;
    this.version = this.prefix.version;
    const bits = ipBitLen(this.version);
    this.allocPrefixLen = opts.allocPrefixLen ?? bits;
    if (this.allocPrefixLen < this.prefix.prefixLen || this.allocPrefixLen > bits) {
      throw new IpAddressError('ERR_IP_POOL_CONFIG', `allocation length /${this.allocPrefixLen} does not fit the pool`);
    }
    this.maxAllocations = opts.maxAllocations ?? DEFAULT_MAX_ALLOCATIONS;
    this.compactAt = 2 * this.maxAllocations + 16;
    this.base = toBig(this.prefix.bytes);
    this.shift = BigInt(bits - this.allocPrefixLen);
    const slots = 2 ** (this.allocPrefixLen - this.prefix.prefixLen);
    this.slotLimit = Math.min(slots, Number.MAX_SAFE_INTEGER);
    this.reserved.add(0);
    if (this.version === 4 && this.allocPrefixLen === 32 && slots > 2) this.reserved.add(slots - 1);
  }

  /** Live allocations. */
  get size(): number {
    return this.allocated.size;
  }

  private prefixAt(idx: number): IpPrefix {
    const v = this.base + (BigInt(idx) << this.shift);
    return { version: this.version, bytes: fromBig(v, this.prefix.bytes.length), prefixLen: this.allocPrefixLen };
  }

  /** Slot index of `p`, or null when it is not exactly one slot of this pool. */
  private indexOf(p: IpPrefix): number | null {
    if (p.version !== this.version || p.prefixLen !== this.allocPrefixLen) return null;
    const off = toBig(p.bytes) - this.base;
    if (off < 0n || (off & ((1n << this.shift) - 1n)) !== 0n) return null;
    const idx = off >> this.shift;
    return idx < BigInt(this.slotLimit) ? Number(idx) : null;
  }

  /** Keeps `p` (one slot, e.g. the relay's own tunnel address) from ever being allocated. */
  reserve(p: IpPrefix): void {
    const idx = this.indexOf(p);
    if (idx === null) throw new IpAddressError('ERR_IP_POOL_CONFIG', 'reserved address is not a slot of the pool');
    this.reserved.add(idx);
  }

  private take(idx: number): IpPrefix {
    this.allocated.add(idx);
    return this.prefixAt(idx);
  }

  /**
   * Allocates a slot; returns null when the pool is exhausted or `maxAllocations` is reached
   * (the session then answers with a refusal, RFC 9484 §4.7.2). A `requested` prefix (from an
   * ADDRESS_REQUEST) is honoured when it is a free slot of this pool with the pool's allocation
   * length; otherwise — including the all-zero "no preference" — any free slot is returned, as
   * the proxy may assign a different address than requested (RFC 9484 §4.7.2).
   */
  allocate(requested?: IpPrefix | null): IpPrefix | null {
    if (this.allocated.size >= this.maxAllocations) return null;
    if (requested != null && !isAllZero(requested.bytes)) {
      const idx = this.indexOf(requested);
      if (idx !== null && !this.reserved.has(idx) && !this.allocated.has(idx)) return this.take(idx);
    }
    while (this.freeHead < this.freeQueue.length) {
      const idx = this.freeQueue[this.freeHead++];
      if (!this.allocated.has(idx)) return this.take(idx);
    }
    this.freeQueue = [];
    this.freeHead = 0;
    while (this.nextFresh < this.slotLimit) {
      const idx = this.nextFresh++;
      if (!this.allocated.has(idx) && !this.reserved.has(idx)) return this.take(idx);
    }
    return null;
  }

  /** True when `p` is currently allocated. */
  isAllocated(p: IpPrefix): boolean {
    const idx = this.indexOf(p);
    return idx !== null && this.allocated.has(idx);
  }

  /** Returns `p` to the pool; false when it was not allocated (double release is harmless). */
  release(p: IpPrefix): boolean {
    const idx = this.indexOf(p);
    if (idx === null || !this.allocated.delete(idx)) return false;
    this.freeQueue.push(idx);
    // Entries made stale by a requested re-allocation are skipped lazily; compact when the
    // queue outgrows what it can legitimately hold, to keep memory bounded.
    if (this.freeQueue.length - this.freeHead > this.compactAt) {
      this.freeQueue = [...new Set(this.freeQueue.slice(this.freeHead))].filter((i) => !this.allocated.has(i));
      this.freeHead = 0;
      this.compactAt = Math.max(2 * this.maxAllocations + 16, 2 * this.freeQueue.length);
    }
    return true;
  }
}
