/**
 * An in-memory IpNetwork for CONNECT-IP proxy tests (the relay plugs a TUN in instead).
 * It records every packet the proxy sends out and answers, on the next microtask, through
 * `proxy.deliver(reply)`:
 * - ICMP / ICMPv6 Echo Request → Echo Reply (any destination);
 * - UDP to port 7 (echo) → the same datagram with addresses and ports swapped (checksums are
 *   unchanged: the pseudo-header sum is commutative in the addresses, the UDP sum in the ports).
 * `inject(pkt)` plays a packet arriving from the network side (e.g. a spoofed or oversized one).
 */
import type { IpNetwork } from '../../src/masque/connect-ip-proxy.js';
import { echoRequestToReply } from '../../src/wire/icmp.js';
import { IP_PROTO_UDP, ipProtocol, ipUpperOffset, swapIpAddresses } from '../../src/wire/ip.js';

export class MemoryIpNetwork implements IpNetwork {
  /** Copies of every packet the proxy sent to the network. */
  readonly sent: Uint8Array[] = [];
  /** Replies the proxy refused (no session owned the destination). */
  undeliverable = 0;
  /** Set before traffic flows (the proxy is built with this network). */
  deliver: ((pkt: Uint8Array) => boolean) | null = null;
  /** Disable the automatic echo answers. */
  isEchoing = true;

  send(pkt: Uint8Array): void {
    const copy = pkt.slice();
    this.sent.push(copy);
    if (!this.isEchoing) return;
    const reply = copy.slice();
    if (echoRequestToReply(reply) || udpEcho(reply)) queueMicrotask(() => this.inject(reply));
  }

  /** A packet from the network side toward the proxy's clients. */
  inject(pkt: Uint8Array): boolean {
    const ok = this.deliver?.(pkt) ?? false;
    if (!ok) this.undeliverable++;
    return ok;
  }
}

/** Turns a UDP datagram to port 7 into its echo in place; false if it is not one. */
function udpEcho(pkt: Uint8Array): boolean {
  if (ipProtocol(pkt) !== IP_PROTO_UDP) return false;
  const u = ipUpperOffset(pkt);
  if (u < 0 || u + 8 > pkt.length || ((pkt[u + 2] << 8) | pkt[u + 3]) !== 7) return false;
  swapIpAddresses(pkt);
  for (let i = 0; i < 2; i++) {
    const t = pkt[u + i];
    pkt[u + i] = pkt[u + 2 + i];
    pkt[u + 2 + i] = t;
  }
  return true;
}
