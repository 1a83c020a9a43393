/**
 * Packets beside the connections on an endpoint's socket: the forwarded mode of QUIC-aware
 * proxying (draft-ietf-masque-quic-proxy-07 §6) sends and receives short-header packets on
 * a connection's 4-tuple that belong to another QUIC connection. The endpoint routes a packet
 * here when its DCID is no connection's; each RawPacketPort sends to its connection's peer.
 */
import type { RawPacketPort } from './app.js';
import type { HostPort, PacketPath } from './path.js';
import { CID_LEN, cidKey } from './cid.js';

type Handler = (pkt: Uint8Array, from: HostPort) => void;

/** What RawPorts needs from its endpoint (the path changes when the endpoint rebinds). */
export interface RawPortsHost {
  path(): PacketPath;
  isClosing(): boolean;
  /** True when `key` is one of a connection's CIDs. */
  isConnCid(key: string): boolean;
}

export class RawPorts {
  private readonly routes = new Map<string, Handler>();
  private isFlushQueued = false;

  constructor(private readonly host: RawPortsHost) {}

  /** The handler for a short-header packet's DCID key, if a route holds it. */
  handlerFor(key: string): Handler | undefined {
    return this.routes.get(key);
  }

  clear(): void {
    this.routes.clear();
  }

  /**
   * A port on `conn`'s 4-tuple (§6.1: "the same 4-tuple ... used for the main QUIC
   * connection"). Sends go to `conn.peer` as it is at send time, so a peer that migrated
   * (§6.5, passive migration) is followed. Queued sends leave in one flush at the end of the
   * current callback (a microtask): the forwarded packets of one receive batch make one
   * sendmmsg, and a lone packet does not wait for the next event-loop phase.
   */
  portFor(conn: { readonly peer: HostPort }): RawPacketPort {
    const host = this.host;
    return {
      cidLen: CID_LEN,
      get peer() {
        return conn.peer;
      },
      send: (pkt) => {
        if (host.isClosing()) return;
        host.path().send(pkt, conn.peer);
        if (!this.isFlushQueued) {
          this.isFlushQueued = true;
          queueMicrotask(this.flushQueued);
        }
      },
      flush: () => host.path().flush?.(),
      addRoute: (cid, handler) => {
        if (cid.length !== CID_LEN) return false;
        const k = cidKey(cid);
        if (host.isConnCid(k) || this.routes.has(k)) return false;
        this.routes.set(k, handler);
        return true;
      },
      removeRoute: (cid) => {
        this.routes.delete(cidKey(cid));
      },
    };
  }

  private readonly flushQueued = (): void => {
    this.isFlushQueued = false;
    if (!this.host.isClosing()) this.host.path().flush?.();
  };
}
