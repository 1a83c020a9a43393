/**
 * The daemon side of the control API: node:http over one or more Unix sockets, a route →
 * handler map with a read/write split, the `Masque-Version` header on every response, JSON
 * errors `{ error: { code, message } }`, and NDJSON event streams (Tailscale's ipn/localapi).
 *
 * The server does not own the backend: the daemon creates the backend, hands it in, and
 * closes it after `server.close()`.
 */
import http from 'node:http';
import type { Logger } from 'pino';
import {
  API_VERSION,
  ROUTES,
  type Access,
  type BackendEvent,
  type ConnectOptions,
  type ControlEvent,
  type LogLine,
  type RouteKey,
  type StatusResponse,
  type TunnelBackend,
} from './schema.js';
import { ControlError, CONTROL_CODES, errorBody, httpStatusFor } from './errors.js';
import { prepareSocketPath, removeSocket, secureSocket } from './socket.js';
import { redactSecrets } from './redact.js';

/** Largest request body we accept; config patches are tiny. */
const MAX_BODY_BYTES = 64 * 1024;
/** A subscriber that falls this far behind is cut off rather than buffered without bound. */
const MAX_STREAM_BACKLOG_BYTES = 1 << 20;
const MIN_STATS_INTERVAL_MS = 100;

export interface ControlServerOptions {
  backend: TunnelBackend;
  log: Logger;
  /** Package version reported in status and /v0/version. */
  version?: string;
}

/** One socket to listen on. */
export interface ListenOptions {
  path: string;
  /** File mode of the socket; default 0o660. */
  mode?: number;
  /** Group name or numeric gid to chown the socket to, if it exists; null to skip. Default `masque`. */
  group?: string | null;
  /** `read` serves only read routes (403 ERR_CONTROL_FORBIDDEN for writes). Default `write`. */
  access?: Access;
}

interface Ctx {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  url: URL;
}
type Handler = (ctx: Ctx) => Promise<unknown>;

interface Subscriber {
  res: http.ServerResponse;
  wantsLogs: boolean;
  timer: NodeJS.Timeout | null;
}

/**
 * Serves the control API for one backend. `listen` may be called once per socket; `close`
 * stops all of them, ends open event streams and removes the socket files. Safe to call
 * `publish` at any time (no-op without subscribers).
 */
export class ControlServer {
  private readonly backend: TunnelBackend;
  private readonly log: Logger;
  private readonly version: string;
  private readonly startedAt = new Date().toISOString();
  private readonly servers: { server: http.Server; path: string }[] = [];
  private readonly subscribers = new Set<Subscriber>();
  private readonly handlers: Record<RouteKey, Handler>;
  private readonly unsubscribe: () => void;
  private isClosed = false;

  constructor(opts: ControlServerOptions) {
    this.backend = opts.backend;
    this.log = opts.log;
    this.version = opts.version ?? API_VERSION;
    this.handlers = this.makeHandlers();
    this.unsubscribe = this.backend.subscribe((ev) => this.onBackendEvent(ev));
  }

  /** Bind a socket (removing a stale one), then set its mode and group. */
  async listen(opts: ListenOptions): Promise<void> {
    const access = opts.access ?? 'write';
    await prepareSocketPath(opts.path);
    const server = http.createServer((req, res) => void this.dispatch(req, res, access));
    // The socket file is created by bind() with the umask applied; tighten the umask around
    // the synchronous bind so the file never exists with looser permissions than 0660.
    const oldMask = process.umask(0o117);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.path, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(oldMask);
    }
    this.servers.push({ server, path: opts.path });
    const group = opts.group === undefined ? 'masque' : opts.group;
    const gid = await secureSocket(opts.path, opts.mode ?? 0o660, group);
    this.log.info({ socket: opts.path, access, gid }, 'control API listening');
    if (group !== null && gid === null) {
      // Not fatal (root can still use it), but otherwise `relay-cli status` as a user fails later
      // with a permission error that does not say why.
      this.log.warn({ socket: opts.path, group }, `group ${group} not found: only root can use the control socket (groupadd ${group}; usermod -aG ${group} USER)`);
    }
  }

  /** Send a log line to subscribers that asked for logs (`/v0/events?logs=1`). */
  publish(log: LogLine): void {
    this.broadcast({ type: 'log', log, at: new Date().toISOString() }, true);
  }

  /** Stop listening, end streams, drop idle connections, remove socket files. Idempotent. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.unsubscribe();
    for (const sub of this.subscribers) this.dropSubscriber(sub, true);
    await Promise.all(
      this.servers.map(async ({ server, path }) => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
        await removeSocket(path);
      }),
    );
  }

  private makeHandlers(): Record<RouteKey, Handler> {
    const b = this.backend;
    return {
      'GET /v0/status': async () => this.statusBody(),
      'GET /v0/version': async () => ({ version: this.version, apiVersion: API_VERSION }),
      'GET /v0/stats': async () => b.stats(),
      'GET /v0/relays': async () => ({ relays: await b.relays() }),
      'GET /v0/config': async () => redactSecrets(b.getConfig()),
      'PATCH /v0/config': async ({ req }) => redactSecrets(await b.setConfig(await readJson(req))),
      'POST /v0/connect': async ({ req }) => {
        await b.connect(parseConnectOptions(await readJson(req)));
        return this.statusBody();
      },
      'POST /v0/disconnect': async () => {
        await b.disconnect();
        return this.statusBody();
      },
      'GET /v0/events': async (ctx) => this.openStream(ctx),
    };
  }

  private statusBody(): StatusResponse {
    return {
      state: this.backend.status(),
      stats: this.backend.stats(),
      daemon: { pid: process.pid, version: this.version, apiVersion: API_VERSION, startedAt: this.startedAt },
    };
  }

  private async dispatch(req: http.IncomingMessage, res: http.ServerResponse, access: Access): Promise<void> {
    res.setHeader('Masque-Version', API_VERSION);
    const url = new URL(req.url ?? '/', 'http://daemon');
    const key = `${req.method ?? 'GET'} ${url.pathname}` as RouteKey;
    try {
      const route = ROUTES[key];
      if (route === undefined) throw routeError(url.pathname);
      if (route.access === 'write' && access !== 'write') {
        throw new ControlError(CONTROL_CODES.FORBIDDEN, `${key} needs the read-write socket`, { httpStatus: 403 });
      }
      const body = await this.handlers[key]({ req, res, url });
      if (body === STREAMING) return;
      sendJson(res, 200, body);
    } catch (e) {
      const status = httpStatusFor(e);
      if (status >= 500) this.log.error({ err: e, route: key }, 'control request failed');
      else this.log.debug({ code: (e as ControlError).code, route: key }, 'control request refused');
      if (res.headersSent) res.destroy();
      else sendJson(res, status, errorBody(e), status === 405 ? { Allow: allowedMethods(url.pathname).join(', ') } : undefined);
    }
  }

  private openStream({ req, res, url }: Ctx): typeof STREAMING {
    const statsMs = Number(url.searchParams.get('stats') ?? 0);
    const sub: Subscriber = { res, wantsLogs: url.searchParams.get('logs') === '1', timer: null };
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-store' });
    this.subscribers.add(sub);
    this.write(sub, { type: 'state', state: this.backend.status(), at: new Date().toISOString() });
    if (Number.isFinite(statsMs) && statsMs > 0) {
      sub.timer = setInterval(() => {
        this.write(sub, { type: 'stats', stats: this.backend.stats(), at: new Date().toISOString() });
      }, Math.max(MIN_STATS_INTERVAL_MS, statsMs));
    }
    const drop = (): void => this.dropSubscriber(sub, false);
    req.once('close', drop);
    res.once('close', drop);
    return STREAMING;
  }

  private onBackendEvent(ev: BackendEvent): void {
    const at = new Date().toISOString();
    if (ev.type === 'state') this.broadcast({ type: 'state', state: ev.state, at }, false);
    else this.broadcast({ type: 'log', log: ev.log, at }, true);
  }

  private broadcast(ev: ControlEvent, isLog: boolean): void {
    for (const sub of this.subscribers) if (!isLog || sub.wantsLogs) this.write(sub, ev);
  }

  private write(sub: Subscriber, ev: ControlEvent): void {
    if (sub.res.writableLength > MAX_STREAM_BACKLOG_BYTES) {
      this.log.warn('dropping a slow event subscriber');
      this.dropSubscriber(sub, false);
      sub.res.destroy();
      return;
    }
    sub.res.write(JSON.stringify(ev) + '\n');
  }

  private dropSubscriber(sub: Subscriber, end: boolean): void {
    if (sub.timer) clearInterval(sub.timer);
    sub.timer = null;
    this.subscribers.delete(sub);
    if (end && !sub.res.writableEnded) sub.res.end();
  }
}

/** Marker returned by a handler that has taken over the response (NDJSON stream). */
const STREAMING = Symbol('streaming');

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function allowedMethods(pathname: string): string[] {
  return Object.keys(ROUTES)
    .map((k) => k.split(' '))
    .filter(([, p]) => p === pathname)
    .map(([m]) => m as string);
}

function routeError(pathname: string): ControlError {
  if (allowedMethods(pathname).length > 0) {
    return new ControlError(CONTROL_CODES.METHOD_NOT_ALLOWED, `method not allowed on ${pathname}`, { httpStatus: 405 });
  }
  return new ControlError(CONTROL_CODES.NOT_FOUND, `no route ${pathname}`, { httpStatus: 404 });
}

/** Read a JSON object body (empty body = `{}`); 400/413 ControlErrors otherwise. */
async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY_BYTES) {
      throw new ControlError(CONTROL_CODES.BODY_TOO_LARGE, `request body over ${MAX_BODY_BYTES} bytes`, { httpStatus: 413 });
    }
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ControlError(CONTROL_CODES.BAD_REQUEST, 'request body is not valid JSON', { cause: e, httpStatus: 400 });
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new ControlError(CONTROL_CODES.BAD_REQUEST, 'request body must be a JSON object', { httpStatus: 400 });
  }
  return v as Record<string, unknown>;
}

/** Validate a connect body: only known keys, each of the right type. */
export function parseConnectOptions(body: Record<string, unknown>): ConnectOptions {
  const out: ConnectOptions = {};
  for (const [k, v] of Object.entries(body)) {
    if (k === 'singleHop' && typeof v === 'boolean') out.singleHop = v;
    else if ((k === 'ingress' || k === 'egress' || k === 'relay') && typeof v === 'string' && v !== '') out[k] = v;
    else throw new ControlError(CONTROL_CODES.BAD_REQUEST, `connect: bad or unknown field "${k}"`, { httpStatus: 400 });
  }
  return out;
}
