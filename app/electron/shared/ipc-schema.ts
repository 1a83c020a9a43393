/**
 * The typed IPC contract between the app's main process and its renderer (Mullvad's
 * src/shared/ipc-schema.ts). Each channel is declared once here as `invoke<A, R>()` (renderer
 * asks, main answers), `send<A>()` (renderer tells main, no answer) or `notifyRenderer<T>()`
 * (main pushes to the renderer); the bridge types, the preload allow-list and the main-side
 * handler table are all derived from this one object, so a typo is a compile error.
 *
 * Errors never cross IPC as thrown exceptions (Electron flattens them to a message string):
 * an invoke always resolves to an IpcResult, `{ type: 'error', message, code }` on failure.
 *
 * Runtime code here must stay dependency-free: it runs in Node (main, dev server), in the
 * sandboxed preload (bundled to CommonJS) and in the browser (renderer). Types come from the
 * control API schema via `import type` only, which erases at compile time.
 */
import type { ConnectOptions, LogLine, RelayInfo, TunnelState } from '../../../src/control/schema.js';

export type { ConnectOptions, LogLine, RelayInfo, TunnelState };

/** Phantom-typed channel descriptors; the type parameters carry the payload types. */
export interface InvokeDef<A, R> {
  readonly kind: 'invoke';
  readonly _arg?: A;
  readonly _result?: R;
}
export interface SendDef<A> {
  readonly kind: 'send';
  readonly _arg?: A;
}
export interface NotifyDef<T> {
  readonly kind: 'notify';
  readonly _payload?: T;
}

/** Declare a request/response channel: the renderer awaits an IpcResult<R>. */
export function invoke<A, R>(): InvokeDef<A, R> {
  return { kind: 'invoke' };
}
/** Declare a fire-and-forget channel from the renderer to main. */
export function send<A>(): SendDef<A> {
  return { kind: 'send' };
}
/** Declare a push channel from main to the renderer. */
export function notifyRenderer<T>(): NotifyDef<T> {
  return { kind: 'notify' };
}

/** The outcome of an invoke. `code` is the stable MasqueError code when there was one. */
export type IpcResult<R> = { type: 'success'; value: R } | { type: 'error'; message: string; code?: string };

/**
 * How the app sees the daemon. `ok`: the event stream is open. `starting`: first attempt in
 * flight. `absent`: no socket or nobody listening — `hint` tells the user how to start it.
 * `denied`: the OS refused the socket (group). `untrusted`: the socket's owner is neither root
 * nor us, so the app refuses to talk to it (it could be an impostor collecting our requests).
 */
export interface DaemonStatus {
  state: 'starting' | 'ok' | 'absent' | 'denied' | 'untrusted' | 'failed';
  message?: string;
  hint?: string;
  socketPath: string;
}

/** One point of the throughput chart: rates over the interval since the previous sample. */
export interface StatsSample {
  /** Epoch ms when the daemon took the sample. */
  t: number;
  upBps: number;
  downBps: number;
  /** TunnelStats.rttMs: whole milliseconds, rounded down (the quiche binding's resolution). */
  rttMs: number | null;
  /** Session totals at `t`. */
  bytesUp: number;
  bytesDown: number;
}

/** A recent log line, with the daemon's timestamp. */
export interface LogEntry extends LogLine {
  at: string;
}

/** The settings the window edits: the daemon's client config plus the app-only startAtLogin. */
export interface Settings {
  chain: 'two-hop' | 'single-hop';
  ingress: string | null;
  egress: string | null;
  killSwitch: boolean;
  dns: string[];
  routing: { mode: 'full' | 'split'; include: string[]; exclude: string[] };
  startAtLogin: boolean;
}

/** A partial update; every field is validated in main before it reaches the daemon. */
export type SettingsPatch = Partial<Settings>;

/** Everything the window needs to draw itself when it (re)opens. */
export interface AppSnapshot {
  daemon: DaemonStatus;
  tunnel: TunnelState;
  /** Oldest first, at most the last CHART_WINDOW_MS. */
  history: StatsSample[];
  logs: LogEntry[];
  settings: Settings | null;
  relays: RelayInfo[];
}

/** Width of the throughput chart: the last 60 s. */
export const CHART_WINDOW_MS = 60_000;
/** How many log lines main keeps for the window. */
export const MAX_LOG_LINES = 200;

/** The channel table. Names are `area:verb`; notify channels start with `notify:`. */
export const ipcSchema = {
  'app:snapshot': invoke<void, AppSnapshot>(),
  'tunnel:connect': invoke<ConnectOptions, TunnelState>(),
  'tunnel:disconnect': invoke<void, TunnelState>(),
  'relays:list': invoke<void, RelayInfo[]>(),
  'settings:get': invoke<void, Settings>(),
  'settings:set': invoke<SettingsPatch, Settings>(),
  'daemon:retry': send<void>(),
  'notify:daemon': notifyRenderer<DaemonStatus>(),
  'notify:tunnel': notifyRenderer<TunnelState>(),
  'notify:stats': notifyRenderer<StatsSample>(),
  'notify:log': notifyRenderer<LogEntry>(),
  'notify:settings': notifyRenderer<Settings>(),
  'notify:relays': notifyRenderer<RelayInfo[]>(),
} as const;

export type IpcSchema = typeof ipcSchema;
export type Channel = keyof IpcSchema;
export type InvokeChannel = { [C in Channel]: IpcSchema[C] extends InvokeDef<unknown, unknown> ? C : never }[Channel];
export type SendChannel = { [C in Channel]: IpcSchema[C] extends SendDef<unknown> ? C : never }[Channel];
export type NotifyChannel = { [C in Channel]: IpcSchema[C] extends NotifyDef<unknown> ? C : never }[Channel];
export type ArgOf<C extends InvokeChannel | SendChannel> = IpcSchema[C] extends { readonly _arg?: infer A } ? A : never;
export type ResultOf<C extends InvokeChannel> = IpcSchema[C] extends InvokeDef<unknown, infer R> ? R : never;
export type PayloadOf<C extends NotifyChannel> = IpcSchema[C] extends NotifyDef<infer T> ? T : never;

/** Channel names by kind, for allow-lists (preload, dev server) and handler registration. */
export function channelsOfKind(kind: 'invoke' | 'send' | 'notify'): string[] {
  return Object.entries(ipcSchema)
    .filter(([, d]) => d.kind === kind)
    .map(([c]) => c);
}

/**
 * What the preload exposes as `window.masque` (and what renderer/dev-bridge.ts imitates over
 * HTTP). Only these three functions cross the context bridge; each checks the channel name
 * against the schema at runtime, because the renderer is untrusted.
 */
export interface MasqueBridge {
  invoke<C extends InvokeChannel>(channel: C, arg: ArgOf<C>): Promise<IpcResult<ResultOf<C>>>;
  send<C extends SendChannel>(channel: C, arg: ArgOf<C>): void;
  /** Subscribe to a notify channel; returns the unsubscribe function. */
  on<C extends NotifyChannel>(channel: C, listener: (payload: PayloadOf<C>) => void): () => void;
}
