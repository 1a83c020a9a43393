/**
 * The client's data path: TUN ⇄ CONNECT-IP session.
 *   up:   one TUN read batch → one sendPacket per packet (each a DATAGRAM) → one QUIC flush
 *         for the whole batch (the driver flushes once per event-loop turn);
 *   down: packets from the session are copied into a TunWriter and written when the
 *         carrying H3 driver ends its read pass (`flush()`, wired by TunnelSession), TCP
 *         runs merged into super-segments (tun/writer.ts).
 * Nothing here allocates per packet.
 */
import type { TunDevice, PacketBatch } from '../tun/device.js';
import { TunWriter } from '../tun/writer.js';

/** What the pump needs from a CONNECT-IP session (src/masque/connect-ip-client.ts). */
export interface PacketSession {
  sendPacket(pkt: Uint8Array): boolean;
  onPacket: ((pkt: Uint8Array) => void) | null;
}

export interface PumpStats {
  bytesUp: number;
  bytesDown: number;
  packetsUp: number;
  packetsDown: number;
  packetsDropped: number;
}

export class Pump {
  readonly stats: PumpStats = { bytesUp: 0, bytesDown: 0, packetsUp: 0, packetsDown: 0, packetsDropped: 0 };
  private readonly down: TunWriter;
  private isStopped = false;

  constructor(private readonly tun: TunDevice, private readonly session: PacketSession) {
    this.down = new TunWriter(tun);
  }

  /** Packets dropped on either path (the session refused them, or the TUN did). */
  get dropped(): number {
    return this.stats.packetsDropped + this.down.dropped;
  }

  start(): void {
    this.session.onPacket = (pkt) => this.fromTunnel(pkt);
    this.tun.onRead((b) => this.fromTun(b));
  }

  /** Detaches from both sides (the TUN stays open for the next session). */
  stop(): void {
    this.isStopped = true;
    this.session.onPacket = null;
    if (!this.tun.isClosed) this.tun.onRead(null);
  }

  /** Writes the packets received so far to the TUN (the end of a read pass). */
  flush(): void {
    this.down.flush();
  }

  private fromTun(b: PacketBatch): void {
    const s = this.stats;
    for (let i = 0; i < b.count; i++) {
      const pkt = b.bufs[i].subarray(b.offset, b.offset + b.sizes[i]);
      if (this.session.sendPacket(pkt)) {
        s.packetsUp++;
        s.bytesUp += pkt.length;
      } else s.packetsDropped++;
    }
  }

  private fromTunnel(pkt: Uint8Array): void {
    if (this.isStopped) return;
    this.stats.packetsDown++;
    this.stats.bytesDown += pkt.length;
    this.down.push(pkt);
  }

}
