/**
 * Packets from QUIC on their way to a TUN device (the client's down path and the egress
 * relay's up path), written in one batch per burst of received datagrams.
 *
 * `push()` copies the packet into an arena (the caller's buffer is only valid during its
 * callback); `flush()` hands the arena to the device in one call, which on a LinuxTun with
 * `vnetHdr` merges consecutive TCP segments of a flow into one super-segment (native/tun/
 * gro.c): one write and one trip through the kernel's forwarding for many packets.
 *
 * Who calls flush(): the H3 driver's `afterReads` hook, at the end of its datagram batch and
 * before the connection transmits, so a packet reaches the kernel before the QUIC ACK for it
 * is sent (docs/benchmarks.md: +0.1–0.2 ms per hop otherwise). A setImmediate flush covers a
 * writer nobody flushes.
 *
 * `push()` never throws; packets longer than the device MTU, refused by a full kernel queue,
 * or written after close are dropped and counted in `dropped`.
 */
import { TurnFlush } from '../core/turn-flush.js';
import type { TunDevice } from './device.js';

const ARENA_BYTES = 256 * 1024;
const MAX_PACKETS = 256;

export class TunWriter {
  /** Packets that did not reach the kernel. */
  dropped = 0;
  private readonly arena = new Uint8Array(ARENA_BYTES);
  private readonly lens = new Int32Array(MAX_PACKETS);
  private count = 0;
  private bytes = 0;
  /** In case nobody flushes this turn. */
  private readonly safety = new TurnFlush(() => this.flush());

  constructor(private readonly tun: TunDevice) {}

  push(pkt: Uint8Array): void {
    if (pkt.length > this.tun.mtu || this.tun.isClosed) {
      this.dropped++;
      return;
    }
    if (this.count === MAX_PACKETS || this.bytes + pkt.length > ARENA_BYTES) this.flush();
    this.arena.set(pkt, this.bytes);
    this.lens[this.count++] = pkt.length;
    this.bytes += pkt.length;
    this.safety.arm();
  }

  /** Writes what is queued now. Cheap when empty. */
  flush(): void {
    const n = this.count;
    if (n === 0) return;
    this.safety.cancel();
    this.count = 0;
    this.bytes = 0;
    if (this.tun.isClosed) {
      this.dropped += n;
      return;
    }
    try {
      this.dropped += n - this.tun.writePackets(this.arena, this.lens, n);
    } catch {
      this.dropped += n; // ERR_TUN_WRITE (link down): nothing more was written
      return;
    }
    // What the kernel answered while we wrote (an echo reply, TCP ACKs: its forwarding and
    // local stacks run inside write()) is read now, so it leaves in this turn's sends, with
    // the QUIC ACK for what we just wrote, not one epoll round trip later (docs/tun.md).
    this.tun.readNow?.();
  }
}
