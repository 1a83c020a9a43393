/**
 * Per-request decisions of the relay: authenticate (once per QUIC connection: the Noise
 * hello rides the first extended CONNECT, docs/protocol/auth.md), parse and validate the
 * MASQUE request, apply the role (an ingress only forwards CONNECT-UDP to allowlisted
 * egress relays and never serves CONNECT-IP; an egress serves both), then hand the
 * stream to the proxy. Every refusal is an HTTP status with a Proxy-Status (RFC 9209).
 *
 * Privacy (the two-hop split): at info level the ingress logs no destination and the
 * egress logs no client address. Neither goes into a metric label.
 */
import type { Logger } from 'pino';
import type { H3Stream } from '../h3/h3-stream.js';
import type { FieldLine } from '../h3/qpack/types.js';
import type { QuicConnHandle } from '../quic/app.js';
import type { Authorizer, Principal } from '../identity/authorizer.js';
import { parseProxyRequest, type ProxyRequestOptions } from '../masque/proxy-request.js';
import { errToStatus, formatProxyStatus } from '../masque/proxy-status.js';
import type { ConnectUdpProxy } from '../masque/connect-udp-proxy.js';
import type { ConnectIpProxy } from '../masque/connect-ip-proxy.js';
import type { RelayMetrics, SessionKind } from './metrics.js';

export const PROXY_NAME = 'masque-relay';

/** What one QUIC connection has established so far. */
export interface ConnState {
  principal: Principal | null;
  /** Response headers from authentication (the Noise response) for the first 2xx. */
  authHeaders: FieldLine[];
}

export interface RouterDeps {
  role: 'ingress' | 'egress' | 'both';
  authorizer: () => Authorizer;
  tlsCertSha256: Uint8Array;
  parseOptions: ProxyRequestOptions;
  udpProxy: ConnectUdpProxy;
  ipProxy: ConnectIpProxy | null;
  metrics: RelayMetrics;
  limits: { maxSessionsPerClient: number };
  log: Logger;
}

/**
 * A handler for requests that are not extended CONNECT (today: the Privacy Pass issuer,
 * src/privacy/issuer-route.ts). It rides the Authorizer object (`requestHandler`) so it is
 * rebuilt with the auth policy on reload without new RelayServer plumbing. `handle`
 * returns false for a request it does not serve; the router then answers as before.
 */
export interface PlainRequestHandler {
  handle(r: {
    stream: H3Stream; method: string; path: string; fields: FieldLine[];
    authenticate(): boolean; principal(): Principal | null; takeAuthHeaders(): FieldLine[]; done(status: number): void;
  }): boolean;
}

/** A stable, log-safe key for per-client accounting (never an address for the egress). */
export function principalKey(p: Principal): string {
  switch (p.kind) {
    case 'noise':
      return `noise:${p.publicKey}`;
    case 'bearer':
      return `bearer:${p.tokenId}`;
    case 'trusted-ingress':
      return p.via === 'address' ? `ingress:${p.rule}` : `ingress-key:${p.publicKey}`;
    default:
      return p.kind;
  }
}

/** Identities that stand for many clients (no per-client limits): an ingress, token holders. */
export function isAggregatePrincipal(p: Principal): boolean {
  return p.kind === 'trusted-ingress' || p.kind === 'private-token';
}

export class RequestRouter {
  private readonly sessionsByClient = new Map<string, number>();

  constructor(private readonly d: RouterDeps) {}

  onRequest(qc: QuicConnHandle, st: ConnState, stream: H3Stream, fields: FieldLine[]): void {
    const t0 = performance.now();
    const method = fields.find(([n]) => n === ':method')?.[1];
    if (method !== 'CONNECT' && this.onPlainRequest(qc, st, stream, fields, method ?? '', t0)) return;
    const kind: SessionKind = fields.some(([n, v]) => n === ':protocol' && v === 'connect-ip') ? 'connect-ip' : 'connect-udp';
    const done = (status: number) => this.d.metrics.requestDone(kind, status, (performance.now() - t0) / 1000);
    if (!st.principal && !this.authenticate(qc, st, stream, fields, done)) return;
    let req;
    try {
      req = parseProxyRequest(fields, this.d.parseOptions);
    } catch (e) {
      this.refuse(stream, e, done);
      return;
    }
    const key = principalKey(st.principal!);
    // Per-client limits apply to identities, not to aggregates: an ingress relay (or an
    // anonymous token holder) stands for many clients, and capping it would cap the egress.
    const max = isAggregatePrincipal(st.principal!) ? 0 : this.d.limits.maxSessionsPerClient;
    if (max > 0 && (this.sessionsByClient.get(key) ?? 0) >= max) {
      this.respondError(stream, 429, 'http_request_denied', 'too many sessions for this client', done);
      return;
    }
    const extra = st.authHeaders;
    st.authHeaders = [];
    this.track(stream, key, done);
    if (req.protocol === 'connect-udp') {
      // An ingress logs the target only when it is one of its egress relays: any other target
      // (a third-party or misconfigured client asking for a destination) is refused with 403
      // and must not land in the log beside the client's address. An egress/both relay logs
      // the target only at debug level.
      const target = `${req.targetHost}:${req.targetPort}`;
      if (this.d.role === 'ingress') {
        const isEgress = this.d.udpProxy.o.isTargetAllowed?.(req.targetHost, req.targetPort) ?? false;
        this.d.log.info({ kind: req.protocol, peer: qc.peer.host, ...(isEgress ? { target } : { target: 'refused: not an egress' }) }, 'session requested');
      } else {
        this.d.log.info({ kind: req.protocol, peer: qc.peer.host }, 'session requested');
        this.d.log.debug({ target }, 'connect-udp target');
      }
      this.d.udpProxy.handle(stream, req, extra, st.principal);
    } else if (this.d.ipProxy) {
      // For an egress the peer is the ingress relay (two hops): the client's address never
      // reaches this process.
      this.d.log.info({ kind: req.protocol, peer: qc.peer.host }, 'session requested');
      this.d.ipProxy.handle(stream, req, st.principal, extra);
    } else {
      this.respondError(stream, 501, 'proxy_internal_error', 'CONNECT-IP is not available on this relay', done);
    }
  }

  /** Non-CONNECT requests go to the authorizer's `requestHandler`, if any (PlainRequestHandler). */
  private onPlainRequest(qc: QuicConnHandle, st: ConnState, stream: H3Stream, fields: FieldLine[], method: string, t0: number): boolean {
    const h = (this.d.authorizer() as { requestHandler?: PlainRequestHandler | null }).requestHandler;
    if (!h) return false;
    const done = (status: number) => this.d.metrics.requestDone('plain', status, (performance.now() - t0) / 1000);
    return h.handle({
      stream, method, fields,
      path: fields.find(([n]) => n === ':path')?.[1] ?? '',
      authenticate: () => st.principal !== null || this.authenticate(qc, st, stream, fields, done),
      principal: () => st.principal,
      takeAuthHeaders: () => st.authHeaders.splice(0),
      done,
    });
  }

  /** Counts the session against its client until the stream ends; observes the response. */
  private track(stream: H3Stream, key: string, done: (status: number) => void): void {
    this.sessionsByClient.set(key, (this.sessionsByClient.get(key) ?? 0) + 1);
    let isReleased = false;
    const release = () => {
      if (isReleased) return;
      isReleased = true;
      const n = (this.sessionsByClient.get(key) ?? 1) - 1;
      if (n > 0) this.sessionsByClient.set(key, n);
      else this.sessionsByClient.delete(key);
    };
    const respond = stream.respond.bind(stream);
    stream.respond = (f, o) => {
      const status = Number(f.find(([n]) => n === ':status')?.[1] ?? 0);
      done(status);
      if (status >= 300) release();
      respond(f, o);
    };
    const reset = stream.reset.bind(stream);
    stream.reset = (code) => {
      release();
      reset(code);
    };
    // The proxy installs its handler inside handle(); wrap its end/reset after it did.
    queueMicrotask(() => {
      const h = stream.handler;
      if (!h) return;
      const onReset = h.onReset?.bind(h);
      const onEnd = h.onEnd?.bind(h);
      h.onReset = (s, c, l) => {
        release();
        onReset?.(s, c, l);
      };
      h.onEnd = (s) => {
        release();
        onEnd?.(s);
      };
    });
  }

  private authenticate(qc: QuicConnHandle, st: ConnState, stream: H3Stream, fields: FieldLine[], done: (s: number) => void): boolean {
    const r = this.d.authorizer().authorize({
      headers: fields,
      tlsCertSha256: this.d.tlsCertSha256,
      peerAddress: qc.peer.host,
      nowMs: Date.now(),
    });
    if (r && r.ok) {
      st.principal = r.principal;
      st.authHeaders = r.responseHeaders.map(([n, v]) => [n, v]);
      return true;
    }
    const status = r ? r.httpStatus : 403;
    const code = r && !r.ok ? r.code : 'ERR_AUTH_REQUIRED';
    this.d.metrics.authFailed(code);
    this.d.log.info({ code, status }, 'authentication refused');
    const headers: FieldLine[] = (r?.responseHeaders ?? []).map(([n, v]) => [n, v]);
    stream.respond([[':status', String(status)], ...headers, ['proxy-status', formatProxyStatus(PROXY_NAME, { error: 'http_request_denied', details: code })]], { endStream: true });
    done(status);
    return false;
  }

  private refuse(stream: H3Stream, e: unknown, done: (s: number) => void): void {
    const s = errToStatus(e);
    // A relay fault is worth a warning with its stack; 501 (a protocol this relay does not
    // serve, e.g. CONNECT-IP at an ingress) is the client's request, and any client could
    // fill the log with stacks by repeating it.
    if (s.httpStatus === 501) this.d.log.debug({ code: (e as { code?: string }).code }, 'request not served here');
    else if (s.httpStatus >= 500) this.d.log.warn({ err: e }, 'request failed');
    stream.respond([[':status', String(s.httpStatus)], ['proxy-status', formatProxyStatus(PROXY_NAME, s)]], { endStream: true });
    done(s.httpStatus);
  }

  private respondError(stream: H3Stream, status: number, error: string, details: string, done: (s: number) => void): void {
    stream.respond([[':status', String(status)], ['proxy-status', formatProxyStatus(PROXY_NAME, { error: error as never, details })]], { endStream: true });
    done(status);
  }
}
