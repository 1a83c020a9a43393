/**
 * In-memory PacketPaths for tests and for joining endpoints inside one process
 * (quiche's test Pipe, but with real endpoints on top). Delivery is asynchronous
 * (queueMicrotask per burst) so that, like a socket, a send never re-enters the sender.
 * Optional loss: drop each packet with probability `lossRate` using a seeded PRNG.
 */
import { mulberry32 } from '../core/prng.js';
import type { HostPort, PacketPath } from './path.js';

interface Link {
  queue: Array<{ pkt: Uint8Array; from: HostPort; to: HostPort }>;
  isScheduled: boolean;
}

export class MemoryNetwork {
  private readonly paths = new Map<string, MemoryPath>();
  private nextPort = 40000;
  private readonly rand: () => number;
  /** Packets dropped by loss or because nobody listens at the destination. */
  dropped = 0;
  delivered = 0;

  constructor(readonly opts: { lossRate?: number; seed?: number } = {}) {
    // Deterministic loss patterns make failures reproducible.
    this.rand = mulberry32(opts.seed ?? 1);
  }

  /** A new path bound at host (e.g. '10.0.0.1') and a fresh or given port. */
  bind(host: string, port = this.nextPort++): MemoryPath {
    const p = new MemoryPath(this, { host, port });
    this.paths.set(`${host}:${port}`, p);
    return p;
  }

  /** @internal */
  unbind(p: MemoryPath): void {
    this.paths.delete(`${p.local.host}:${p.local.port}`);
  }

  /** @internal */
  deliver(link: Link, pkt: Uint8Array, from: HostPort, to: HostPort): void {
    if (this.opts.lossRate && this.rand() < this.opts.lossRate) {
      this.dropped++;
      return;
    }
    link.queue.push({ pkt: pkt.slice(), from, to });
    if (link.isScheduled) return;
    link.isScheduled = true;
    setImmediate(() => {
      link.isScheduled = false;
      const q = link.queue.splice(0);
      for (const { pkt: p, from: f, to: t } of q) {
        const dst = this.paths.get(`${t.host}:${t.port}`);
        if (dst) {
          this.delivered++;
          dst.receive(p, f);
        } else this.dropped++;
      }
    });
  }
}

export class MemoryPath implements PacketPath {
  private handler?: (pkt: Uint8Array, from: HostPort) => void;
  private readonly link: Link = { queue: [], isScheduled: false };
  private closed = false;

  constructor(private readonly net: MemoryNetwork, readonly local: HostPort) {}

  send(pkt: Uint8Array, to: HostPort): void {
    if (!this.closed) this.net.deliver(this.link, pkt, this.local, to);
  }

  onReceive(handler: (pkt: Uint8Array, from: HostPort) => void): void {
    this.handler = handler;
  }

  /** @internal */
  receive(pkt: Uint8Array, from: HostPort): void {
    if (!this.closed) this.handler?.(pkt, from);
  }

  close(): void {
    this.closed = true;
    this.net.unbind(this);
  }
}
