/**
 * Writes packets from QUIC to a TUN device as they arrive (the client's down path and the
 * egress relay's up path).
 *
 * Each packet is written at once, straight from the caller's view: a TUN fd takes one
 * packet per write() whatever we do, so queueing to the end of the turn saved only N-API
 * crossings while it cost a copy per packet and put the write after the turn's QUIC sends
 * (an ACK went out before the packet reached the kernel: +0.1–0.2 ms per hop on an idle
 * path, docs/benchmarks.md).
 *
 * `push()` never throws; packets longer than the device MTU, refused by a full kernel queue,
 * or written after close are dropped and counted in `dropped`.
 */
import type { TunDevice, WriteBatch } from './device.js';

export class TunWriter {
  /** Packets that did not reach the kernel. */
  dropped = 0;
  private readonly one: Uint8Array[] = [new Uint8Array(0)];
  private readonly batch: WriteBatch = { bufs: this.one, count: 1 };

  constructor(private readonly tun: TunDevice) {}

  push(pkt: Uint8Array): void {
    if (pkt.length > this.tun.mtu || this.tun.isClosed) {
      this.dropped++;
      return;
    }
    this.one[0] = pkt;
    try {
      if (this.tun.write(this.batch) !== 1) this.dropped++;
    } catch {
      this.dropped++; // ERR_TUN_WRITE (link down): nothing was written
    } finally {
      this.one[0] = EMPTY; // do not keep the caller's buffer alive
    }
  }
}

const EMPTY = new Uint8Array(0);
