/**
 * CONNECT-IP proxy (RFC 9484): address assignment from pools, route advertisement, packet
 * checks in both directions, and the routing table that maps a packet from the network side to
 * the session owning its destination address.
 *
 * The relay validates the request with `parseProxyRequest` and calls `handle()`. Packets that
 * pass the checks go to the pluggable `IpNetwork` (the relay's TUN; an in-memory network in
 * tests); packets from the network side come back through `deliver()`.
 *
 * Hop limit (RFC 9484 §7.2): decremented "upon encapsulation but not upon decapsulation", i.e.
 * in `deliver()` (network → client), never on client → network. The relay's kernel routes the
 * packet again after the TUN and decrements it there as any router does.
 *
 * Per-session logic lives in connect-ip-proxy-session.ts. Not safe across event loops.
 */
import { respondRefusal } from './refuse.js';
import type { H3Stream } from '../h3/h3-stream.js';
import type { RateLimiter } from './rate-limit.js';
import type { FieldLine } from '../h3/qpack/types.js';
import { ipDst, ipVersion, isWellFormedIp } from '../wire/ip.js';
import type { AddressPool } from './address-pool.js';
import type { TargetPolicy } from './policy.js';
import type { ConnectIpRequest } from './proxy-request.js';
import { encodeRouteAdvertisement, type IpAddressRange } from './connect-ip-capsules.js';
import { Writer } from '../wire/writer.js';
import { fullTunnelRoutes, hasProtocolOverlap } from './connect-ip-packet.js';
import { IpProxySession } from './connect-ip-proxy-session.js';
import { H3_CONNECT_ERROR } from '../h3/errors.js';
import { MasqueError } from '../core/errors.js';
import type { IpPrefix, IpVersion } from './ip-prefix.js';

/**
 * The network side of the proxy. `send(pkt)` takes one whole IP packet that passed every
 * check; `pkt` is valid during the call only (copy to keep). Must not throw.
 */
export interface IpNetwork {
  send(pkt: Uint8Array): void;
}

export interface ConnectIpProxyOptions {
  /** Client address pools; null = this family is off (no address, no route advertised). */
  pool4: AddressPool | null;
  pool6: AddressPool | null;
  policy: TargetPolicy;
  network: IpNetwork;
  /** MTU of the network side: larger client packets get ICMP Packet Too Big. Default 1500. */
  mtu?: number;
  /** Routes for full-tunnel requests. Default: all of each family that has a pool, protocol 0. */
  routes?: IpAddressRange[];
  /** Name resolution for DNS targets (§4.1: resolved before replying). Default dns.lookup all. */
  resolve?: (host: string) => Promise<string[]>;
  /** Our name in Proxy-Status (RFC 9209 §2). Default 'masque-relay'. */
  proxyName?: string;
  /** Assign one IPv4 and one IPv6 address without waiting for ADDRESS_REQUEST (§4.7.1 MAY). Default false. */
  isAssignedOnOpen?: boolean;
  /** Tunnel MTU when the connection has no QUIC DATAGRAMs (capsules). Default 1500. */
  capsuleMtu?: number;
  /** Live session cap; beyond → 503 connection_limit_reached. Default 65536. */
  maxSessions?: number;
  /** Per-client rate limiter for a session's principal (null/absent: unlimited). */
  limiterFor?: (principal: unknown) => RateLimiter | null;
}

export interface ConnectIpProxyCounters {
  accepted: number;
  refused: number;
  /** Streams aborted because the path cannot carry 1280-byte packets (RFC 9484 §7.2). */
  abortsMtu: number;
  /** Streams aborted for a malformed capsule or a capsule rule violation (RFC 9297 §3.3). */
  capsuleErrors: number;
  fromClientPackets: number;
  fromClientBytes: number;
  toClientPackets: number;
  toClientBytes: number;
  /** Source is not an address assigned to that session (BCP 38, RFC 9484 §11). */
  dropsBySrc: number;
  /** Outside the request's target/ipproto scope (RFC 9484 §4.6), either direction. */
  dropsByScope: number;
  /** Destination refused by the TargetPolicy. */
  dropsByPolicy: number;
  dropsMalformed: number;
  dropsUnknownContext: number;
  /** Datagrams before the tunnel was ready. */
  dropsNotReady: number;
  /** From the network: no session owns the destination. */
  dropsNoSession: number;
  /** Too big and no ICMP error allowed (IPv4 without DF, ICMP error about an ICMP error…). */
  dropsTooBig: number;
  /** HTTP/3 refused the datagram (queue full, stream gone). */
  dropsSend: number;
  /** Hop limit exhausted on encapsulation. */
  dropsTtl: number;
  /** Over the client's configured bandwidth or packet rate (either direction). */
  dropsRateLimited: number;
  ptbSent: number;
  timeExceededSent: number;
  prohibitedSent: number;
  /** Echo Requests to ff02::1 answered on the tunnel link (the clients' §7.2 probes, link-echo.ts). */
  linkEchoAnswered: number;
}

function newCounters(): ConnectIpProxyCounters {
  return {
    accepted: 0, refused: 0, abortsMtu: 0, capsuleErrors: 0, fromClientPackets: 0, fromClientBytes: 0,
    toClientPackets: 0, toClientBytes: 0, dropsBySrc: 0, dropsByScope: 0, dropsByPolicy: 0, dropsMalformed: 0,
    dropsUnknownContext: 0, dropsNotReady: 0, dropsNoSession: 0, dropsTooBig: 0, dropsSend: 0, dropsTtl: 0, dropsRateLimited: 0,
    ptbSent: 0, timeExceededSent: 0, prohibitedSent: 0, linkEchoAnswered: 0,
  };
}

/** @internal the options with defaults, as sessions see them */
export type ResolvedIpProxyOptions = Required<ConnectIpProxyOptions>;

export class ConnectIpProxy {
  readonly counters: ConnectIpProxyCounters = newCounters();
  /** @internal */
  readonly o: ResolvedIpProxyOptions;
  private readonly sessions = new Set<IpProxySession>();
  private readonly by4 = new Map<number, IpProxySession>();
  private readonly by6 = new Map<string, IpProxySession>();

  /** Throws MasqueError ERR_MASQUE_CONFIG when `routes` break the §4.7.3 rules. */
  constructor(o: ConnectIpProxyOptions) {
    this.o = {
      mtu: 1500, routes: fullTunnelRoutes().filter((r) => (r.version === 4 ? o.pool4 : o.pool6) !== null), proxyName: 'masque-relay', isAssignedOnOpen: false, capsuleMtu: 1500,
      maxSessions: 65536, resolve: defaultResolve, limiterFor: () => null, ...o,
    };
    try {
      encodeRouteAdvertisement(new Writer(64), this.o.routes); // validates order/ranges
    } catch (e) {
      throw new MasqueError('ERR_MASQUE_CONFIG', 'masque: invalid CONNECT-IP routes', { cause: e });
    }
    // §4.7.3: endpoints MUST NOT send protocol-0 ranges overlapping other-protocol ranges.
    if (hasProtocolOverlap(this.o.routes)) throw new MasqueError('ERR_MASQUE_CONFIG', 'masque: overlapping CONNECT-IP routes');
  }

  get activeSessions(): number {
    return this.sessions.size;
  }

  /**
   * Takes over an accepted CONNECT-IP stream. `principal` is kept with the session for the
   * caller's accounting (`sessionPrincipals`). Never throws for peer input.
   */
  handle(stream: H3Stream, req: ConnectIpRequest, principal?: unknown, extraResponseHeaders: FieldLine[] = []): void {
    const s = new IpProxySession(this, stream, req, principal);
    stream.handler = s;
    this.sessions.add(s);
    s.start(extraResponseHeaders).catch(() => s.abort(H3_CONNECT_ERROR));
  }

  /**
   * A packet from the network side → the session owning its destination address (checked and
   * sent as a datagram there; the hop limit is decremented in place). Returns false when no
   * session owns the destination (or the packet is malformed); the caller may then answer with
   * ICMP unreachable or drop.
   */
  deliver(pkt: Uint8Array): boolean {
    if (!isWellFormedIp(pkt)) {
      this.counters.dropsMalformed++;
      return false;
    }
    const s = this.lookup(pkt);
    if (!s) {
      this.counters.dropsNoSession++;
      return false;
    }
    s.toClient(pkt, true);
    return true;
  }

  /** The principals of live sessions (for the relay's status page). */
  sessionPrincipals(): unknown[] {
    return [...this.sessions].map((s) => s.principal);
  }

  /** Ends every session (FIN) and releases its addresses. */
  closeAll(): void {
    for (const s of [...this.sessions]) s.close(true);
  }

  private lookup(pkt: Uint8Array): IpProxySession | undefined {
    const dst = ipDst(pkt);
    const v = ipVersion(pkt) as IpVersion;
    const pool = this.poolFor(v);
    if (!pool) return undefined;
    return v === 4 ? this.by4.get(key4(dst, pool.allocPrefixLen)) : this.by6.get(key6(dst, pool.allocPrefixLen));
  }

  // ---- @internal, for IpProxySession ----

  /** @internal The client pool of one IP version; null when that family is off. */
  poolFor(v: IpVersion): AddressPool | null {
    return v === 4 ? this.o.pool4 : this.o.pool6;
  }

  /** @internal */
  register(p: IpPrefix, s: IpProxySession): void {
    // The pool exists: the prefix was allocated from it.
    const len = this.poolFor(p.version)!.allocPrefixLen;
    if (p.version === 4) this.by4.set(key4(p.bytes, len), s);
    else this.by6.set(key6(p.bytes, len), s);
  }

  /** @internal */
  unregister(p: IpPrefix): void {
    const len = this.poolFor(p.version)!.allocPrefixLen;
    if (p.version === 4) this.by4.delete(key4(p.bytes, len));
    else this.by6.delete(key6(p.bytes, len));
  }

  /** @internal */
  forget(s: IpProxySession): void {
    this.sessions.delete(s);
  }

  /** @internal answers a refused request: status + proxy-status, end of stream */
  refuse(stream: H3Stream, err: unknown): void {
    this.counters.refused++;
    respondRefusal(stream, this.o.proxyName, err);
  }
}

/** Map key of an IPv4 address masked to `plen` bits. */
function key4(b: Uint8Array, plen: number): number {
  const v = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  return plen === 0 ? 0 : plen >= 32 ? v : (v & (~0 << (32 - plen))) >>> 0;
}

/** Map key of an IPv6 address masked to `plen` bits (a 16-char latin1 string). */
function key6(b: Uint8Array, plen: number): string {
  let k = '';
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, plen - 8 * i));
    k += String.fromCharCode(b[i] & ((0xff << (8 - keep)) & 0xff));
  }
  return k;
}

async function defaultResolve(host: string): Promise<string[]> {
  const { lookup } = await import('node:dns/promises');
  return (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
}
