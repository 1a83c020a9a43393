/**
 * The control API contract shared by the daemon (server.ts), its one client (client.ts, used
 * by relay-cli and the tray app) and the tunnel engine that the daemon hosts (TunnelBackend).
 *
 * Transport: HTTP/1.1 + JSON over a Unix socket (Tailscale LocalAPI style, STYLE.md §2).
 * Every response carries the `Masque-Version` header; errors are `{ error: { code, message } }`
 * with an HTTP status. `GET /v0/events` streams NDJSON (one ControlEvent per line).
 *
 * This file is types and constants only: no I/O, so cli/ can import it and stay fast.
 */

/**
 * Version of this API, sent in every response as `Masque-Version`. `MAJOR.MINOR`: MAJOR
 * also appears in route paths (`/v0/…`); a MINOR bump only adds fields or routes. The
 * client warns once when the daemon's value differs from its own.
 */
export const API_VERSION = '0.3';
/** The response header that carries API_VERSION. Lower case, as node:http reports it. */
export const VERSION_HEADER = 'masque-version';
/** Default socket path of the daemon; overridden by `--socket` or env MASQUE_SOCKET. */
export const DEFAULT_SOCKET_PATH = '/run/masque/daemon.sock';
/** Group that owns the socket (mode 0660) when it exists on the system. */
export const DEFAULT_SOCKET_GROUP = 'masque';

/** Where an attempt is; in order for a two-hop chain (single hop skips `connecting-egress`). */
export type ConnectStage = 'resolving' | 'connecting-ingress' | 'connecting-egress' | 'assigning-address';
/** All stages in order, for progress displays. */
export const CONNECT_STAGES: readonly ConnectStage[] = ['resolving', 'connecting-ingress', 'connecting-egress', 'assigning-address'];

/** One hop of the active chain. `proxy` is a third-party CONNECT-IP proxy (template mode). */
export interface ChainHop {
  role: 'ingress' | 'egress' | 'proxy';
  /** Relay name from the client config; absent for a template proxy. */
  name?: string;
  /** `host:port` as configured (not resolved). */
  address: string;
}

/**
 * The tunnel's state, a discriminated union on `state` (Mullvad's TunnelState). Timestamps are
 * ISO-8601 strings so the value survives JSON unchanged. `error.code` is a stable error code
 * (e.g. `ERR_TUNNEL_HANDSHAKE`); the message is for humans only.
 */
export type TunnelState =
  | { state: 'disconnected' }
  /**
   * `blocked`: traffic outside the tunnel is held by the engine's nft block (from the moment
   * the relays are chosen until a tunnel is up). Absent or false: it is not (still resolving,
   * no nft, or a daemon before API 0.2).
   */
  | { state: 'connecting'; stage: ConnectStage; blocked?: boolean }
  | {
    state: 'connected'; chain: ChainHop[]; addresses: string[]; routes: string[]; since: string;
    /**
     * The TUN's MTU, and whether 1280-byte packets were seen crossing the whole chain (RFC 9484
     * §7.2 probe: 'verified'; 'unanswered': the relay answers no echo; null: not probed, e.g. no
     * IPv6 address). Optional: a daemon of an earlier version does not send them.
     */
    mtu?: number; mtuProbe?: 'verified' | 'unanswered' | null;
    /**
     * Two hops: whether the ingress accepted forwarded mode for the inner connection
     * (draft-ietf-masque-quic-proxy-07; docs/masque.md). Absent for one hop and from daemons
     * before it existed.
     */
    forwarding?: boolean;
  }
  | { state: 'reconnecting'; attempt: number; stage: ConnectStage; blocked?: boolean }
  | { state: 'error'; code: string; message: string };

export type TunnelStateName = TunnelState['state'];

/** Counters of the current session (all zero / null while disconnected). */
export interface TunnelStats {
  /**
   * Smoothed RTT to the first hop in ms; null when unknown. Whole milliseconds, rounded down:
   * the quiche binding (@matrixai/quic 2.0.9) gives PathStats.rtt as `Duration::as_millis()`,
   * so a sub-millisecond path (a LAN relay) reads 0 and 1.9 ms reads 1 (docs/control-api.md).
   */
  rttMs: number | null;
  /** Bytes of IP packets sent into the tunnel / received from it. */
  bytesUp: number;
  bytesDown: number;
  packetsUp: number;
  packetsDown: number;
  /** Packets dropped locally (queue full, malformed, too big). */
  packetsDropped: number;
  /** Milliseconds since the state became `connected`; null when not connected. */
  uptimeMs: number | null;
}

/** A configured relay as reported by `GET /v0/relays`. */
export interface RelayInfo {
  name: string;
  address: string;
  role: 'ingress' | 'egress' | 'both';
  /** Base64 Curve25519 public key. */
  publicKey: string;
  /** Measured handshake latency in ms, or null when the probe failed. */
  latencyMs: number | null;
  /** Error code of a failed probe. */
  errorCode?: string;
}

/** Options of one connect; every field overrides the daemon's config for this attempt only. */
export interface ConnectOptions {
  /** Force single hop through `relay` (or the config's proxy template). */
  singleHop?: boolean;
  /** Relay names from the config. */
  ingress?: string;
  egress?: string;
  relay?: string;
}

/**
 * The client config as the API shows it. It has the shape of config/client.ts's ClientConfig
 * (repeated here so that cli/ does not import config/), with secrets replaced by `"<redacted>"`.
 */
export type ClientConfigView = Record<string, unknown>;

/**
 * A partial update of the client config: top-level keys of ClientConfig in camelCase
 * (e.g. `{ killSwitch: true, dns: { servers: ["9.9.9.9"] } }`). Objects are replaced
 * as a whole, not merged. The backend validates and rejects with ERR_CONFIG_INVALID.
 */
export type ConfigPatch = Record<string, unknown>;

/** A log line forwarded to event subscribers (from the daemon's pino logger). */
export interface LogLine {
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  msg: string;
  mod?: string;
}

/**
 * One NDJSON line of `GET /v0/events`. The first line of every stream is a `state` event with
 * the current state, so a subscriber never misses where things stand. `at` is ISO-8601.
 */
export type ControlEvent =
  | { type: 'state'; state: TunnelState; at: string }
  | { type: 'stats'; stats: TunnelStats; at: string }
  | { type: 'log'; log: LogLine; at: string };

/** What a backend reports to the daemon. Stats ticks are made by the server (it polls stats()). */
export type BackendEvent = { type: 'state'; state: TunnelState } | { type: 'log'; log: LogLine };

/**
 * The engine the daemon hosts; `src/client/engine.ts` `createEngine()` returns one and
 * test/helpers/fake-backend.ts is its double.
 *
 * Contract:
 * - `connect` starts an attempt and resolves with the state right after starting it
 *   (normally `connecting`); progress and the outcome arrive as `state` events. It rejects
 *   (a MasqueError with a code) only when no attempt could start, e.g. an invalid relay name.
 *   Connecting while connected or connecting restarts nothing and returns the current state.
 * - `disconnect` tears the tunnel down, restores routes and DNS, and resolves with
 *   `disconnected`. Idempotent.
 * - `status`, `stats` and `getConfig` are synchronous snapshots and never throw.
 * - `relays` probes every configured relay (a handshake each, in parallel, bounded by a timeout).
 * - `setConfig` validates and applies a patch; it applies on the next connect.
 * - `subscribe` calls the listener synchronously for each event, in order; the returned
 *   function unsubscribes. Listeners must not throw.
 * - `close` disconnects and releases everything; the daemon calls it once on shutdown.
 * Calls may overlap (several API clients); the backend serialises connect/disconnect itself.
 */
export interface TunnelBackend {
  connect(opts: ConnectOptions): Promise<TunnelState>;
  disconnect(): Promise<TunnelState>;
  status(): TunnelState;
  stats(): TunnelStats;
  relays(): Promise<RelayInfo[]>;
  getConfig(): ClientConfigView;
  setConfig(patch: ConfigPatch): Promise<ClientConfigView>;
  subscribe(listener: (ev: BackendEvent) => void): () => void;
  close(): Promise<void>;
}

/** `GET /v0/status`. */
export interface StatusResponse {
  state: TunnelState;
  stats: TunnelStats;
  daemon: { pid: number; version: string; apiVersion: string; startedAt: string };
}

/** `GET /v0/version`. */
export interface VersionResponse {
  version: string;
  apiVersion: string;
}

/** The error body of every non-2xx response. */
export interface ErrorBody {
  error: { code: string; message: string };
}

/** Read routes work on every socket; write routes are refused on a read-only socket. */
export type Access = 'read' | 'write';

/** Route table: `METHOD path` → access level and body/response types (documentation + server map). */
export const ROUTES = {
  'GET /v0/status': { access: 'read' },
  'GET /v0/version': { access: 'read' },
  'GET /v0/stats': { access: 'read' },
  'GET /v0/relays': { access: 'read' },
  'GET /v0/events': { access: 'read' },
  'GET /v0/config': { access: 'read' },
  'PATCH /v0/config': { access: 'write' },
  'POST /v0/connect': { access: 'write' },
  'POST /v0/disconnect': { access: 'write' },
} as const satisfies Record<string, { access: Access }>;

export type RouteKey = keyof typeof ROUTES;

/** Query of `GET /v0/events`: `stats=MS` adds a stats tick every MS ms (≥100); `logs=1` adds log lines. */
export interface EventsQuery {
  statsIntervalMs?: number;
  logs?: boolean;
}

/** A zeroed TunnelStats, for backends that are not connected. */
export function emptyStats(): TunnelStats {
  return { rttMs: null, bytesUp: 0, bytesDown: 0, packetsUp: 0, packetsDown: 0, packetsDropped: 0, uptimeMs: null };
}

/** True for the states in which an attempt is still running (a waiter keeps waiting). */
export function isBusy(s: TunnelState): boolean {
  return s.state === 'connecting' || s.state === 'reconnecting';
}
