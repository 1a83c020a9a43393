/**
 * The ICMP errors a CONNECT-IP client answers its own host with when it drops a packet
 * instead of sending it: Packet Too Big (RFC 9484 §10.1), Time Exceeded (§7.2), and "no route"
 * for an IP version the proxy assigned no address for. Each goes back to the host through the
 * session's packet callback. "No route" is rate-limited (RFC 4443 §2.4(f)): a host flooding
 * a family the tunnel does not carry gets 100 answers a second per session, not one per packet.
 */
import { buildNoRoute, buildTimeExceeded, buildTooBig } from './connect-ip-packet.js';

export interface LocalIcmpCounters {
  ptbSent: number;
  timeExceededSent: number;
  noRouteSent: number;
}

const NO_ROUTE_PER_SEC = 100;

export class LocalIcmp {
  private windowStart = 0;
  private inWindow = 0;

  constructor(private readonly counters: LocalIcmpCounters, private readonly emit: (pkt: Uint8Array) => void) {}

  tooBig(pkt: Uint8Array, mtu: number): void {
    this.send(buildTooBig(pkt, mtu), 'ptbSent');
  }

  timeExceeded(pkt: Uint8Array): void {
    this.send(buildTimeExceeded(pkt), 'timeExceededSent');
  }

  noRoute(pkt: Uint8Array): void {
    const now = performance.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.inWindow = 0;
    }
    if (this.inWindow < NO_ROUTE_PER_SEC && this.send(buildNoRoute(pkt), 'noRouteSent')) this.inWindow++;
  }

  /** False when the rules forbid an error about this packet (the builders return null). */
  private send(icmp: Uint8Array | null, counter: keyof LocalIcmpCounters): boolean {
    if (!icmp) return false;
    this.counters[counter]++;
    this.emit(icmp);
    return true;
  }
}
