/**
 * Packets bound for a TUN device during one event-loop turn, written with one `write()` call
 * at the end of the turn (the client's down path and the egress relay's up path both receive
 * packets one at a time from QUIC and would otherwise make one syscall each).
 *
 * `push()` copies the packet (callers hand out views of reused buffers) and never throws;
 * packets longer than the device MTU, refused by a full kernel queue, or written after close
 * are dropped and counted in `dropped`.
 */
import type { TunDevice } from './device.js';

export class TunWriteQueue {
  /** Packets that did not reach the kernel. */
  dropped = 0;
  private queue: Uint8Array[] = [];
  private isFlushScheduled = false;

  constructor(private readonly tun: TunDevice) {}

  push(pkt: Uint8Array): void {
    if (pkt.length > this.tun.mtu) {
      this.dropped++;
      return;
    }
    this.queue.push(pkt.slice());
    if (!this.isFlushScheduled) {
      this.isFlushScheduled = true;
      setImmediate(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.isFlushScheduled = false;
    const bufs = this.queue;
    this.queue = [];
    if (bufs.length === 0) return;
    if (this.tun.isClosed) {
      this.dropped += bufs.length;
      return;
    }
    try {
      this.dropped += bufs.length - this.tun.write({ bufs });
    } catch {
      this.dropped += bufs.length; // ERR_TUN_WRITE (link down): nothing was written
    }
  };
}
