/**
 * CONNECT-UDP proxy side (RFC 9298 §3.1): one connected UDP socket per accepted request,
 * forwarding both ways, idle close, counters.
 *
 * The caller (the relay's request router) has already validated the request with
 * `parseProxyRequest` (template variables, IPv6 literals, percent-encoding, port range) and
 * passes the ConnectUdpRequest here. This class then:
 * 1. applies the ingress allowlist hook (`isTargetAllowed`) → 403 `http_request_denied`;
 * 2. resolves a DNS name BEFORE replying (§3.1 MUST), errors → Proxy-Status `dns_error` /
 *    `dns_timeout` (RFC 9209 §2.3.2);
 * 3. checks every resolved address against the TargetPolicy (DNS rebinding) and uses the first
 *    allowed one → else 502 `destination_ip_prohibited`;
 * 4. opens a *connected* socket (§3.1: the kernel filters the 5-tuple) and answers 200 with
 *    `capsule-protocol: ?1` (§3.5).
 * A client that offers forwarded mode (draft-ietf-masque-quic-proxy-07) gets it unless the
 * operator turned it off: quic-forwarding/proxy-side.ts then passes its inner connection's
 * short-header packets between the client's 4-tuple and the socket without HTTP/3.
 * Refusals answer the status plus a `proxy-status` field and end the stream. Nothing here throws
 * for peer input. The socket lives exactly as long as the stream (§3.1): a socket error resets
 * the stream with H3_CONNECT_ERROR; idleness ends it (FIN) after `idleTimeoutMs` (default
 * 2 minutes, the §3.1 floor).
 */
import { respondRefusal } from './refuse.js';
import type { RateLimiter } from './rate-limit.js';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { H3Stream, H3StreamHandler } from '../h3/h3-stream.js';
import type { FieldLine } from '../h3/qpack/types.js';
import { H3_CONNECT_ERROR, H3_MESSAGE_ERROR } from '../h3/errors.js';
import { CONTEXT_ID_PAYLOAD, MAX_UDP_PAYLOAD_BYTES, parseContextPayload } from '../h3/datagram.js';
import type { ConnectUdpRequest } from './proxy-request.js';
import { ProxyRequestError } from './errors.js';
import { policyDenial, type TargetPolicy } from './policy.js';
import { parseIpAddress } from './ip-prefix.js';
import { TargetSocket, TargetSockets } from './udp-target-socket.js';
import { CapsuleError } from './errors.js';
import { cidCapsuleErrorH3Code } from './quic-forwarding/capsules.js';
import { ProxyForwarding } from './quic-forwarding/proxy-side.js';
import { answerForwarding } from './quic-forwarding/negotiate.js';

export interface ConnectUdpProxyOptions {
  policy: TargetPolicy;
  /** Name resolution (all addresses). Default: dns.lookup with `all: true`. */
  resolve?: (host: string) => Promise<string[]>;
  /** Close a session after this much silence in both directions. Default 120 000 (RFC 9298 §3.1). */
  idleTimeoutMs?: number;
  /** Our name in Proxy-Status (RFC 9209 §2). Default 'masque-relay'. */
  proxyName?: string;
  /** Ingress allowlist hook (e.g. only the egress relays); false → 403 http_request_denied. */
  isTargetAllowed?: (host: string, port: number) => boolean;
  /** Largest UDP payload sent to a target (no IP fragmentation, §3.1). Default 1472 / 1452 (v4 / v6 on a 1500-byte link). */
  maxTargetPayloadBytes?: { v4: number; v6: number };
  /** Cap on live sessions; beyond → 503 connection_limit_reached. Default 65536. */
  maxSessions?: number;
  /** Per-client rate limiter for a session's principal (null/absent: unlimited). */
  limiterFor?: (principal: unknown) => RateLimiter | null;
  /** Accept forwarded mode (draft-ietf-masque-quic-proxy-07) when a client offers it. Default true. */
  quicForwarding?: boolean;
}

export interface ConnectUdpProxyCounters {
  accepted: number;
  refused: number;
  closedIdle: number;
  closedError: number;
  /** Client → target. */
  txPackets: number;
  txBytes: number;
  /** Target → client. */
  rxPackets: number;
  rxBytes: number;
  dropsUnknownContext: number;
  dropsMalformed: number;
  /** Client → target larger than the target link allows (§3.1: silently dropped) or than 65527 (§5). */
  dropsTooLarge: number;
  /** Client datagrams before the socket was ready (§5: dropped, not buffered). */
  dropsNotReady: number;
  /** Target → client refused by HTTP/3: larger than one QUIC DATAGRAM (§6.1) or send queue full. */
  dropsToClient: number;
  /** Over the client's configured bandwidth or packet rate (either direction). */
  dropsRateLimited: number;
  /** Forwarded mode: packets client → target and target → client (also in tx/rx), and drops. */
  fwdUp: number;
  fwdDown: number;
  fwdDrops: number;
}

const DEFAULT_IDLE_MS = 120_000;

async function defaultResolve(host: string): Promise<string[]> {
  const r = await lookup(host, { all: true, verbatim: true });
  return r.map((a) => a.address);
}

export class ConnectUdpProxy {
  readonly counters: ConnectUdpProxyCounters = {
    accepted: 0, refused: 0, closedIdle: 0, closedError: 0, txPackets: 0, txBytes: 0, rxPackets: 0, rxBytes: 0,
    dropsUnknownContext: 0, dropsMalformed: 0, dropsTooLarge: 0, dropsNotReady: 0, dropsToClient: 0, dropsRateLimited: 0,
    fwdUp: 0, fwdDown: 0, fwdDrops: 0,
  };
  /** @internal */
  readonly o: Required<Omit<ConnectUdpProxyOptions, 'isTargetAllowed'>> & Pick<ConnectUdpProxyOptions, 'isTargetAllowed'>;
  private readonly sessions = new Set<UdpProxySession>();
  /** @internal Shared send/receive buffers of the sessions' sockets. */
  readonly sockets = new TargetSockets();

  constructor(o: ConnectUdpProxyOptions) {
    this.o = {
      policy: o.policy,
      resolve: o.resolve ?? defaultResolve,
      idleTimeoutMs: o.idleTimeoutMs ?? DEFAULT_IDLE_MS,
      proxyName: o.proxyName ?? 'masque-relay',
      isTargetAllowed: o.isTargetAllowed,
      maxTargetPayloadBytes: o.maxTargetPayloadBytes ?? { v4: 1472, v6: 1452 },
      maxSessions: o.maxSessions ?? 65536,
      limiterFor: o.limiterFor ?? (() => null),
      quicForwarding: o.quicForwarding ?? true,
    };
  }

  get activeSessions(): number {
    return this.sessions.size;
  }

  /**
   * Takes over an accepted CONNECT-UDP stream: sets its handler, answers it (now or after DNS)
   * and forwards until either side closes. `extraResponseHeaders` go on the 2xx only (e.g. the
   * relay's auth result). Never throws for peer input.
   */
  handle(stream: H3Stream, req: ConnectUdpRequest, extraResponseHeaders: FieldLine[] = [], principal?: unknown): void {
    const s = new UdpProxySession(this, stream, req, this.o.limiterFor?.(principal) ?? null);
    stream.handler = s;
    this.sessions.add(s);
    s.start(extraResponseHeaders).catch(() => s.fail(H3_CONNECT_ERROR));
  }

  /**
   * Sends the datagrams sessions queued toward their targets. The relay calls it when a
   * client connection's read pass ends (H3 `afterReads`); a safety flush at the end of the
   * event-loop turn covers any other caller.
   */
  flush(): void {
    this.sockets.flush();
  }

  /**
   * Flushes at the end of the current callback: forwarded packets arrive outside any H3 read
   * pass (straight from the socket), so a receive batch of them leaves in one sendmmsg.
   */
  scheduleFlush(): void {
    if (this.isFlushQueued) return;
    this.isFlushQueued = true;
    queueMicrotask(() => {
      this.isFlushQueued = false;
      this.sockets.flush();
    });
  }

  private isFlushQueued = false;

  /** Closes every session (FIN on each stream, sockets closed). */
  closeAll(): void {
    for (const s of [...this.sessions]) s.close('closedIdle', true);
  }

  /** @internal */
  refuse(stream: H3Stream, err: unknown): void {
    this.counters.refused++;
    respondRefusal(stream, this.o.proxyName, err);
  }

  /** @internal */
  forget(s: UdpProxySession): void {
    this.sessions.delete(s);
  }
}

/** One proxied flow: the stream's handler and the owner of its socket. */
class UdpProxySession implements H3StreamHandler {
  private sock: TargetSocket | null = null;
  private isReady = false;
  private isDone = false;
  private lastActivity = Date.now();
  private timer: NodeJS.Timeout | null = null;
  private maxOut = 0;
  private scratch = new Uint8Array(2048);
  private fwd: ProxyForwarding | null = null;

  constructor(
    private readonly proxy: ConnectUdpProxy,
    private readonly stream: H3Stream,
    private readonly req: ConnectUdpRequest,
    /** The client's shared rate limiter (null: unlimited). */
    private readonly limiter: RateLimiter | null,
  ) {}

  async start(extra: FieldLine[]): Promise<void> {
    const o = this.proxy.o;
    const { targetHost: host, targetPort: port } = this.req;
    if (o.isTargetAllowed && !o.isTargetAllowed(host, port)) {
      return this.refuse(new ProxyRequestError('ERR_PROXY_TARGET_DENIED', 403, 'target not allowed here', 'http_request_denied'));
    }
    if (this.proxy.activeSessions > o.maxSessions) {
      return this.refuse(new ProxyRequestError('ERR_PROXY_LIMIT', 503, 'too many sessions', 'connection_limit_reached'));
    }
    let addrs: string[];
    try {
      // RFC 9298 §3.1: a DNS name MUST be resolved before replying.
      addrs = this.req.targetHostKind === 'dns' ? await o.resolve(host) : [host];
    } catch (e) {
      return this.refuse(e);
    }
    if (this.isDone) return; // the client gave up meanwhile
    if (addrs.length === 0) return this.refuse(Object.assign(new Error('no address'), { code: 'ENODATA' }));
    const addr = pickAllowed(o.policy, addrs);
    if (typeof addr !== 'string') return this.refuse(addr);
    const v6 = isIP(addr) === 6;
    this.maxOut = v6 ? o.maxTargetPayloadBytes.v6 : o.maxTargetPayloadBytes.v4;
    try {
      // RFC 9298 §3.1: a socket that is no longer usable (an ICMP error on the connected
      // socket, a failed send) MUST close the request stream.
      this.sock = await TargetSocket.connect(this.proxy.sockets, addr, port, v6, {
        onPacket: (pkt) => this.fromTarget(pkt),
        onError: () => this.fail(H3_CONNECT_ERROR),
      });
    } catch (e) {
      return this.refuse(e);
    }
    if (this.isDone) return this.closeSocket();
    this.isReady = true;
    this.proxy.counters.accepted++;
    this.stream.respond([[':status', '200'], ['capsule-protocol', '?1'], ...this.negotiateForwarding(), ...extra]);
    this.armIdle();
  }

  /**
   * Decides forwarded mode for this session (starting it when the client offered it and the
   * connection can carry packets beside it) and returns the response field, if any.
   */
  private negotiateForwarding(): FieldLine[] {
    const port = this.stream.raw;
    const a = answerForwarding(this.stream.request.fields, this.proxy.o.quicForwarding && port !== undefined);
    if (a === null) return [];
    if (a.keys !== null && port !== undefined) {
      this.fwd = new ProxyForwarding(port, a.keys.ours, a.keys.peer, {
        sendCapsule: (type, value) => this.stream.writeCapsule(type, value),
        toTarget: (pkt) => this.forwardUp(pkt),
      }, this.proxy.counters);
    }
    return [a.field];
  }

  /** Client → target in forwarded mode: the checks of onDatagram, then the socket. */
  private forwardUp(pkt: Uint8Array): boolean {
    const c = this.proxy.counters;
    if (this.isDone || this.sock === null) return false;
    if (pkt.length > this.maxOut) {
      c.dropsTooLarge++; // as a tunnelled one (RFC 9298 §3.1)
      return false;
    }
    if (this.limiter && !this.limiter.allow('up', pkt.length)) {
      c.dropsRateLimited++;
      return false;
    }
    this.sock.send(pkt);
    this.proxy.scheduleFlush();
    c.txPackets++;
    c.txBytes += pkt.length;
    this.lastActivity = Date.now(); // §5.10: forwarded packets count as activity
    return true;
  }

  private refuse(err: unknown): void {
    if (this.isDone) return;
    this.isDone = true;
    this.proxy.forget(this);
    this.proxy.refuse(this.stream, err);
  }

  /**
   * Target → client: Context ID 0 datagram (RFC 9298 §5). `stream.sendDatagram` uses a QUIC
   * DATAGRAM when negotiated and never falls back to a capsule for one that does not fit
   * (RFC 9298 §6.1 SHOULD NOT): such payloads are dropped and counted. Without QUIC DATAGRAMs
   * it sends a DATAGRAM capsule (RFC 9297 §3.5). ICMP Packet Too Big toward the target (§6.1
   * SHOULD) is not possible from a user-space socket: see docs/masque.md.
   */
  private fromTarget(msg: Uint8Array): void {
    if (this.isDone) return;
    const c = this.proxy.counters;
    if (this.limiter && !this.limiter.allow('down', msg.length)) {
      c.dropsRateLimited++;
      return;
    }
    if (this.fwd?.fromTarget(msg)) {
      c.rxPackets++;
      c.rxBytes += msg.length;
      this.lastActivity = Date.now();
      return;
    }
    if (this.scratch.length < 1 + msg.length) this.scratch = new Uint8Array(1 + msg.length);
    this.scratch[0] = CONTEXT_ID_PAYLOAD; // one-byte varint; sendDatagram copies, so reuse is safe
    this.scratch.set(msg, 1);
    if (!this.stream.sendDatagram(this.scratch.subarray(0, 1 + msg.length))) {
      c.dropsToClient++;
      return;
    }
    c.rxPackets++;
    c.rxBytes += msg.length;
    this.lastActivity = Date.now();
  }

  // ---- H3StreamHandler: client → target ----

  onDatagram(s: H3Stream, payload: Uint8Array): void {
    const c = this.proxy.counters;
    if (this.isDone) return;
    const cp = parseContextPayload(payload);
    if (cp === null) {
      c.dropsMalformed++;
      return;
    }
    if (cp.ctxId !== CONTEXT_ID_PAYLOAD) {
      c.dropsUnknownContext++; // RFC 9298 §5: drop silently
      return;
    }
    if (cp.payload.length > MAX_UDP_PAYLOAD_BYTES) {
      c.dropsTooLarge++;
      this.close('closedError', false);
      s.reset(H3_MESSAGE_ERROR); // RFC 9298 §5: MUST abort the stream
      return;
    }
    if (!this.isReady || this.sock === null) {
      c.dropsNotReady++; // RFC 9298 §5: before the tunnel exists → drop (we do not buffer)
      return;
    }
    if (cp.payload.length > this.maxOut) {
      c.dropsTooLarge++; // RFC 9298 §3.1: no IP fragmentation; overly large → silently dropped
      return;
    }
    if (this.limiter && !this.limiter.allow('up', cp.payload.length)) {
      c.dropsRateLimited++;
      return;
    }
    this.sock.send(cp.payload); // copies: the driver reuses its buffer
    c.txPackets++;
    c.txBytes += cp.payload.length;
    this.lastActivity = Date.now();
  }

  onCapsule(s: H3Stream, type: number, value: Uint8Array): void {
    // RFC 9297 §3.2: unknown capsule types are skipped silently (CID capsules too, when the
    // client did not negotiate forwarded mode).
    if (this.fwd === null || this.isDone) return;
    try {
      this.fwd.onCapsule(type, value);
    } catch (e) {
      this.fail(e instanceof CapsuleError ? cidCapsuleErrorH3Code(e) : H3_MESSAGE_ERROR);
    }
  }

  onEnd(): void {
    this.close('closedIdle', true); // the client closed its side: close ours and the socket
  }

  onReset(): void {
    this.close(null, false);
  }

  /** Closes the socket and, when `isFin`, our side of the stream. */
  close(reason: 'closedIdle' | 'closedError' | null, isFin: boolean): void {
    if (this.isDone) return;
    this.isDone = true;
    if (reason && this.isReady) this.proxy.counters[reason]++;
    this.fwd?.close();
    this.closeSocket();
    this.proxy.forget(this);
    if (isFin) this.stream.end();
  }

  fail(code: number): void {
    if (this.isDone) return;
    this.close('closedError', false);
    this.stream.reset(code);
  }

  private closeSocket(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const s = this.sock;
    this.sock = null;
    s?.close();
  }

  /** One timer per session, re-armed lazily from the last activity (no per-packet timer work). */
  private armIdle(): void {
    const ms = this.proxy.o.idleTimeoutMs;
    if (ms <= 0) return;
    const wait = Math.max(1, this.lastActivity + ms - Date.now());
    this.timer = setTimeout(() => {
      if (this.isDone) return;
      if (Date.now() - this.lastActivity >= ms) this.close('closedIdle', true); // RFC 9298 §3.1
      else this.armIdle();
    }, wait);
    this.timer.unref();
  }
}

/** The first resolved address the policy allows, or the refusal for the first one. */
function pickAllowed(policy: TargetPolicy, addrs: string[]): string | ProxyRequestError {
  let refusal: ProxyRequestError | null = null;
  for (const a of addrs) {
    const ip = parseIpAddress(a);
    if (ip === null) continue;
    const d = policy.check(ip.version, ip.bytes);
    if (d.isAllowed) return a;
    refusal ??= policyDenial(d);
  }
  return refusal ?? new ProxyRequestError('ERR_PROXY_TARGET_HOST', 502, 'no usable address', 'dns_error');
}
