/**
 * The client's data path: TUN ⇄ CONNECT-IP session.
 *   up:   one TUN read batch → one sendPacket per packet (each a DATAGRAM) → one QUIC flush
 *         for the whole batch (the driver flushes once per event-loop turn);
 *   down: packets from the session are copied into a batch and written to the TUN once per
 *         turn (one write call for many packets).
 * Nothing here allocates per packet on the up path; the down path copies once (the session's
 * buffer is only valid during its callback).
 */
import type { TunDevice, PacketBatch } from '../tun/device.js';

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
  private readonly down: Uint8Array[] = [];
  private isFlushScheduled = false;
  private isStopped = false;

  constructor(private readonly tun: TunDevice, private readonly session: PacketSession) {}

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
    this.down.push(pkt.slice());
    if (!this.isFlushScheduled) {
      this.isFlushScheduled = true;
      setImmediate(this.flushDown);
    }
  }

  private readonly flushDown = (): void => {
    this.isFlushScheduled = false;
    const bufs = this.down.splice(0);
    if (bufs.length === 0 || this.tun.isClosed) return;
    try {
      this.stats.packetsDropped += bufs.length - this.tun.write({ bufs });
    } catch {
      // ERR_TUN_PACKET_TOO_BIG: the session's MTU is larger than the TUN's; never expected.
      this.stats.packetsDropped += bufs.length;
    }
  };
}
