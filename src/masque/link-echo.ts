/**
 * The tunnel link's 1280-byte check (RFC 9484 §7.2): "IP proxying endpoints that support IPv6
 * MUST ensure that the IP tunnel link MTU is at least 1280"; unless an out-of-band means
 * guarantees it, they send ICMPv6 Echo Requests with 1232 bytes of data and tear the tunnel
 * down without a response; an endpoint that does not know its peer's IPv6 address sends them
 * to the link-local all-nodes address ff02::1.
 *
 * Why the QUIC datagram limit alone is not enough: quiche sizes DATAGRAM frames from the
 * configured packet size, not from the path (it has no PMTU discovery), so a path narrower
 * than that size passes the handshake and then drops every full-size packet.
 *
 * Both halves live here: the proxy's echo responder on the tunnel link (`answerLinkEcho`),
 * and the client's probe (`MtuProbe`): a small and a 1280-byte request together, so that
 * "the link drops 1280-byte packets" (small ones answered, no large one) is told apart from
 * "this proxy does not answer echoes" (nothing answered).
 */
import { internetChecksum, pseudoHeaderSum } from '../wire/checksum.js';
import { ICMPV6_ECHO_REPLY, ICMPV6_ECHO_REQUEST, buildIcmpEcho } from '../wire/icmp.js';
import { IPV6_HEADER_BYTES, IPV6_MIN_MTU, IP_PROTO_ICMPV6, ipDst, ipTotalLength } from '../wire/ip.js';
import { compareIpBytes } from './ip-prefix.js';

/** ff02::1, the link-local all-nodes multicast address (RFC 4291 §2.7.1). */
const ALL_NODES = Uint8Array.from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
/**
 * The proxy's own address on every tunnel link: fe80::1. RFC 4443 §4.2: a reply to a
 * multicast Echo Request comes from a unicast address of the receiving interface; a tunnel
 * has no link-local address of its own (RFC 9484 §7.1), so the proxy uses this one.
 */
const PROXY_LINK_ADDRESS = Uint8Array.from([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);

const ICMP_HEADER_BYTES = 8;
/** Data of the large probe: 40 (IPv6) + 8 (ICMPv6) + 1232 = the 1280-byte minimum link MTU. */
const PROBE_DATA_BYTES = IPV6_MIN_MTU - IPV6_HEADER_BYTES - ICMP_HEADER_BYTES;
/** Data of the small probe: a packet any working tunnel carries. */
const SMALL_DATA_BYTES = 8;

/**
 * The ICMPv6 message of a plain IPv6 packet (no extension headers) of type `type`, with a
 * valid checksum, as the offset of its header; -1 otherwise.
 */
function icmpv6At(pkt: Uint8Array, type: number): number {
  if (pkt.length < IPV6_HEADER_BYTES + ICMP_HEADER_BYTES || pkt[0] >> 4 !== 6 || pkt[6] !== IP_PROTO_ICMPV6) return -1;
  if (ipTotalLength(pkt) !== pkt.length || pkt[IPV6_HEADER_BYTES] !== type || pkt[IPV6_HEADER_BYTES + 1] !== 0) return -1;
  const len = pkt.length - IPV6_HEADER_BYTES;
  // RFC 4443 §2.3: the checksum over the pseudo-header and the message sums to zero.
  return internetChecksum(pkt, IPV6_HEADER_BYTES, len, pseudoHeaderSum(pkt, 0, IP_PROTO_ICMPV6, len)) === 0 ? IPV6_HEADER_BYTES : -1;
}

/**
 * The proxy's answer to an Echo Request sent to ff02::1 across the tunnel: an Echo Reply
 * from PROXY_LINK_ADDRESS to the request's source with the same identifier, sequence number
 * and data (RFC 4443 §4.2). null for anything else, including a bad checksum (§2.4 (b)).
 */
export function answerLinkEcho(pkt: Uint8Array): Uint8Array | null {
  if (pkt.length < IPV6_HEADER_BYTES || compareIpBytes(ipDst(pkt), ALL_NODES) !== 0) return null;
  const at = icmpv6At(pkt, ICMPV6_ECHO_REQUEST);
  if (at < 0) return null;
  return buildIcmpEcho({
    src: PROXY_LINK_ADDRESS, dst: pkt.subarray(8, 24), isReply: true,
    id: (pkt[at + 4] << 8) | pkt[at + 5], seq: (pkt[at + 6] << 8) | pkt[at + 7],
    payload: pkt.subarray(at + ICMP_HEADER_BYTES), ttl: 255,
  });
}

export type MtuProbeResult = 'verified' | 'failed' | 'unanswered';

/**
 * One client's probe: requests from `src` (an assigned IPv6 address) to ff02::1, attempt n
 * carrying sequence 2n (small) and 2n+1 (1232 bytes of data). `take()` recognizes a reply.
 */
export class MtuProbe {
  private readonly id: number;
  /** Attempts whose small request was answered. */
  private readonly smallAnswered = new Set<number>();
  private isLargeAnswered = false;

  constructor(private readonly src: Uint8Array, id = Math.floor(Math.random() * 0x10000)) {
    this.id = id;
  }

  /** The two requests of attempt `n` (0, 1, …): small first. */
  requests(n: number): [Uint8Array, Uint8Array] {
    const make = (seq: number, len: number) => buildIcmpEcho({
      src: this.src, dst: ALL_NODES, id: this.id, seq: seq & 0xffff, payload: new Uint8Array(len).fill(0x5a), ttl: 255,
    });
    return [make(2 * n, SMALL_DATA_BYTES), make(2 * n + 1, PROBE_DATA_BYTES)];
  }

  /**
   * True when `pkt` is a reply to one of our requests (consumed: the host never asked for it).
   * A large reply counts only at full size: it proves that 1280 bytes crossed both ways.
   */
  take(pkt: Uint8Array): boolean {
    const at = icmpv6At(pkt, ICMPV6_ECHO_REPLY);
    if (at < 0 || ((pkt[at + 4] << 8) | pkt[at + 5]) !== this.id || compareIpBytes(ipDst(pkt), this.src) !== 0) return false;
    const seq = (pkt[at + 6] << 8) | pkt[at + 7];
    if ((seq & 1) === 0) this.smallAnswered.add(seq);
    else if (pkt.length === IPV6_MIN_MTU) this.isLargeAnswered = true;
    return true;
  }

  get isVerified(): boolean {
    return this.isLargeAnswered;
  }

  /**
   * The verdict once the time is up. 'failed' needs the small requests of two attempts
   * answered and no large one: the large request of the first went out before the small one
   * of the second came back, so its answer had time on any round-trip time; and random loss
   * must then have taken every large answer while sparing two small ones.
   */
  result(): MtuProbeResult {
    if (this.isLargeAnswered) return 'verified';
    return this.smallAnswered.size >= 2 ? 'failed' : 'unanswered';
  }
}
