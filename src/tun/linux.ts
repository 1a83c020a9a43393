/**
 * LinuxTun: a kernel TUN device (IFF_TUN | IFF_NO_PI, optionally IFF_MULTI_QUEUE) through the
 * project's own N-API addon in native/tun (see its header for why uv_poll, not fs.read).
 *
 * Needs CAP_NET_ADMIN (or a persistent device owned by the user). The addon is loaded lazily
 * on first open, so importing this module never fails on other platforms.
 */
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { batchGeometry, checkPacketsFitMtu, type PacketBatch, type TunDevice, type TunErrorHandler, type TunOpenOptions,
  type TunReadHandler, type WriteBatch } from './device.js';
import { TunError, tunErrorFromNative } from './errors.js';

/** The addon's surface (native/tun/tun.c). Handles are opaque externals. */
export interface TunAddon {
  /**
   * [fd, name, tsoErrno, uso]: tsoErrno 0 = TSO on, -1 = not asked for, else why it is off;
   * uso: UDP super-segments too (Linux ≥ 6.2).
   */
  open(name: string, multiQueue: boolean, vnetHdr?: boolean, tsoSegs?: number): [number, string, number, boolean];
  getMtu(name: string): number;
  setMtu(name: string, mtu: number): number;
  pollStart(fd: number, buf: Buffer, slotBytes: number, offset: number, sizes: Int32Array,
    maxBatch: number, cb: (count: number, errno: number) => void, vnet?: boolean, tsoSegs?: number): object;
  /** TSO reads so far: [super-segments, packets cut from them, packets dropped]. */
  pollStats(h: object): [number, number, number];
  pollPause(h: object): void;
  pollResume(h: object): void;
  pollRef(h: object, on: boolean): void;
  pollClose(h: object): void;
  /** Drains the fd into the batch buffer now (as a wake-up would); returns the packet count. */
  pollNow(h: object): number;
  write(fd: number, bufs: readonly Uint8Array[], offset: number, count: number, sizes: Int32Array | undefined, vnet?: boolean): number;
  writeArena(fd: number, buf: Uint8Array, lens: Int32Array, count: number, vnet: boolean, gro: boolean): number;
  close(fd: number): void;
}

let addon: TunAddon | undefined;

/** Loads native/tun/build/Release/tun.node (MASQUE_TUN_ADDON overrides the path). */
export function loadTunAddon(): TunAddon {
  if (addon) return addon;
  if (process.platform !== 'linux') {
    throw new TunError('ERR_TUN_UNSUPPORTED', `tun: no native TUN for ${process.platform} (see docs/tun.md)`);
  }
  // dist/src/tun/linux.js → repository root is three levels up.
  const path = process.env.MASQUE_TUN_ADDON ??
    new URL('../../../native/tun/build/Release/tun.node', import.meta.url).pathname;
  try {
    addon = createRequire(import.meta.url)(path) as TunAddon;
  } catch (e) {
    throw new TunError('ERR_TUN_UNSUPPORTED', `tun: native addon not built (run npm ci): ${path}`, { cause: e });
  }
  return addon;
}

export interface LinuxTunOptions extends TunOpenOptions {
  /** Interface name (≤ 15 bytes); default: the kernel picks `tunN`. */
  name?: string;
  /** Open with IFF_MULTI_QUEUE, so other fds (other processes/workers) can attach queues. */
  multiQueue?: boolean;
  /** Queues to open in this process (default 1; > 1 implies multiQueue). All feed onRead. */
  queues?: number;
  /** Read capacity per packet in bytes (default 65535, the largest IP packet). */
  maxPacketBytes?: number;
  /**
   * Open with IFF_VNET_HDR so writePackets() can hand the kernel runs of TCP segments as one
   * super-segment (native/tun/gro.c). Reads and write() stay per packet. Default false;
   * MASQUE_TUN_GRO=0 turns it off.
   */
  vnetHdr?: boolean;
  /**
   * TSO reads (needs vnetHdr, one queue and the default maxPacketBytes): the kernel hands us a
   * local TCP sender's data (and, on Linux ≥ 6.2, a UDP_SEGMENT sender's) as super-segments of
   * up to TSO_MAX_SEGS segments, one read() each, and the addon cuts them into packets
   * (native/tun/tso.c). Default false; MASQUE_TUN_TSO=0 turns it off.
   */
  tso?: boolean;
}

/** Segments per TSO read (the device's gso_max_segs), at most half a read batch. */
export const TSO_MAX_SEGS = 32;

export interface TsoStats {
  superSegments: number;
  segments: number;
  dropped: number;
}

/** One queue: its fd, its read buffer and the addon's poll handle. */
interface Queue {
  fd: number;
  buf: Buffer;
  batch: { bufs: Buffer[]; sizes: Int32Array; count: number; offset: number };
  poll: object | undefined;
  isPaused: boolean;
}

/**
 * Closes the fds of a LinuxTun that was garbage-collected without close() (an error path that
 * dropped it), so the device does not outlive its owner. Only a TUN with no reader can be
 * collected: a reader's native callback reference keeps the LinuxTun alive until close(), so
 * no poll can be watching an fd closed here. close() unregisters, so an fd is never closed
 * twice (a recycled number could belong to someone else by then).
 */
const dropped = new FinalizationRegistry<readonly number[]>((fds) => {
  const a = loadTunAddon();
  for (const fd of fds) {
    try {
      a.close(fd);
    } catch {
      // nothing to report to: the owner is gone, and a finalizer must not throw
    }
  }
});

export class LinuxTun implements TunDevice {
  readonly name: string;
  readonly offset: number;
  readonly batchSize: number;
  private mtuBytes: number;
  private readonly queues: Queue[] = [];
  private readonly slotBytes: number;
  private handler: TunReadHandler | null = null;
  private onError: TunErrorHandler | undefined;
  private isRef = true;
  private closed = false;
  private readonly vnet: boolean;
  /** Segments per TSO read, 0 when TSO is off (not asked for, or the kernel refused). */
  readonly tsoSegs: number = 0;
  /** Why TSO is off although it was asked for (an errno name), else undefined. */
  readonly tsoError: string | undefined;
  /** With TSO on: the kernel also hands us UDP super-segments (a sender's UDP_SEGMENT). */
  readonly uso: boolean = false;
  private isDelivering = false;
  private readonly isReadAfterWrite = process.env.MASQUE_TUN_READ_AFTER_WRITE !== '0';

  /** Opens (creates, or attaches a queue to) a TUN device. Throws TunError `ERR_TUN_OPEN`. */
  static open(opts: LinuxTunOptions = {}): LinuxTun {
    return new LinuxTun(opts);
  }

  private constructor(opts: LinuxTunOptions) {
    const { offset, batchSize } = batchGeometry(opts);
    const a = loadTunAddon();
    const nQueues = opts.queues ?? 1;
    if (!Number.isInteger(nQueues) || nQueues < 1) throw new RangeError(`bad queue count ${nQueues}`);
    const isMulti = opts.multiQueue === true || nQueues > 1;
    this.vnet = opts.vnetHdr === true && process.env.MASQUE_TUN_GRO !== '0';
    this.offset = offset;
    this.batchSize = batchSize;
    const maxPacketBytes = opts.maxPacketBytes ?? 65535;
    // Round slots to 64 bytes so each packet starts cache-line aligned.
    this.slotBytes = Math.ceil((offset + maxPacketBytes) / 64) * 64;
    let name = opts.name ?? '';
    // Single queue only: TSO is a device setting, and a queue whose reader does not cut
    // super-segments (another process's, or one that failed to turn it on) would get them too.
    const wantTso = opts.tso === true && this.vnet && !isMulti && maxPacketBytes >= 65535 && process.env.MASQUE_TUN_TSO !== '0';
    let tsoSegs = wantTso ? Math.min(TSO_MAX_SEGS, Math.floor(batchSize / 2)) : 0;
    try {
      for (let i = 0; i < nQueues; i++) {
        const [fd, actual, tsoErr, uso] = a.open(name, isMulti, this.vnet, tsoSegs);
        this.uso = tsoErr === 0 && uso;
        name = actual;
        this.queues.push(this.makeQueue(fd));
        if (tsoSegs > 0 && tsoErr !== 0) { // the fd works without it
          this.tsoError = errnoName(tsoErr);
          tsoSegs = 0;
        }
      }
      this.mtuBytes = a.getMtu(name);
    } catch (e) {
      for (const q of this.queues) a.close(q.fd);
      throw tunErrorFromNative('ERR_TUN_OPEN', `open ${name || 'tun'}`, e);
    }
    this.name = name;
    this.tsoSegs = tsoSegs;
    dropped.register(this, this.queues.map((q) => q.fd), this);
  }

  private makeQueue(fd: number): Queue {
    // allocUnsafeSlow: one dedicated ArrayBuffer the addon writes into; untouched pages of
    // the 64 KiB slots are never committed.
    const buf = Buffer.allocUnsafeSlow(this.slotBytes * this.batchSize);
    const bufs: Buffer[] = [];
    for (let i = 0; i < this.batchSize; i++) bufs.push(buf.subarray(i * this.slotBytes, (i + 1) * this.slotBytes));
    return { fd, buf, batch: { bufs, sizes: new Int32Array(this.batchSize), count: 0, offset: this.offset },
      poll: undefined, isPaused: false };
  }

  get mtu(): number {
    return this.mtuBytes;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** TSO reads so far, summed over the queues (zeros when TSO is off). */
  tsoStats(): TsoStats {
    const s: TsoStats = { superSegments: 0, segments: 0, dropped: 0 };
    if (this.tsoSegs === 0) return s;
    const a = loadTunAddon();
    for (const q of this.queues) {
      if (!q.poll) continue;
      const [sup, seg, drop] = a.pollStats(q.poll);
      s.superSegments += sup;
      s.segments += seg;
      s.dropped += drop;
    }
    return s;
  }

  /** The queues' file descriptors (for diagnostics; do not read or close them). */
  get fds(): readonly number[] {
    return this.queues.map((q) => q.fd);
  }

  onRead(handler: TunReadHandler | null, onError?: TunErrorHandler): void {
    if (this.closed) throw new TunError('ERR_TUN_CLOSED', `tun: ${this.name} is closed`);
    this.handler = handler;
    this.onError = onError;
    const a = loadTunAddon();
    for (const q of this.queues) {
      if (!handler) {
        if (q.poll && !q.isPaused) a.pollPause(q.poll);
        q.isPaused = true;
      } else if (!q.poll) {
        q.poll = a.pollStart(q.fd, q.buf, this.slotBytes, this.offset, q.batch.sizes, this.batchSize,
          (count, errno) => this.deliver(q, count, errno), this.vnet, this.tsoSegs);
        if (!this.isRef) a.pollRef(q.poll, false);
        q.isPaused = false;
      } else if (q.isPaused) {
        a.pollResume(q.poll);
        q.isPaused = false;
      }
    }
  }

  readNow(): void {
    if (!this.isReadAfterWrite || this.isDelivering || !this.handler || this.closed) return;
    const a = loadTunAddon();
    for (const q of this.queues) {
      if (!q.poll || q.isPaused) continue;
      const n = a.pollNow(q.poll);
      if (n > 0) this.deliver(q, n, 0);
    }
  }

  private deliver(q: Queue, count: number, errno: number): void {
    if (count > 0 && this.handler && !this.closed) {
      q.batch.count = count;
      // The batch buffer is reused by the next read: no readNow() from inside the handler.
      this.isDelivering = true;
      try {
        this.handler(q.batch as PacketBatch);
      } finally {
        this.isDelivering = false;
      }
    }
    if (errno !== 0 && !this.closed) {
      // The addon already stopped polling this queue; report once.
      q.isPaused = true;
      const name = errnoName(errno);
      const err = new TunError('ERR_TUN_READ', `tun: read ${this.name}: ${name}`, { errno: name });
      if (this.onError) this.onError(err);
      else throw err;
    }
  }

  write(batch: WriteBatch): number {
    if (this.closed) throw new TunError('ERR_TUN_CLOSED', `tun: ${this.name} is closed`);
    const offset = batch.offset ?? 0;
    const count = batch.count ?? batch.bufs.length;
    const sizes = batch.sizes;
    checkPacketsFitMtu(this.mtuBytes, count, sizes, batch.bufs, offset);
    // The addon reads sizes straight from an Int32Array; other array-likes are copied once.
    const nativeSizes = sizes === undefined ? undefined : sizes instanceof Int32Array ? sizes : Int32Array.from(sizes);
    try {
      return loadTunAddon().write(this.queues[0].fd, batch.bufs, offset, count, nativeSizes, this.vnet);
    } catch (e) {
      throw tunErrorFromNative('ERR_TUN_WRITE', `write ${this.name}`, e);
    }
  }

  writePackets(buf: Uint8Array, lens: Int32Array, count: number): number {
    if (this.closed) throw new TunError('ERR_TUN_CLOSED', `tun: ${this.name} is closed`);
    checkPacketsFitMtu(this.mtuBytes, count, lens);
    try {
      return loadTunAddon().writeArena(this.queues[0].fd, buf, lens, count, this.vnet, this.vnet);
    } catch (e) {
      throw tunErrorFromNative('ERR_TUN_WRITE', `write ${this.name}`, e);
    }
  }

  setMtu(mtu: number): void {
    if (this.closed) throw new TunError('ERR_TUN_CLOSED', `tun: ${this.name} is closed`);
    try {
      loadTunAddon().setMtu(this.name, mtu);
    } catch (e) {
      throw tunErrorFromNative('ERR_TUN_MTU', `set MTU ${mtu} on ${this.name}`, e);
    }
    this.mtuBytes = mtu;
  }

  refreshMtu(): number {
    if (this.closed) return this.mtuBytes;
    try {
      this.mtuBytes = loadTunAddon().getMtu(this.name);
    } catch (e) {
      throw tunErrorFromNative('ERR_TUN_MTU', `get MTU of ${this.name}`, e);
    }
    return this.mtuBytes;
  }

  ref(): void {
    this.setRef(true);
  }

  unref(): void {
    this.setRef(false);
  }

  private setRef(on: boolean): void {
    this.isRef = on;
    if (this.closed) return;
    for (const q of this.queues) if (q.poll) loadTunAddon().pollRef(q.poll, on);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handler = null;
    dropped.unregister(this);
    const a = loadTunAddon();
    // Stop polling before closing the fd: epoll must never watch a recycled descriptor.
    for (const q of this.queues) {
      if (q.poll) a.pollClose(q.poll);
      q.poll = undefined;
      a.close(q.fd);
    }
  }
}

/** `5` → `EIO`: the addon reports read errors as numbers (it runs outside a JS call). */
function errnoName(n: number): string {
  for (const [k, v] of Object.entries(osConstants.errno)) if (v === n) return k;
  return `errno ${n}`;
}
