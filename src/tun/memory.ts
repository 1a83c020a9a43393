/**
 * MemoryTun: two TunDevice ends joined in memory (like wireguard-go tun/tuntest and
 * quiche's test Pipe). What one end writes, the other reads — in batches, at its offset,
 * with the same buffer contract as LinuxTun — on a later event-loop turn (setImmediate),
 * never re-entrantly from inside write().
 *
 * It behaves like a link with a queue: packets written while the peer is paused wait, up to
 * `queueLimit`, then are dropped and counted; writes towards a closed peer are dropped.
 * MTU is enforced on write exactly as on Linux.
 */
import { batchGeometry, checkPacketsFitMtu, type TunDevice, type TunErrorHandler, type TunOpenOptions, type TunReadHandler,
  type WriteBatch } from './device.js';
import { TunError } from './errors.js';

export interface MemoryTunOptions extends TunOpenOptions {
  /** Default 1500. */
  mtu?: number;
  /** Packets queued towards an end that is not reading, before drops (default 4096). */
  queueLimit?: number;
  /** Names of the two ends (default `mem0`, `mem1`). */
  names?: [string, string];
}

export class MemoryTun implements TunDevice {
  readonly name: string;
  readonly offset: number;
  readonly batchSize: number;
  /** Packets dropped on the way to this end (queue full). */
  droppedPackets = 0;
  private mtuBytes: number;
  private peer!: MemoryTun;
  private readonly queueLimit: number;
  private readonly inbox: Uint8Array[] = [];
  private handler: TunReadHandler | null = null;
  private isScheduled = false;
  private closed = false;
  private readonly batch: { bufs: Uint8Array[]; sizes: Int32Array; count: number; offset: number };

  /** Creates two joined ends: `a.write()` is read by `b`, and the reverse. */
  static pair(opts: MemoryTunOptions = {}): [MemoryTun, MemoryTun] {
    const [n0, n1] = opts.names ?? ['mem0', 'mem1'];
    const a = new MemoryTun(n0, opts);
    const b = new MemoryTun(n1, opts);
    a.peer = b;
    b.peer = a;
    return [a, b];
  }

  private constructor(name: string, opts: MemoryTunOptions) {
    const { offset, batchSize } = batchGeometry(opts);
    this.name = name;
    this.offset = offset;
    this.batchSize = batchSize;
    this.mtuBytes = opts.mtu ?? 1500;
    this.queueLimit = opts.queueLimit ?? 4096;
    // Slots sized for the largest IP packet, so a later setMtu() never outgrows them.
    const slot = offset + 65535;
    const bufs: Uint8Array[] = [];
    for (let i = 0; i < batchSize; i++) bufs.push(new Uint8Array(slot));
    this.batch = { bufs, sizes: new Int32Array(batchSize), count: 0, offset };
  }

  get mtu(): number {
    return this.mtuBytes;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  onRead(handler: TunReadHandler | null, _onError?: TunErrorHandler): void {
    if (this.closed) throw new TunError('ERR_TUN_CLOSED', `tun: ${this.name} is closed`);
    this.handler = handler;
    if (handler && this.inbox.length > 0) this.schedule();
  }

  write(batch: WriteBatch): number {
    if (this.closed) throw new TunError('ERR_TUN_CLOSED', `tun: ${this.name} is closed`);
    const offset = batch.offset ?? 0;
    const count = batch.count ?? batch.bufs.length;
    checkPacketsFitMtu(this.mtuBytes, count, batch.sizes, batch.bufs, offset);
    for (let i = 0; i < count; i++) {
      const len = batch.sizes ? batch.sizes[i] : batch.bufs[i].length - offset;
      // Copy: the caller owns its buffers again as soon as write() returns. Not bufs[i].slice:
      // on a Buffer that is a view, which the caller's next batch would rewrite.
      this.peer.enqueue(copyOf(batch.bufs[i], offset, offset + len));
    }
    return count;
  }

  writePackets(buf: Uint8Array, lens: Int32Array, count: number): number {
    if (this.closed) throw new TunError('ERR_TUN_CLOSED', `tun: ${this.name} is closed`);
    checkPacketsFitMtu(this.mtuBytes, count, lens);
    for (let i = 0, off = 0; i < count; off += lens[i]!, i++) this.peer.enqueue(copyOf(buf, off, off + lens[i]!));
    return count;
  }

  private enqueue(pkt: Uint8Array): void {
    if (this.closed) return;
    if (this.inbox.length >= this.queueLimit) {
      this.droppedPackets++;
      return;
    }
    this.inbox.push(pkt);
    if (this.handler) this.schedule();
  }

  private schedule(): void {
    if (this.isScheduled) return;
    this.isScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Delivers one batch per loop turn, like a kernel device drained up to batchSize per wake-up. */
  private flush(): void {
    this.isScheduled = false;
    if (this.closed || !this.handler || this.inbox.length === 0) return;
    const n = Math.min(this.batchSize, this.inbox.length);
    const b = this.batch;
    for (let i = 0; i < n; i++) {
      const pkt = this.inbox[i];
      b.bufs[i].set(pkt, this.offset);
      b.sizes[i] = pkt.length;
    }
    this.inbox.splice(0, n);
    b.count = n;
    this.handler(b);
    if (this.inbox.length > 0 && this.handler !== null) this.schedule(); // the handler may have paused us
  }

  setMtu(mtu: number): void {
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new TunError('ERR_TUN_MTU', `tun: bad MTU ${mtu}`);
    this.mtuBytes = mtu;
  }

  refreshMtu(): number {
    return this.mtuBytes;
  }

  /** No-ops: an in-memory device holds no handle that could keep the process alive. */
  ref(): void {}
  unref(): void {}

  /** Closes this end; queued packets are discarded and the peer's writes to it are dropped. */
  close(): void {
    this.closed = true;
    this.handler = null;
    this.inbox.length = 0;
  }
}

/** A copy of b[start, end), also when b is a Buffer (whose slice() is a view). */
function copyOf(b: Uint8Array, start: number, end: number): Uint8Array {
  return Uint8Array.prototype.slice.call(b, start, end);
}
