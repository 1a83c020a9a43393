/**
 * The one client of the control API, shared by relay-cli and the tray app (Tailscale's
 * client/local). One method per route; every failure is a ControlError with a stable code,
 * rebuilt from the daemon's `{ error: { code, message } }` body when there is one.
 *
 * Imports only node:http/node:fs and control/schema+errors+socket, so `relay-cli status` loads fast.
 */
import http from 'node:http';
import {
  API_VERSION,
  DEFAULT_SOCKET_PATH,
  VERSION_HEADER,
  type ClientConfigView,
  type ConfigPatch,
  type ConnectOptions,
  type ControlEvent,
  type EventsQuery,
  type RelayInfo,
  type StatusResponse,
  type TunnelStats,
  type VersionResponse,
} from './schema.js';
import { ControlError, CONTROL_CODES } from './errors.js';
import { verifyOwnership } from './socket.js';

export interface ControlClientOptions {
  /** Default: env MASQUE_SOCKET, else /run/masque/daemon.sock. */
  socketPath?: string;
  /** Per-request timeout for plain requests (not event streams). Default 10 s. */
  timeoutMs?: number;
  /** Called once per client when the daemon's Masque-Version differs from ours. Default: ignore. */
  onWarning?: (message: string) => void;
  /** Check the socket's owner before each connection (root or us). Default true. */
  checkOwner?: boolean;
  /** The version this client speaks; tests override it to provoke a mismatch. */
  apiVersion?: string;
}

/** An open NDJSON event stream. Iterate it once; `close()` (or `break`) ends it. */
export interface EventStream extends AsyncIterable<ControlEvent> {
  close(): void;
}

/** Socket path from env MASQUE_SOCKET or the default. */
export function defaultSocketPath(): string {
  return process.env.MASQUE_SOCKET || DEFAULT_SOCKET_PATH;
}

/**
 * A control API client. Stateless apart from the once-only version warning, so one instance
 * may run concurrent requests.
 */
export class ControlClient {
  readonly socketPath: string;
  private readonly timeoutMs: number;
  private readonly onWarning: (message: string) => void;
  private readonly checkOwner: boolean;
  private readonly apiVersion: string;
  private hasWarned = false;

  constructor(opts: ControlClientOptions = {}) {
    this.socketPath = opts.socketPath ?? defaultSocketPath();
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.onWarning = opts.onWarning ?? (() => {});
    this.checkOwner = opts.checkOwner ?? true;
    this.apiVersion = opts.apiVersion ?? API_VERSION;
  }

  status(): Promise<StatusResponse> {
    return this.request('GET', '/v0/status');
  }
  version(): Promise<VersionResponse> {
    return this.request('GET', '/v0/version');
  }
  stats(): Promise<TunnelStats> {
    return this.request('GET', '/v0/stats');
  }
  /** Probes every relay; allows 3× the normal timeout because each probe is a handshake. */
  async relays(): Promise<RelayInfo[]> {
    const r = await this.request<{ relays: RelayInfo[] }>('GET', '/v0/relays', undefined, this.timeoutMs * 3);
    return r.relays;
  }
  getConfig(): Promise<ClientConfigView> {
    return this.request('GET', '/v0/config');
  }
  setConfig(patch: ConfigPatch): Promise<ClientConfigView> {
    return this.request('PATCH', '/v0/config', patch);
  }
  /** Starts an attempt and returns at once; follow progress with `events()`. */
  connect(opts: ConnectOptions = {}): Promise<StatusResponse> {
    return this.request('POST', '/v0/connect', opts);
  }
  disconnect(): Promise<StatusResponse> {
    return this.request('POST', '/v0/disconnect', {});
  }

  /**
   * Open `GET /v0/events`. Resolves once the daemon accepted the stream, so a caller can
   * subscribe first and then `connect()` without missing a state change. The first event is
   * always the current state.
   */
  async events(q: EventsQuery = {}): Promise<EventStream> {
    const params = new URLSearchParams();
    if (q.statsIntervalMs) params.set('stats', String(q.statsIntervalMs));
    if (q.logs) params.set('logs', '1');
    const path = '/v0/events' + (params.toString() !== '' ? `?${params}` : '');
    const { req, res } = await this.open('GET', path, undefined, 0);
    if ((res.statusCode ?? 0) >= 300) throw await this.errorFrom(res);
    let isClosed = false;
    const close = (): void => {
      isClosed = true;
      req.destroy();
    };
    async function* lines(): AsyncGenerator<ControlEvent> {
      let buf = '';
      try {
        for await (const chunk of res as AsyncIterable<Buffer>) {
          buf += chunk.toString('utf8');
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (line !== '') yield parseEvent(line);
          }
        }
      } catch (e) {
        if (!isClosed) throw new ControlError(CONTROL_CODES.DAEMON_UNREACHABLE, 'event stream from the daemon broke', { cause: e });
      } finally {
        close();
      }
    }
    const it = lines();
    return { [Symbol.asyncIterator]: () => it, close };
  }

  /** One JSON request/response. Rejects with a ControlError. */
  private async request<T>(method: string, path: string, body?: unknown, timeoutMs = this.timeoutMs): Promise<T> {
    const { res } = await this.open(method, path, body, timeoutMs);
    const text = await readAll(res);
    if ((res.statusCode ?? 0) >= 300) throw errorFromText(res.statusCode ?? 0, text);
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw new ControlError(CONTROL_CODES.PROTOCOL, `daemon sent invalid JSON for ${method} ${path}`, { cause: e });
    }
  }

  /** Send the request and wait for response headers; maps socket errors to stable codes. */
  private async open(method: string, path: string, body: unknown, timeoutMs: number): Promise<{ req: http.ClientRequest; res: http.IncomingMessage }> {
    if (this.checkOwner) await verifyOwnership(this.socketPath);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = http.request({
        socketPath: this.socketPath,
        path,
        method,
        headers: {
          Accept: 'application/json',
          'Masque-Version': this.apiVersion,
          ...(payload !== undefined ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) } : {}),
        },
      });
      if (timeoutMs > 0) {
        req.setTimeout(timeoutMs, () => {
          req.destroy(new ControlError(CONTROL_CODES.TIMEOUT, `daemon did not answer ${method} ${path} within ${timeoutMs} ms`));
        });
      }
      req.once('error', (e) => reject(this.mapSocketError(e)));
      req.once('response', (res) => {
        if (timeoutMs > 0) req.setTimeout(0);
        this.checkVersion(res);
        resolve({ req, res });
      });
      req.end(payload);
    });
  }

  private checkVersion(res: http.IncomingMessage): void {
    const theirs = res.headers[VERSION_HEADER];
    if (this.hasWarned || theirs === this.apiVersion) return;
    this.hasWarned = true;
    this.onWarning(
      theirs === undefined
        ? `daemon sent no Masque-Version header (client speaks ${this.apiVersion})`
        : `daemon speaks control API ${String(theirs)}, this client ${this.apiVersion}; update one of them`,
    );
  }

  private mapSocketError(e: Error): Error {
    if (e instanceof ControlError) return e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'ENOTSOCK') {
      return new ControlError(CONTROL_CODES.DAEMON_UNREACHABLE, `cannot reach the daemon at ${this.socketPath} (is \`relay-cli daemon\` running?)`, { cause: e });
    }
    if (code === 'EACCES' || code === 'EPERM') {
      return new ControlError(CONTROL_CODES.PERMISSION_DENIED, `permission denied on ${this.socketPath} (are you in group masque?)`, { cause: e });
    }
    return new ControlError(CONTROL_CODES.DAEMON_UNREACHABLE, `control socket error: ${e.message}`, { cause: e });
  }

  private async errorFrom(res: http.IncomingMessage): Promise<ControlError> {
    return errorFromText(res.statusCode ?? 0, await readAll(res));
  }
}

async function readAll(res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

/** Rebuild a ControlError from an error response; never trusts its shape blindly. */
function errorFromText(status: number, text: string): ControlError {
  try {
    const err = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error;
    if (err && typeof err.code === 'string' && typeof err.message === 'string') {
      return new ControlError(err.code, err.message, { httpStatus: status });
    }
  } catch {
    // fall through: not our error body
  }
  return new ControlError(CONTROL_CODES.PROTOCOL, `daemon answered HTTP ${status} without an error body`, { httpStatus: status });
}

function parseEvent(line: string): ControlEvent {
  try {
    const v = JSON.parse(line) as ControlEvent;
    if (v && typeof v === 'object' && typeof v.type === 'string') return v;
  } catch {
    // fall through
  }
  throw new ControlError(CONTROL_CODES.PROTOCOL, 'daemon sent a malformed event line');
}
