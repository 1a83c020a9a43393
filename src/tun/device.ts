/**
 * The TUN device interface (modelled on wireguard-go `tun.Device`): batched I/O of raw IP
 * packets with headroom before each packet, so upper layers (CONNECT-IP's quarter-stream-ID
 * and context-ID varints, RFC 9484 §6 / RFC 9297 §2.1) can be prepended without copying.
 *
 * Implementations: `LinuxTun` (linux.ts, a kernel TUN through the native addon) and
 * `MemoryTun` (memory.ts, two ends joined in memory, for tests). macOS utun and Windows
 * wintun would be further implementations of this interface (docs/tun.md).
 *
 * Threading: everything runs on the JS thread. Handlers are called from the event loop,
 * never re-entrantly from inside write() or close().
 */
import { TunError } from './errors.js';

/**
 * A batch of packets. Packet `i` (for `i < count`) occupies
 * `bufs[i][offset, offset + sizes[i])`; the `offset` bytes before it are headroom the
 * holder may overwrite (e.g. to prepend framing). Bytes after the packet, up to
 * `bufs[i].length`, are also free to use.
 */
export interface PacketBatch {
  readonly bufs: readonly Uint8Array[];
  readonly sizes: ArrayLike<number>;
  readonly count: number;
  readonly offset: number;
}

/**
 * Called once per batch of packets read from the device.
 *
 * Buffer ownership: the batch and every buffer in it belong to the device and are reused
 * for the next batch as soon as the handler returns. The handler may modify packets in
 * place (and even pass the same batch to `write()` before returning, which is how an echo
 * works), but must copy anything it keeps beyond its return.
 */
export type TunReadHandler = (batch: PacketBatch) => void;

/** Called when reading failed for good (e.g. the interface was deleted); reading has stopped. */
export type TunErrorHandler = (err: Error) => void;

/** Packets for `write()`. Without `sizes`, packet `i` runs from `offset` to the end of `bufs[i]`. */
export interface WriteBatch {
  readonly bufs: readonly Uint8Array[];
  readonly offset?: number;
  readonly count?: number;
  readonly sizes?: ArrayLike<number>;
}

export interface TunDevice {
  /** Interface name (e.g. `tun0`); for MemoryTun, the name it was created with. */
  readonly name: string;
  /**
   * Largest IP packet accepted by write() and delivered by reads, in bytes: the value last
   * read or set through this object. After changing the MTU outside it (e.g. `ip link`),
   * call `setMtu()` or `refreshMtu()` so write()'s check agrees with the kernel.
   */
  readonly mtu: number;
  /** Headroom in bytes before each packet of a read batch. Fixed at open. */
  readonly offset: number;
  /** Most packets one read batch can hold. Fixed at open. */
  readonly batchSize: number;
  readonly isClosed: boolean;

  /**
   * Sets the batch handler: reading starts when a handler is set and pauses (packets stay
   * queued in the kernel, which drops beyond its queue length) when `null` is passed.
   * Replacing the handler takes effect on the next batch. Without `onError`, a fatal read
   * error is thrown from the event loop (an uncaught exception, like an 'error' event with
   * no listener).
   */
  onRead(handler: TunReadHandler | null, onError?: TunErrorHandler): void;

  /**
   * Writes packets synchronously; returns how many were accepted (fewer than the batch only
   * when the kernel queue is full: the rest are dropped, which IP tolerates). The device does
   * not keep references to the buffers: the caller owns them again when write() returns.
   * Throws TunError `ERR_TUN_PACKET_TOO_BIG` — before writing anything — if any packet is
   * longer than `mtu` (callers answer with ICMP Packet Too Big instead, see wire/icmp.ts),
   * `ERR_TUN_CLOSED` after close(), `ERR_TUN_WRITE` if the kernel refuses (e.g. link down).
   */
  write(batch: WriteBatch): number;

  /**
   * Writes packets that lie back to back in `buf` (lengths in `lens`); returns how many the
   * kernel took (fewer when its queue is full or it refused some: the rest are dropped, which
   * IP tolerates). Unlike write(), the device may merge
   * consecutive TCP segments of one flow into one super-segment (LinuxTun with `vnetHdr`,
   * native/tun/gro.c) and rewrite their headers in `buf`, which is the caller's scratch
   * space. Throws like write(): `ERR_TUN_PACKET_TOO_BIG` (before writing anything),
   * `ERR_TUN_CLOSED`, `ERR_TUN_WRITE`.
   */
  writePackets(buf: Uint8Array, lens: Int32Array, count: number): number;

  /**
   * Reads what the kernel has queued now and hands it to the onRead handler before returning,
   * as a wake-up would. Optional (LinuxTun has it). A no-op without a handler, while paused,
   * after close, or when called from inside the handler. TunWriter calls it after each write:
   * the kernel's answers to what we wrote (an echo reply, TCP ACKs) are often queued before
   * the write returns, and this way they leave with the same turn's sends.
   */
  readNow?(): void;

  /** Sets the MTU (Linux: SIOCSIFMTU, needs CAP_NET_ADMIN). Throws `ERR_TUN_MTU`. */
  setMtu(mtu: number): void;

  /** Re-reads the MTU from the system (no-op for in-memory devices); returns it. */
  refreshMtu(): number;

  /**
   * Whether a pending read keeps the process alive (default true, like a socket).
   * `unref()` lets the process exit while reading.
   */
  ref(): void;
  unref(): void;

  /**
   * Stops reading and releases the device. Idempotent and synchronous: no handler runs
   * afterwards, no thread is left blocked, so the process can exit at once. On Linux a
   * non-persistent interface disappears with its last queue, taking its addresses and
   * routes with it.
   */
  close(): void;
}

/** Options common to every implementation's open(). */
export interface TunOpenOptions {
  /** Headroom before each packet in read batches (default 0). */
  offset?: number;
  /** Packets per read batch (default 64: FACTS.md measured 64 as a good drain size). */
  batchSize?: number;
}

/**
 * The MTU check of `write()` and `writePackets()`, shared by the implementations: throws
 * TunError `ERR_TUN_PACKET_TOO_BIG` for the first of `count` packets longer than `mtu`, so
 * callers run it before writing anything. Packet `i` is `sizes[i]` bytes long when `sizes` is
 * given, else `bufs[i].length - offset` (WriteBatch without sizes). No allocation.
 */
export function checkPacketsFitMtu(
  mtu: number, count: number, sizes: ArrayLike<number> | undefined, bufs?: readonly Uint8Array[], offset = 0,
): void {
  for (let i = 0; i < count; i++) {
    const len = sizes ? sizes[i] : bufs![i].length - offset;
    if (len > mtu) throw new TunError('ERR_TUN_PACKET_TOO_BIG', `tun: packet of ${len} bytes exceeds MTU ${mtu}`);
  }
}

/** Validates and fills in TunOpenOptions defaults. */
export function batchGeometry(o: TunOpenOptions | undefined): { offset: number; batchSize: number } {
  const offset = o?.offset ?? 0;
  const batchSize = o?.batchSize ?? 64;
  if (!Number.isInteger(offset) || offset < 0 || offset > 4096) throw new RangeError(`bad tun offset ${offset}`);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 4096) throw new RangeError(`bad tun batchSize ${batchSize}`);
  return { offset, batchSize };
}
