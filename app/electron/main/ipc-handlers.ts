/**
 * The main-process side of the IPC schema: one handler per invoke/send channel, input
 * validation (the renderer is untrusted: it renders daemon-provided strings), and the
 * wrapping of every outcome into an IpcResult so errors cross IPC as `{ type: 'error' }`.
 *
 * No Electron here: `registerIpcHandlers` takes an ipcMain-like object, and the dev server
 * calls `dispatchInvoke` directly, so the renderer talks to the same code in both.
 */
import type { ConnectOptions } from '../../../src/control/schema.js';
import type { ArgOf, InvokeChannel, IpcResult, ResultOf, SendChannel, Settings, SettingsPatch } from '../shared/ipc-schema.js';
import { channelsOfKind } from '../shared/ipc-schema.js';
import type { Autostart } from './autostart.js';
import type { DaemonLink } from './daemon-link.js';
import type { IpcMainLike } from './electron-facade.js';

/** A handler gets the raw (unvalidated) argument; validation is its first job. */
export type InvokeHandlers = { [C in InvokeChannel]: (arg: unknown) => Promise<ResultOf<C>> };
export type SendHandlers = { [C in SendChannel]: (arg: unknown) => void };

/** Thrown by validators; becomes `{ type: 'error', code: 'ERR_IPC_INVALID_ARGUMENT' }`. */
export class IpcArgumentError extends Error {
  readonly code = 'ERR_IPC_INVALID_ARGUMENT';
}

const RELAY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9A-Fa-f:.]{2,45}$/;

/** An IPv4 or IPv6 literal (the daemon does the exact parse; this keeps junk out early). */
export function isIpLiteral(s: string): boolean {
  return IPV4.test(s) || (s.includes(':') && IPV6.test(s));
}

/** `addr/len` with a length that fits the family. */
export function isCidr(s: string): boolean {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  if (!m || !isIpLiteral(m[1]!)) return false;
  return Number(m[2]) <= (m[1]!.includes(':') ? 128 : 32);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function strList(v: unknown, what: string, check: (s: string) => boolean, max = 64): string[] {
  if (!Array.isArray(v) || v.length > max) throw new IpcArgumentError(`${what}: expected a list of at most ${max} entries`);
  return v.map((x) => {
    if (typeof x !== 'string' || !check(x.trim())) throw new IpcArgumentError(`${what}: ${JSON.stringify(x)} is not valid`);
    return x.trim();
  });
}

/** Validate `tunnel:connect`'s argument: undefined or ConnectOptions with known keys only. */
export function validateConnectOptions(v: unknown): ConnectOptions {
  if (v === undefined || v === null) return {};
  if (!isRecord(v)) throw new IpcArgumentError('connect: expected an object');
  const out: ConnectOptions = {};
  for (const [k, val] of Object.entries(v)) {
    if (k === 'singleHop' && typeof val === 'boolean') out.singleHop = val;
    else if ((k === 'ingress' || k === 'egress' || k === 'relay') && typeof val === 'string' && RELAY_NAME.test(val)) out[k] = val;
    else throw new IpcArgumentError(`connect: bad option ${k}`);
  }
  return out;
}

/** Validate a settings patch; unknown keys are refused rather than forwarded to the daemon. */
export function validateSettingsPatch(v: unknown): SettingsPatch {
  if (!isRecord(v)) throw new IpcArgumentError('settings: expected an object');
  const out: SettingsPatch = {};
  for (const [k, val] of Object.entries(v)) {
    switch (k) {
      case 'killSwitch':
      case 'startAtLogin':
        if (typeof val !== 'boolean') throw new IpcArgumentError(`settings: ${k} must be true or false`);
        out[k] = val;
        break;
      case 'chain':
        if (val !== 'two-hop' && val !== 'single-hop') throw new IpcArgumentError('settings: chain must be two-hop or single-hop');
        out.chain = val;
        break;
      case 'ingress':
      case 'egress':
        if (typeof val !== 'string' || !RELAY_NAME.test(val)) throw new IpcArgumentError(`settings: ${k} must be a relay name`);
        out[k] = val;
        break;
      case 'dns':
        out.dns = strList(val, 'DNS servers', isIpLiteral, 8);
        break;
      case 'routing': {
        if (!isRecord(val) || (val.mode !== 'full' && val.mode !== 'split')) throw new IpcArgumentError('settings: routing.mode must be full or split');
        const include = strList(val.include ?? [], 'split tunnel include', isCidr);
        const exclude = strList(val.exclude ?? [], 'split tunnel exclude', isCidr);
        // Same rule as config/client.ts, checked here so the user gets the message at once.
        if (val.mode === 'split' && include.length === 0) throw new IpcArgumentError('settings: split tunnelling needs at least one network to include');
        out.routing = { mode: val.mode, include: val.mode === 'split' ? include : [], exclude };
        break;
      }
      default:
        throw new IpcArgumentError(`settings: unknown setting ${k}`);
    }
  }
  return out;
}

/** The daemon's half of a patch, in ClientConfig's camelCase shape (objects replace whole). */
export function configPatchFrom(p: SettingsPatch): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ['chain', 'ingress', 'egress', 'killSwitch', 'routing'] as const) if (p[k] !== undefined) out[k] = p[k];
  if (p.dns !== undefined) out.dns = { servers: p.dns };
  return out;
}

/** Any thrown value → the error half of IpcResult; keeps the stable code when there is one. */
export function toIpcError(e: unknown): { type: 'error'; message: string; code?: string } {
  const code = (e as { code?: unknown } | null)?.code;
  const message = e instanceof Error ? e.message : String(e);
  return typeof code === 'string' ? { type: 'error', message, code } : { type: 'error', message };
}

export interface HandlerDeps {
  link: DaemonLink;
  autostart: Autostart;
}

/** The handler table; each validates its argument and talks to the daemon through the link. */
export function createIpcHandlers({ link, autostart }: HandlerDeps): { invoke: InvokeHandlers; send: SendHandlers } {
  const invoke: InvokeHandlers = {
    'app:snapshot': async () => link.snapshot(),
    'tunnel:connect': async (arg) => link.connect(validateConnectOptions(arg)),
    'tunnel:disconnect': async () => link.disconnect(),
    'relays:list': async () => link.refreshRelays(),
    // startAtLogin is read from the autostart file itself, so the answer is true even if
    // the link was built without a startAtLogin source.
    'settings:get': async () => ({ ...(await link.refreshSettings()), startAtLogin: autostart.isEnabled() }),
    'settings:set': async (arg): Promise<Settings> => {
      const patch = validateSettingsPatch(arg);
      if (patch.startAtLogin !== undefined) autostart.setEnabled(patch.startAtLogin);
      return { ...(await link.patchConfig(configPatchFrom(patch))), startAtLogin: autostart.isEnabled() };
    },
  };
  const send: SendHandlers = {
    'daemon:retry': () => link.retryNow(),
  };
  return { invoke, send };
}

/** Run one invoke handler and wrap the outcome. Unknown channels are errors, not crashes. */
export async function dispatchInvoke(handlers: InvokeHandlers, channel: string, arg: unknown): Promise<IpcResult<unknown>> {
  if (!Object.hasOwn(handlers, channel)) return { type: 'error', message: `unknown channel ${channel}`, code: 'ERR_IPC_UNKNOWN_CHANNEL' };
  try {
    return { type: 'success', value: await handlers[channel as InvokeChannel](arg) };
  } catch (e) {
    return toIpcError(e);
  }
}

/** Typed helper for callers that know the channel (tests). */
export function invokeTyped<C extends InvokeChannel>(handlers: InvokeHandlers, channel: C, arg: ArgOf<C>): Promise<IpcResult<ResultOf<C>>> {
  return dispatchInvoke(handlers, channel, arg) as Promise<IpcResult<ResultOf<C>>>;
}

/**
 * Register every schema channel on ipcMain. `isTrustedSender(url)` is checked on each call
 * (Electron security checklist: validate the sender of all IPC messages) so a frame that
 * navigated somewhere else, or an iframe, cannot drive the tunnel.
 */
export function registerIpcHandlers(ipcMain: IpcMainLike, handlers: { invoke: InvokeHandlers; send: SendHandlers }, isTrustedSender: (url: string) => boolean): () => void {
  const trusted = (ev: { senderFrame?: { url: string } | null }): boolean => isTrustedSender(ev.senderFrame?.url ?? '');
  for (const channel of channelsOfKind('invoke')) {
    ipcMain.handle(channel, async (ev, arg) => {
      if (!trusted(ev)) return { type: 'error', message: 'IPC from an untrusted frame', code: 'ERR_IPC_UNTRUSTED_SENDER' };
      return dispatchInvoke(handlers.invoke, channel, arg);
    });
  }
  for (const channel of channelsOfKind('send')) {
    ipcMain.on(channel, (ev, arg) => {
      if (trusted(ev) && Object.hasOwn(handlers.send, channel)) handlers.send[channel as SendChannel](arg);
    });
  }
  return () => {
    for (const c of channelsOfKind('invoke')) ipcMain.removeHandler(c);
    for (const c of channelsOfKind('send')) ipcMain.removeAllListeners(c);
  };
}
