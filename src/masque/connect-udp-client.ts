/**
 * CONNECT-UDP client session (RFC 9298) over our HTTP/3 client, plus the extended-CONNECT
 * opening shared with CONNECT-IP (`requestTunnel`).
 *
 * `openConnectUdp()` expands the URI template (RFC 9298 §2), sends the extended CONNECT with
 * `capsule-protocol: ?1` (§3.4), and resolves after a 2xx (§3.5) with a `ConnectUdpSession`,
 * a PacketPath: the QUIC core runs the client's inner connection to the egress relay over it.
 *
 * Datagrams: Context ID 0 carries the bare UDP payload (§4–§5). When QUIC DATAGRAMs are
 * negotiated (RFC 9297 §2.1.1) a payload goes out as one QUIC DATAGRAM built in a scratch
 * buffer with `writeDatagramHeader` (one copy, which the PacketPath contract requires since the
 * endpoint reuses `pkt`); otherwise as a DATAGRAM capsule (RFC 9297 §3.5). Unknown Context IDs
 * and datagrams too short for one are dropped and counted (§5). A context-0 payload longer than
 * 65527 bytes aborts the stream (§5, H3_MESSAGE_ERROR).
 *
 * With `quicForwarding` the session offers forwarded mode (draft-ietf-masque-quic-proxy-07,
 * quic-forwarding/): once the proxy acknowledged the inner connection's CIDs, its short-header
 * packets leave beside the outer connection instead of as datagrams (`send`), and arrive that
 * way too (`deliver`); everything else stays as above.
 */
import { MasqueError } from '../core/errors.js';
import type { ClientH3Driver } from '../h3/client.js';
import type { H3Stream, H3StreamHandler } from '../h3/h3-stream.js';
import type { ResponseHead } from '../h3/message.js';
import type { FieldLine } from '../h3/qpack/types.js';
import { H3_MESSAGE_ERROR, H3_REQUEST_CANCELLED } from '../h3/errors.js';
import {
  CONTEXT_ID_PAYLOAD, MAX_UDP_PAYLOAD_BYTES, maxContextPayloadBytes, parseContextPayload, writeDatagramHeader,
} from '../h3/datagram.js';
import type { HostPort, PacketPath } from '../quic/path.js';
import { expandTemplatePath, parseUriTemplate, type TemplateKind, type TemplateVars } from './template.js';
import { parseIpAddress, formatIpAddress } from './ip-prefix.js';
import { CapsuleError } from './errors.js';
import { cidCapsuleErrorH3Code } from './quic-forwarding/capsules.js';
import { ClientForwarding } from './quic-forwarding/client-side.js';
import { acceptForwarding, offerForwarding } from './quic-forwarding/negotiate.js';

/**
 * A tunnel could not be opened or died. `httpStatus` is the proxy's non-2xx status (null when
 * no response came); `proxyStatus` the raw RFC 9209 `proxy-status` field of that response.
 * Codes: ERR_MASQUE_REFUSED (non-2xx), ERR_MASQUE_NO_EXTENDED_CONNECT (the server did not send
 * SETTINGS_ENABLE_CONNECT_PROTOCOL=1, RFC 9220 §3), ERR_MASQUE_RESET (stream reset before the
 * response), ERR_MASQUE_TIMEOUT, ERR_MASQUE_CLOSED, ERR_MASQUE_MTU (RFC 9484 §7.2).
 */
export class MasqueSessionError extends MasqueError {
  readonly httpStatus: number | null;
  readonly proxyStatus: string | null;
  /** H3 code of the reset, when the stream was reset. */
  readonly h3Code: number | null;

  constructor(code: string, message: string, o: { httpStatus?: number; proxyStatus?: string | null; h3Code?: number; cause?: unknown } = {}) {
    super(code, message, { cause: o.cause });
    this.httpStatus = o.httpStatus ?? null;
    this.proxyStatus = o.proxyStatus ?? null;
    this.h3Code = o.h3Code ?? null;
  }
}

/** Packet counters of a session (STYLE.md §5: drops are counted, not logged). */
export interface SessionStats {
  txPackets: number;
  rxPackets: number;
  txBytes: number;
  rxBytes: number;
  /** Dropped: too large, unknown Context ID, malformed, sent while closed or queue full. */
  drops: number;
}

export function newSessionStats(): SessionStats {
  return { txPackets: 0, rxPackets: 0, txBytes: 0, rxBytes: 0, drops: 0 };
}

export interface TunnelRequest {
  protocol: 'connect-udp' | 'connect-ip';
  kind: TemplateKind;
  template: string;
  vars: TemplateVars;
  headers?: FieldLine[];
  /** Time allowed for SETTINGS plus the response. Default 10 s. */
  timeoutMs?: number;
  /** Send a variable whose value is exactly `*` unencoded (CONNECT-IP wildcard). */
  isWildcardBare?: boolean;
}

/** Unreserved-only placeholder: survives percent-encoding unchanged. */
const WILDCARD_MARK = 'masque-wildcard-7f3e';

/**
 * Sends an extended CONNECT (RFC 9220) for `req` with `handler` as the stream handler and
 * resolves with the stream after a 2xx (RFC 9298 §3.5, RFC 9484 §4.5). `handler.onResponse`
 * is called first in any case. On any other status the request is aborted (H3_REQUEST_CANCELLED:
 * "the client MUST abort the request") and the promise rejects with MasqueSessionError.
 * Throws TemplateError synchronously-in-promise for a bad template (RFC 9298 §2: reject the
 * configuration without sending anything).
 */
export async function requestTunnel(h3: ClientH3Driver, req: TunnelRequest, handler: H3StreamHandler): Promise<H3Stream> {
  const fields = buildTunnelRequestFields(req);
  const timeoutMs = req.timeoutMs ?? 10_000;
  const settings = await withTimeout(h3.ready, timeoutMs, 'masque: no SETTINGS from the proxy');
  if (!settings.enableConnectProtocol) {
    throw new MasqueSessionError('ERR_MASQUE_NO_EXTENDED_CONNECT', 'masque: proxy did not enable extended CONNECT (RFC 9220)');
  }
  return new Promise<H3Stream>((resolve, reject) => {
    let isSettled = false;
    const settle = (e: MasqueSessionError | null, s?: H3Stream) => {
      if (isSettled) return;
      isSettled = true;
      clearTimeout(timer);
      if (e) reject(e);
      else resolve(s!);
    };
    // Delegates everything to `handler`; watches the response and resets to settle the promise.
    const wrapped: H3StreamHandler = {
      onInformational: (s, h) => handler.onInformational?.(s, h),
      onData: (s, b) => handler.onData?.(s, b),
      onCapsule: (s, t, v) => handler.onCapsule?.(s, t, v),
      onDatagram: (s, p) => handler.onDatagram?.(s, p),
      onTrailers: (s, f) => handler.onTrailers?.(s, f),
      onEnd: (s) => handler.onEnd?.(s),
      onWritable: (s) => handler.onWritable?.(s),
    };
    wrapped.onResponse = (s: H3Stream, head: ResponseHead) => {
      handler.onResponse?.(s, head);
      if (head.status >= 200 && head.status < 300) {
        s.handler = handler; // from now on, straight to the session (one call per datagram)
        return settle(null, s);
      }
      s.reset(H3_REQUEST_CANCELLED);
      settle(new MasqueSessionError('ERR_MASQUE_REFUSED', `masque: ${req.protocol} refused with ${head.status}`, {
        httpStatus: head.status, proxyStatus: fieldOf(head.fields, 'proxy-status'),
      }));
    };
    wrapped.onReset = (s: H3Stream, code: number, isLocal: boolean) => {
      handler.onReset?.(s, code, isLocal);
      settle(new MasqueSessionError('ERR_MASQUE_RESET', `masque: ${req.protocol} stream reset (0x${code.toString(16)})`, { h3Code: code }));
    };
    const timer = setTimeout(() => {
      stream?.reset(H3_REQUEST_CANCELLED);
      settle(new MasqueSessionError('ERR_MASQUE_TIMEOUT', `masque: no response to ${req.protocol} in ${timeoutMs} ms`));
    }, timeoutMs);
    timer.unref?.();
    let stream: H3Stream | undefined;
    try {
      stream = h3.request(fields, { handler: wrapped });
    } catch (e) {
      settle(new MasqueSessionError('ERR_MASQUE_CLOSED', 'masque: cannot open request stream', { cause: e }));
    }
  });
}

/**
 * The extended CONNECT field section for `req` (RFC 9298 §3.4 / RFC 9484 §4.4), in the order of
 * the RFC examples. Pure. Throws TemplateError for an invalid template.
 */
export function buildTunnelRequestFields(req: TunnelRequest): FieldLine[] {
  const t = parseUriTemplate(req.template, req.kind);
  let path: string;
  if (req.isWildcardBare) {
    const vars: Record<string, string | number | undefined> = {};
    for (const [k, v] of Object.entries(req.vars)) vars[k] = v === '*' ? WILDCARD_MARK : v;
    path = expandTemplatePath(t, vars).split(WILDCARD_MARK).join('*');
  } else {
    path = expandTemplatePath(t, req.vars);
  }
  return [
    [':method', 'CONNECT'], [':protocol', req.protocol], [':scheme', 'https'],
    [':authority', t.authority], [':path', path], ['capsule-protocol', '?1'], ...(req.headers ?? []),
  ];
}

function withTimeout<T>(p: Promise<T>, ms: number, msg: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new MasqueSessionError('ERR_MASQUE_TIMEOUT', msg)), ms);
    t.unref?.();
    p.then((v) => { clearTimeout(t); resolve(v); }, (e) => {
      clearTimeout(t);
      reject(new MasqueSessionError('ERR_MASQUE_CLOSED', 'masque: HTTP/3 connection closed', { cause: e }));
    });
  });
}

function fieldOf(fields: readonly FieldLine[], name: string): string | null {
  const vals = fields.filter(([n]) => n === name).map(([, v]) => v);
  return vals.length ? vals.join(', ') : null;
}

export interface ConnectUdpOptions {
  /** URI template (RFC 9298 §2), e.g. defaultUdpTemplate('relay.example:443'). */
  template: string;
  targetHost: string;
  targetPort: number;
  headers?: FieldLine[];
  /** Nominal local address reported to the QUIC core (never bound). Default 127.0.0.1:1. */
  local?: HostPort;
  timeoutMs?: number;
  /**
   * Offer forwarded mode (draft-ietf-masque-quic-proxy-07 §3) with the scramble transform, for
   * a tunnel that will carry one QUIC connection. Default false.
   */
  quicForwarding?: boolean;
}

/** Opens a CONNECT-UDP tunnel. Resolves after a 2xx; rejects with MasqueSessionError. */
export async function openConnectUdp(h3: ClientH3Driver, o: ConnectUdpOptions): Promise<ConnectUdpSession> {
  const session = new ConnectUdpSession(h3, o);
  // RFC 9298 §2: an IPv6 literal is sent bare and percent-encoded by the expansion.
  const host = o.targetHost.startsWith('[') && o.targetHost.endsWith(']') ? o.targetHost.slice(1, -1) : o.targetHost;
  const offer = o.quicForwarding && h3.quic?.raw ? offerForwarding() : null;
  const stream = await requestTunnel(h3, {
    protocol: 'connect-udp', kind: 'udp', template: o.template,
    vars: { target_host: host, target_port: o.targetPort },
    headers: offer ? [...(o.headers ?? []), offer.field] : o.headers, timeoutMs: o.timeoutMs,
  }, session);
  session.attach(stream);
  if (offer) {
    try {
      session.fwd = acceptForwarding(offer, stream.response?.fields ?? [], h3.quic!.raw!, {
        sendCapsule: (type, value) => stream.writeCapsule(type, value),
        deliver: (pkt) => session.deliver(pkt),
      });
    } catch (e) {
      session.close();
      throw e;
    }
  }
  return session;
}

/**
 * One CONNECT-UDP tunnel to one target, usable as the PacketPath of a QuicEndpoint.
 * `send(pkt, to)` ignores `to` (one target per session). `remote` is the nominal peer address
 * to pass as `peer` to `QuicEndpoint.connect` (received packets report it as `from`).
 * Not safe to share between event loops. `close()` ends the stream (FIN) and is idempotent.
 */
export class ConnectUdpSession implements PacketPath, H3StreamHandler {
  readonly local: HostPort;
  readonly remote: HostPort;
  readonly stats: SessionStats = newSessionStats();
  /** Resolves once the tunnel is gone (closed by us, ended or reset by the proxy, connection lost). */
  readonly closed: Promise<void>;
  private stream: H3Stream | null = null;
  private handler: ((pkt: Uint8Array, from: HostPort) => void) | null = null;
  private isClosed = false;
  private resolveClosed!: () => void;
  private scratch = new Uint8Array(2048);
  /** @internal Forwarded mode, when the proxy accepted it (set by openConnectUdp). */
  fwd: ClientForwarding | null = null;

  /** @internal use openConnectUdp() */
  constructor(private readonly h3: ClientH3Driver, o: ConnectUdpOptions) {
    this.local = o.local ?? { host: '127.0.0.1', port: 1 };
    const ip = parseIpAddress(o.targetHost.replace(/^\[|\]$/g, ''));
    this.remote = { host: ip ? formatIpAddress(ip.version, ip.bytes) : '127.0.0.2', port: o.targetPort };
    this.closed = new Promise((r) => (this.resolveClosed = r));
  }

  /** @internal */
  attach(stream: H3Stream): void {
    this.stream = stream;
    if (this.isClosed) stream.end();
  }

  /** The largest UDP payload that fits one datagram now (0 when closed). */
  get maxPayloadBytes(): number {
    if (this.isClosed || !this.stream) return 0;
    // null: DATAGRAM capsules, bounded by RFC 9298 §5 instead.
    return maxContextPayloadBytes(this.stream.maxDatagramPayloadBytes()) ?? MAX_UDP_PAYLOAD_BYTES;
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  /** Fields of the proxy's 2xx response (e.g. the relay's `masque-noise` answer); [] before it. */
  get responseFields(): readonly FieldLine[] {
    return this.stream?.response?.fields ?? [];
  }

  /** The request stream id (-1 before the response). */
  get streamId(): number {
    return this.stream?.id ?? -1;
  }

  send(pkt: Uint8Array, _to?: HostPort): void {
    const s = this.stream;
    if (this.isClosed || s === null || pkt.length > MAX_UDP_PAYLOAD_BYTES) {
      this.stats.drops++; // RFC 9298 §5: MUST NOT send more than 65527 bytes with context 0
      return;
    }
    if (this.fwd?.send(pkt)) {
      this.stats.txPackets++;
      this.stats.txBytes += pkt.length;
      return;
    }
    const q = this.h3.quic;
    let isSent: boolean;
    if (this.h3.isDatagramEnabled && q !== null) {
      const off = 16;
      if (this.scratch.length < off + pkt.length) this.scratch = new Uint8Array(off + pkt.length);
      this.scratch.set(pkt, off);
      const start = writeDatagramHeader(this.scratch, off, s.id, CONTEXT_ID_PAYLOAD);
      isSent = q.dgramSend(this.scratch.subarray(start, off + pkt.length));
      q.wake();
    } else {
      // RFC 9297 §3.5: DATAGRAM capsule when QUIC DATAGRAMs are not available.
      const payload = new Uint8Array(1 + pkt.length); // Context ID 0 is one byte
      payload.set(pkt, 1);
      isSent = s.sendDatagram(payload);
    }
    if (!isSent) {
      this.stats.drops++;
      return;
    }
    this.stats.txPackets++;
    this.stats.txBytes += pkt.length;
  }

  onReceive(handler: (pkt: Uint8Array, from: HostPort) => void): void {
    this.handler = handler;
  }

  /**
   * PacketPath.flush: the endpoint above us (the client's inner QUIC) finished a send burst.
   * Our carrier's flush was scheduled from inside that burst; run it now, not one event-loop
   * iteration later (a tunneled packet's latency, docs/benchmarks.md).
   */
  flush(): void {
    this.fwd?.flush();
    this.h3.quic?.flushNow?.();
  }

  /**
   * Registers the inner connection's CIDs with the proxy (no-op without forwarded mode); its
   * short-header packets are forwarded once the proxy acknowledges them.
   */
  startForwarding(clientCid: Uint8Array, targetCid: Uint8Array): void {
    this.fwd?.start(clientCid, targetCid);
  }

  /** After the outer connection migrated: new VCIDs, so none is seen on two paths. True when asked. */
  renewForwarding(): boolean {
    return this.fwd?.renew() ?? false;
  }

  /** Whether the proxy accepted forwarded mode for this tunnel. */
  get isForwarding(): boolean {
    return this.fwd !== null;
  }

  /** @internal A packet that arrived forwarded (ClientForwarding), as if tunnelled. */
  deliver(pkt: Uint8Array): void {
    if (this.isClosed) return;
    this.stats.rxPackets++;
    this.stats.rxBytes += pkt.length;
    this.handler?.(pkt, this.remote);
  }

  close(): void {
    if (this.isClosed) return;
    this.finish();
    this.stream?.end();
  }

  // ---- H3StreamHandler ----

  onDatagram(s: H3Stream, payload: Uint8Array): void {
    if (this.isClosed) return;
    const cp = parseContextPayload(payload);
    if (cp === null || cp.ctxId !== CONTEXT_ID_PAYLOAD) {
      this.stats.drops++; // RFC 9298 §5: unknown Context ID → drop silently
      return;
    }
    if (cp.payload.length > MAX_UDP_PAYLOAD_BYTES) {
      this.stats.drops++;
      this.finish();
      s.reset(H3_MESSAGE_ERROR); // RFC 9298 §5: MUST abort the stream
      return;
    }
    this.stats.rxPackets++;
    this.stats.rxBytes += cp.payload.length;
    this.handler?.(cp.payload, this.remote);
  }

  onCapsule(s: H3Stream, type: number, value: Uint8Array): void {
    // RFC 9297 §3.2: unknown capsule types are skipped silently.
    if (this.fwd === null || this.isClosed) return;
    try {
      this.fwd.onCapsule(type, value);
    } catch (e) {
      this.finish();
      s.reset(e instanceof CapsuleError ? cidCapsuleErrorH3Code(e) : H3_MESSAGE_ERROR);
    }
  }

  onData(): void {
    // Not reachable with the Capsule Protocol; ignore.
  }

  onEnd(s: H3Stream): void {
    // The proxy closed the tunnel (e.g. idle timeout, RFC 9298 §3.1): close our side too.
    const wasOpen = !this.isClosed;
    this.finish();
    if (wasOpen) s.end();
  }

  onReset(): void {
    this.finish();
  }

  private finish(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.handler = null;
    this.fwd?.close();
    this.resolveClosed();
  }
}
