/**
 * One CONNECT-IP session on the proxy (RFC 9484): scope from the request (§4.6, DNS resolved
 * before replying, §4.1), the 1280-byte MTU check (§7.2), address assignment (§4.7.1–§4.7.2),
 * route advertisement (§4.7.3), and the per-packet checks of both directions.
 * Owned by ConnectIpProxy (connect-ip-proxy.ts); the stream's handler.
 */
import type { RateLimiter } from './rate-limit.js';
import type { H3Stream, H3StreamHandler } from '../h3/h3-stream.js';
import type { FieldLine } from '../h3/qpack/types.js';
import { H3_EXCESSIVE_LOAD, H3_MESSAGE_ERROR, H3_REQUEST_CANCELLED } from '../h3/errors.js';
import { CONTEXT_ID_PAYLOAD, maxContextPayloadBytes, parseContextPayload } from '../h3/datagram.js';
import { isMasqueError, MasqueError } from '../core/errors.js';
import { Writer } from '../wire/writer.js';
import { decrementTtl, ipDst, ipSrc, ipVersion, isWellFormedIp } from '../wire/ip.js';
import type { ConnectIpRequest } from './proxy-request.js';
import { ProxyRequestError } from './errors.js';
import { policyDenial } from './policy.js';
import { compareIpBytes, parseIpAddress, type IpPrefix, type IpVersion } from './ip-prefix.js';
import {
  CAPSULE_ADDRESS_ASSIGN, CAPSULE_ADDRESS_REQUEST, CAPSULE_ROUTE_ADVERTISEMENT, addressRefusal, encodeAddressAssign,
  encodeRouteAdvertisement, parseAddressAssign, parseAddressRequest, parseRouteAdvertisement, type AddressEntry, type IpAddressRange,
} from './connect-ip-capsules.js';
import {
  ANY_SCOPE, CONNECT_IP_MIN_MTU, buildProhibited, buildTimeExceeded, buildTooBig, hasProtocolOverlap, isInPrefixes, isInScope,
  prefixToRange, splitCapsule, tcpDstPort, type IpScope,
} from './connect-ip-packet.js';
import type { ConnectIpProxy } from './connect-ip-proxy.js';
import { answerLinkEcho } from './link-echo.js';

/** Capsules buffered while DNS resolution delays the response. */
const MAX_EARLY_CAPSULES = 32;

export class IpProxySession implements H3StreamHandler {
  private scope: IpScope = ANY_SCOPE;
  private routes: IpAddressRange[] = [];
  /** Our assignments to the client, with the Request ID that obtained them (0 = unsolicited). */
  private readonly assigned: AddressEntry[] = [];
  private readonly seenRequestIds = new Set<number>();
  private early: Array<[number, Uint8Array]> | null = [];
  private isReady = false;
  private isDone = false;
  private tunnelMtu = 0;
  private scratch = new Uint8Array(2048);

  constructor(
    private readonly proxy: ConnectIpProxy,
    private readonly stream: H3Stream,
    private readonly req: ConnectIpRequest,
    readonly principal: unknown,
  ) {
    this.limiter = proxy.o.limiterFor(principal);
  }

  /** The client's shared rate limiter (null: unlimited). */
  private readonly limiter: RateLimiter | null;

  async start(extra: FieldLine[]): Promise<void> {
    const o = this.proxy.o;
    if (this.proxy.activeSessions > o.maxSessions) {
      return this.refuse(new ProxyRequestError('ERR_PROXY_LIMIT', 503, 'too many sessions', 'connection_limit_reached'));
    }
    const r = await this.resolveScope();
    if (this.isDone) return;
    if (r instanceof Error) return this.refuse(r);
    this.scope = r.scope;
    this.routes = r.routes;
    this.refreshMtu();
    if (this.stream.maxDatagramPayloadBytes() !== null && this.tunnelMtu < CONNECT_IP_MIN_MTU) {
      this.proxy.counters.abortsMtu++; // §7.2: MUST abort the request stream
      return this.abort(H3_REQUEST_CANCELLED);
    }
    this.isReady = true;
    this.proxy.counters.accepted++;
    this.stream.respond([[':status', '200'], ['capsule-protocol', '?1'], ...extra]);
    if (o.isAssignedOnOpen) this.assignUnprompted();
    const w = new Writer(64);
    encodeRouteAdvertisement(w, this.routes);
    this.writeCapsules(w.finish());
    const early = this.early ?? [];
    this.early = null;
    for (const [t, v] of early) this.onCapsule(this.stream, t, v);
  }

  /** §4.6 scope and the routes to advertise, or the refusal. */
  private async resolveScope(): Promise<{ scope: IpScope; routes: IpAddressRange[] } | Error> {
    const proto = this.req.ipProto;
    const t = this.req.target;
    const withProto = (rs: IpAddressRange[]) => (proto === null ? rs : rs.map((x) => ({ ...x, ipProtocol: proto })));
    if (t.kind === 'any') return { scope: { prefixes: null, ipProto: proto }, routes: withProto(this.proxy.o.routes) };
    if (t.kind === 'prefix') {
      return { scope: { prefixes: [t.prefix], ipProto: proto }, routes: [prefixToRange(t.prefix, proto ?? 0)] };
    }
    let addrs: string[];
    try {
      addrs = await this.proxy.o.resolve(t.host); // §4.1: MUST resolve before replying
    } catch (e) {
      return e instanceof Error ? e : new Error(String(e));
    }
    const prefixes: IpPrefix[] = [];
    let denial: ProxyRequestError | null = null;
    for (const a of addrs) {
      const ip = parseIpAddress(a);
      if (!ip) continue;
      const d = this.proxy.o.policy.check(ip.version, ip.bytes);
      if (!d.isAllowed) denial ??= policyDenial(d);
      else prefixes.push({ version: ip.version, bytes: ip.bytes, prefixLen: ip.version === 4 ? 32 : 128 });
    }
    if (prefixes.length === 0) return denial ?? Object.assign(new Error('no address'), { code: 'ENODATA' });
    // §4.6 SHOULD: routes for all resolved, reachable addresses; §4.7.3 ordering, no duplicates.
    const ranges = prefixes.map((p) => prefixToRange(p, proto ?? 0))
      .sort((a, b) => a.version - b.version || compareIpBytes(a.start, b.start))
      .filter((x, i, all) => i === 0 || x.version !== all[i - 1].version || compareIpBytes(x.start, all[i - 1].start) !== 0);
    return { scope: { prefixes, ipProto: proto }, routes: ranges };
  }

  private refreshMtu(): void {
    // null: DATAGRAM capsules, bounded by the configured capsule MTU instead.
    this.tunnelMtu = maxContextPayloadBytes(this.stream.maxDatagramPayloadBytes()) ?? this.proxy.o.capsuleMtu;
  }

  // ---- client → network ----

  onDatagram(_s: H3Stream, payload: Uint8Array): void {
    const c = this.proxy.counters;
    if (this.isDone) return;
    const cp = parseContextPayload(payload);
    if (cp === null || cp.ctxId !== CONTEXT_ID_PAYLOAD) {
      c.dropsUnknownContext++; // §6: unknown Context ID → drop silently
      return;
    }
    if (!this.isReady) {
      c.dropsNotReady++; // §7.1: optimistic packets may be dropped
      return;
    }
    const pkt = cp.payload;
    // §7.2: failed checks are forwarding errors, not protocol violations (drop, maybe ICMP).
    if (!isWellFormedIp(pkt)) {
      c.dropsMalformed++;
      return;
    }
    const v = ipVersion(pkt) as IpVersion;
    if (!this.isAssignedSource(v, ipSrc(pkt))) {
      c.dropsBySrc++; // §11: BCP 38 — no ICMP, the source is not the client's
      return;
    }
    // An echo to ff02::1 is for us, the node at the other end of the link (the client's §7.2
    // probe): answered before scope and policy, which are about forwarding.
    if (v === 6 && pkt[24] === 0xff && this.answerLinkEcho(pkt)) return;
    if (!isInScope(pkt, this.scope, true)) {
      c.dropsByScope++;
      return this.answer(buildProhibited(pkt), 'prohibitedSent');
    }
    const { policy } = this.proxy.o;
    if (!policy.check(v, ipDst(pkt)).isAllowed || policy.isTcpPortDenied(tcpDstPort(pkt))) {
      c.dropsByPolicy++;
      return this.answer(buildProhibited(pkt), 'prohibitedSent');
    }
    if (pkt.length > this.proxy.o.mtu) {
      const icmp = buildTooBig(pkt, this.proxy.o.mtu); // §7.2.1: Packet Too Big
      if (icmp === null) c.dropsTooBig++;
      return this.answer(icmp, 'ptbSent');
    }
    if (this.limiter && !this.limiter.allow('up', pkt.length)) {
      c.dropsRateLimited++;
      return;
    }
    c.fromClientPackets++;
    c.fromClientBytes += pkt.length;
    this.proxy.o.network.send(pkt); // decapsulation: no TTL change (§7.2)
  }

  /** True when `pkt` was an Echo Request to ff02::1, answered (or rate-limited). */
  private answerLinkEcho(pkt: Uint8Array): boolean {
    const reply = answerLinkEcho(pkt);
    if (reply === null) return false;
    if (this.limiter && !this.limiter.allow('up', pkt.length)) {
      this.proxy.counters.dropsRateLimited++;
      return true;
    }
    this.proxy.counters.linkEchoAnswered++;
    this.toClient(reply, false);
    return true;
  }

  private isAssignedSource(v: IpVersion, src: Uint8Array): boolean {
    for (const e of this.assigned) if (isInPrefixes([e.prefix], v, src)) return true;
    return false;
  }

  /** An ICMP error we generated → the client, counted. */
  private answer(icmp: Uint8Array | null, counter: 'prohibitedSent' | 'ptbSent'): void {
    if (icmp === null) return;
    this.proxy.counters[counter]++;
    this.toClient(icmp, false);
  }

  // ---- network → client ----

  /** Sends `pkt` to the client. `isForwarded`: from the network (checks + TTL), else our own ICMP. */
  toClient(pkt: Uint8Array, isForwarded: boolean): void {
    const c = this.proxy.counters;
    if (this.isDone || !this.isReady) {
      c.dropsNotReady++;
      return;
    }
    if (isForwarded && this.limiter && !this.limiter.allow('down', pkt.length)) {
      c.dropsRateLimited++;
      return;
    }
    if (isForwarded) {
      if (!isInScope(pkt, this.scope, false)) {
        c.dropsByScope++; // §4.6, reverse direction
        return;
      }
      if (pkt.length > this.tunnelMtu) {
        // §10.1: SHOULD NOT use a capsule instead; drop and send Packet Too Big to the sender.
        const icmp = buildTooBig(pkt, this.tunnelMtu);
        if (icmp) {
          c.ptbSent++;
          this.proxy.o.network.send(icmp);
        } else c.dropsTooBig++;
        return;
      }
      if (!decrementTtl(pkt)) {
        c.dropsTtl++; // §7.2: decrement on encapsulation; at 0 → Time Exceeded to the sender
        const icmp = buildTimeExceeded(pkt);
        if (icmp) {
          c.timeExceededSent++;
          this.proxy.o.network.send(icmp);
        }
        return;
      }
    }
    if (this.scratch.length < 1 + pkt.length) this.scratch = new Uint8Array(1 + pkt.length);
    this.scratch[0] = CONTEXT_ID_PAYLOAD;
    this.scratch.set(pkt, 1);
    if (!this.stream.sendDatagram(this.scratch.subarray(0, 1 + pkt.length))) {
      c.dropsSend++;
      this.refreshMtu();
      return;
    }
    c.toClientPackets++;
    c.toClientBytes += pkt.length;
  }

  // ---- capsules ----

  onCapsule(_s: H3Stream, type: number, value: Uint8Array): void {
    if (this.isDone) return;
    if (this.early !== null) {
      // Before our response (DNS pending): keep a few (RFC 9297 §3.2 allows capsules at once).
      if (this.early.length >= MAX_EARLY_CAPSULES) return this.abort(H3_EXCESSIVE_LOAD);
      this.early.push([type, value]);
      return;
    }
    try {
      switch (type) {
        case CAPSULE_ADDRESS_REQUEST: this.onAddressRequest(parseAddressRequest(value)); break;
        case CAPSULE_ADDRESS_ASSIGN: parseAddressAssign(value); break; // the client assigning us addresses: validated, unused
        case CAPSULE_ROUTE_ADVERTISEMENT: this.checkClientRoutes(parseRouteAdvertisement(value)); break;
        default: break; // RFC 9297 §3.2: skip unknown capsule types
      }
    } catch (e) {
      if (!isMasqueError(e)) throw e;
      this.proxy.counters.capsuleErrors++;
      this.abort(H3_MESSAGE_ERROR); // RFC 9297 §3.3 (RFC 9484 §4.7.1–§4.7.3)
    }
  }

  private checkClientRoutes(ranges: IpAddressRange[]): void {
    // §4.7.3: validated; we do not route to client-advertised networks (no site-to-site yet).
    if (hasProtocolOverlap(ranges)) throw new MasqueError('ERR_MASQUE_ROUTE_OVERLAP', 'protocol-0 range overlaps another');
  }

  private onAddressRequest(entries: AddressEntry[]): void {
    for (const e of entries) {
      // §4.7.2: Request IDs MUST NOT be reused → treat as malformed.
      if (this.seenRequestIds.has(e.requestId)) throw new MasqueError('ERR_MASQUE_REQUEST_ID_REUSED', 'reused request id');
      this.seenRequestIds.add(e.requestId);
    }
    const refusals: AddressEntry[] = [];
    for (const e of entries) {
      const p = this.allocate(e.prefix.version, e.prefix);
      if (p) this.assigned.push({ requestId: e.requestId, prefix: p });
      else refusals.push(addressRefusal(e.requestId, e.prefix.version)); // §4.7.2 refusal form
    }
    this.sendAssign(refusals);
  }

  /** One address per IP version per session; null = refuse. */
  private allocate(v: IpVersion, requested: IpPrefix | null): IpPrefix | null {
    if (this.assigned.some((a) => a.prefix.version === v)) return null;
    const pool = this.proxy.poolFor(v);
    if (!pool) return null; // this family is off at this proxy
    const p = pool.allocate(requested);
    if (p) this.proxy.register(p, this);
    return p;
  }

  private assignUnprompted(): void {
    for (const v of [4, 6] as const) {
      const p = this.allocate(v, null);
      if (p) this.assigned.push({ requestId: 0, prefix: p }); // §4.7.1: Request ID 0 = unsolicited
    }
    if (this.assigned.length) this.sendAssign([]);
  }

  /** §4.7.1: the full current list, plus this round's refusals (not repeated later, §4.7.2 SHOULD NOT). */
  private sendAssign(refusals: AddressEntry[]): void {
    const w = new Writer(64);
    encodeAddressAssign(w, [...this.assigned, ...refusals]);
    this.writeCapsules(w.finish());
  }

  private writeCapsules(b: Uint8Array): void {
    for (let off = 0; off < b.length;) {
      const r = splitCapsule(b, off);
      this.stream.writeCapsule(r.type, b.subarray(r.valueOff, r.valueOff + r.len));
      off = r.valueOff + r.len;
    }
  }

  // ---- lifetime ----

  onEnd(): void {
    this.close(true); // the client ended its side: end ours, release everything (§4.1)
  }

  onReset(): void {
    this.close(false);
  }

  private refuse(err: unknown): void {
    if (this.isDone) return;
    this.release();
    this.proxy.refuse(this.stream, err);
  }

  abort(code: number): void {
    if (this.isDone) return;
    this.release();
    this.stream.reset(code);
  }

  close(isFin: boolean): void {
    if (this.isDone) return;
    this.release();
    if (isFin) this.stream.end();
  }

  /** §4.1: assignments live exactly as long as the stream; returned to the pools here. */
  private release(): void {
    this.isDone = true;
    this.early = null;
    for (const a of this.assigned) {
      this.proxy.unregister(a.prefix);
      this.proxy.poolFor(a.prefix.version)?.release(a.prefix);
    }
    this.assigned.length = 0;
    this.proxy.forget(this);
  }
}
