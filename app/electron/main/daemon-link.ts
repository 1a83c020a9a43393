/**
 * The app's one connection to the daemon: follows `GET /v0/events` (state, 1 s stats ticks,
 * log lines), keeps what the window needs (60 s of throughput, recent logs, settings, relays)
 * and reconnects with backoff when the daemon goes away. No Electron here, so the tray, the
 * IPC handlers and the dev server all share it and it runs under plain Node in tests.
 *
 * The control client does the socket ownership check before every connection (Mullvad's
 * verifyOwnership); the link classifies its refusals so the UI can say what is wrong.
 */
import type { ControlClient } from '../../../src/control/client.js';
import type { ClientConfigView, ControlEvent, RelayInfo, TunnelState, TunnelStats } from '../../../src/control/schema.js';
import { CHART_WINDOW_MS, MAX_LOG_LINES, type AppSnapshot, type DaemonStatus, type LogEntry, type Settings, type StatsSample } from '../shared/ipc-schema.js';

/** The control client methods the link uses; tests may pass a ControlClient or a double. */
export type LinkClient = Pick<ControlClient, 'events' | 'connect' | 'disconnect' | 'getConfig' | 'setConfig' | 'relays' | 'socketPath'>;

/** Everything the link announces; listeners get each change once, in order. */
export type LinkEvent =
  | { type: 'daemon'; daemon: DaemonStatus }
  | { type: 'tunnel'; tunnel: TunnelState }
  | { type: 'stats'; sample: StatsSample }
  | { type: 'log'; entry: LogEntry }
  | { type: 'settings'; settings: Settings }
  | { type: 'relays'; relays: RelayInfo[] };

export interface DaemonLinkOptions {
  client: LinkClient;
  /** Stats tick asked of the daemon; default 1000 ms. */
  statsIntervalMs?: number;
  /** First retry delay after losing the daemon; doubles up to maxRetryMs. Default 1000/10000. */
  retryMs?: number;
  maxRetryMs?: number;
  /** The app-only setting kept beside the daemon's config (see autostart.ts). */
  startAtLogin?: () => boolean;
  /** How to start the daemon, shown when it is absent. */
  startHint?: string;
}

/**
 * The control client's stable error codes that the link tells apart. They are the contract
 * (STYLE.md §5: match codes, not classes); repeated here because the app may import only
 * control/client and control/schema, and a unit test checks they equal control/errors.ts.
 */
export const LINK_ERROR_CODES = {
  DAEMON_UNREACHABLE: 'ERR_CONTROL_DAEMON_UNREACHABLE',
  PERMISSION_DENIED: 'ERR_CONTROL_PERMISSION_DENIED',
  SOCKET_OWNER: 'ERR_CONTROL_SOCKET_OWNER',
  NOT_A_SOCKET: 'ERR_CONTROL_NOT_A_SOCKET',
} as const;

/** What the UI shows when the socket is missing: the same commands as `relay-cli daemon --help`. */
export const DEFAULT_START_HINT = 'Start it with `sudo relay-cli daemon` (see `relay-cli daemon --help`), then press Retry.';

/** Turn a failure to reach the daemon into the status the UI shows. Never throws. */
export function classifyDaemonError(e: unknown, socketPath: string, startHint = DEFAULT_START_HINT): DaemonStatus {
  const code = (e as { code?: unknown } | null)?.code;
  const message = e instanceof Error ? e.message : String(e);
  switch (code) {
    case LINK_ERROR_CODES.DAEMON_UNREACHABLE:
      return { state: 'absent', socketPath, message: `The masque daemon is not running (no answer on ${socketPath}).`, hint: startHint };
    case LINK_ERROR_CODES.NOT_A_SOCKET:
      return { state: 'absent', socketPath, message: `${socketPath} is not a socket.`, hint: startHint };
    case LINK_ERROR_CODES.PERMISSION_DENIED:
      return { state: 'denied', socketPath, message: `Permission denied on ${socketPath}.`, hint: 'Add your user to the `masque` group (`sudo usermod -aG masque $USER`) and log in again.' };
    case LINK_ERROR_CODES.SOCKET_OWNER:
      return { state: 'untrusted', socketPath, message: `Refusing to talk to ${socketPath}: ${message}`, hint: 'The socket must belong to root or to you; another user may be impersonating the daemon.' };
    default:
      return { state: 'failed', socketPath, message: `Lost the daemon: ${message}` };
  }
}

/** Map the daemon's config view (camelCase ClientConfig, secrets redacted) to the window's Settings. */
export function settingsFromConfig(cfg: ClientConfigView, startAtLogin: boolean): Settings {
  const routing = (cfg.routing ?? {}) as { mode?: unknown; include?: unknown; exclude?: unknown };
  const dns = (cfg.dns ?? {}) as { servers?: unknown };
  const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  return {
    chain: cfg.chain === 'single-hop' ? 'single-hop' : 'two-hop',
    ingress: typeof cfg.ingress === 'string' ? cfg.ingress : null,
    egress: typeof cfg.egress === 'string' ? cfg.egress : null,
    killSwitch: cfg.killSwitch === true,
    dns: strs(dns.servers),
    routing: { mode: routing.mode === 'split' ? 'split' : 'full', include: strs(routing.include), exclude: strs(routing.exclude) },
    startAtLogin,
  };
}

/**
 * Rates between two stats ticks. Counters that went backwards mean a new session: the rate
 * restarts from zero rather than going negative.
 */
export function toSample(prev: { t: number; stats: TunnelStats } | null, t: number, stats: TunnelStats): StatsSample {
  const dtS = prev ? (t - prev.t) / 1000 : 0;
  const rate = (now: number, before: number): number => (dtS > 0 && now >= before ? ((now - before) * 8) / dtS : 0);
  return {
    t,
    upBps: prev ? rate(stats.bytesUp, prev.stats.bytesUp) : 0,
    downBps: prev ? rate(stats.bytesDown, prev.stats.bytesDown) : 0,
    rttMs: stats.rttMs,
    bytesUp: stats.bytesUp,
    bytesDown: stats.bytesDown,
  };
}

/**
 * Follows the daemon until `stop()`. `start()` returns at once; state arrives as events.
 * Methods that act (`connect`, `setConfig`, …) reject with the client's ControlError.
 */
export class DaemonLink {
  readonly client: LinkClient;
  private readonly opts: Required<Omit<DaemonLinkOptions, 'client'>>;
  private readonly listeners = new Set<(ev: LinkEvent) => void>();
  private daemon: DaemonStatus;
  private tunnel: TunnelState = { state: 'disconnected' };
  private history: StatsSample[] = [];
  private lastStats: { t: number; stats: TunnelStats } | null = null;
  private logs: LogEntry[] = [];
  private settings: Settings | null = null;
  private relays: RelayInfo[] = [];
  private stream: { close(): void } | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryMs: number;
  private isRunning = false;
  /** Resolves when the current follow loop ends; tests await it after stop(). */
  private loop: Promise<void> = Promise.resolve();

  constructor(opts: DaemonLinkOptions) {
    this.client = opts.client;
    this.opts = {
      statsIntervalMs: opts.statsIntervalMs ?? 1000,
      retryMs: opts.retryMs ?? 1000,
      maxRetryMs: opts.maxRetryMs ?? 10_000,
      startAtLogin: opts.startAtLogin ?? (() => false),
      startHint: opts.startHint ?? DEFAULT_START_HINT,
    };
    this.retryMs = this.opts.retryMs;
    this.daemon = { state: 'starting', socketPath: opts.client.socketPath };
  }

  /** Subscribe to changes; returns the unsubscribe function. Listeners must not throw. */
  onEvent(listener: (ev: LinkEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A copy of everything the window draws from. */
  snapshot(): AppSnapshot {
    return {
      daemon: { ...this.daemon },
      tunnel: this.tunnel,
      history: [...this.history],
      logs: [...this.logs],
      settings: this.settings,
      relays: [...this.relays],
    };
  }

  start(): void {
    if (this.isRunning) return;
    this.isRunning = true;
    this.loop = this.follow();
  }

  /** Retry now instead of waiting out the backoff (the window's Retry button). */
  retryNow(): void {
    if (!this.isRunning || this.stream !== null) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.retryMs = this.opts.retryMs;
    this.loop = this.follow();
  }

  /** Stop following; idempotent. Resolves once the stream is closed. */
  async stop(): Promise<void> {
    this.isRunning = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.stream?.close();
    await this.loop;
  }

  async connect(opts?: Parameters<LinkClient['connect']>[0]): Promise<TunnelState> {
    const r = await this.client.connect(opts);
    return r.state;
  }

  async disconnect(): Promise<TunnelState> {
    const r = await this.client.disconnect();
    return r.state;
  }

  /** Probe the relays (slow: a handshake each) and remember them for the picker. */
  async refreshRelays(): Promise<RelayInfo[]> {
    this.relays = await this.client.relays();
    this.emit({ type: 'relays', relays: [...this.relays] });
    return this.relays;
  }

  async refreshSettings(): Promise<Settings> {
    const s = settingsFromConfig(await this.client.getConfig(), this.opts.startAtLogin());
    this.settings = s;
    this.emit({ type: 'settings', settings: s });
    return s;
  }

  /** Send a daemon config patch, then re-read the config so the view matches what applied. */
  async patchConfig(patch: Record<string, unknown>): Promise<Settings> {
    if (Object.keys(patch).length > 0) await this.client.setConfig(patch);
    return this.refreshSettings();
  }

  private async follow(): Promise<void> {
    try {
      const stream = await this.client.events({ statsIntervalMs: this.opts.statsIntervalMs, logs: true });
      if (!this.isRunning) {
        stream.close();
        return;
      }
      this.stream = stream;
      this.retryMs = this.opts.retryMs;
      this.setDaemon({ state: 'ok', socketPath: this.client.socketPath });
      // Settings and relays are not on the event stream: read them once per (re)connection.
      void this.refreshSettings().catch(() => {});
      void this.refreshRelays().catch(() => {});
      for await (const ev of stream) this.onControlEvent(ev);
      if (this.isRunning) this.setDaemon({ state: 'failed', socketPath: this.client.socketPath, message: 'The daemon closed the event stream.', hint: this.opts.startHint });
    } catch (e) {
      if (this.isRunning) this.setDaemon(classifyDaemonError(e, this.client.socketPath, this.opts.startHint));
    } finally {
      this.stream = null;
    }
    if (!this.isRunning) return;
    // The tunnel state is unknown without the daemon; show disconnected rather than stale "connected".
    if (this.tunnel.state !== 'disconnected') this.setTunnel({ state: 'disconnected' });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.loop = this.follow();
    }, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, this.opts.maxRetryMs);
  }

  private onControlEvent(ev: ControlEvent): void {
    switch (ev.type) {
      case 'state':
        this.setTunnel(ev.state);
        return;
      case 'stats': {
        const t = Date.parse(ev.at) || Date.now();
        const sample = toSample(this.lastStats, t, ev.stats);
        this.lastStats = { t, stats: ev.stats };
        this.history.push(sample);
        while (this.history.length > 0 && this.history[0]!.t < t - CHART_WINDOW_MS) this.history.shift();
        this.emit({ type: 'stats', sample });
        return;
      }
      case 'log': {
        const entry: LogEntry = { ...ev.log, at: ev.at };
        this.logs.push(entry);
        if (this.logs.length > MAX_LOG_LINES) this.logs.splice(0, this.logs.length - MAX_LOG_LINES);
        this.emit({ type: 'log', entry });
        return;
      }
      default:
        return; // newer daemons may add event types (API MINOR bump): ignore them
    }
  }

  private setTunnel(s: TunnelState): void {
    this.tunnel = s;
    this.emit({ type: 'tunnel', tunnel: s });
  }

  private setDaemon(d: DaemonStatus): void {
    this.daemon = d;
    this.emit({ type: 'daemon', daemon: { ...d } });
  }

  private emit(ev: LinkEvent): void {
    for (const l of this.listeners) l(ev);
  }
}
