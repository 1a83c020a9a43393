/**
 * A MasqueBridge over HTTP for running the renderer as a plain web page (no Electron): invokes
 * and sends are POSTs to dev-server.ts, notifications arrive over one EventSource. Used only
 * when `window.masque` (the preload's bridge) is absent.
 */
import { channelsOfKind, type IpcResult, type MasqueBridge } from '../shared/ipc-schema.js';

const OPEN_WAIT_MS = 3000;

/** Build the bridge against `origin` (the page's own origin by default). */
export function createDevBridge(origin = window.location.origin): MasqueBridge {
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  let source: EventSource | null = null;
  // Invokes wait until the event stream is open (at most OPEN_WAIT_MS): a snapshot taken
  // before the stream existed would miss what happened in between (the window stayed on
  // "daemon…" or "Connecting…"). The server also starts each stream with the current state.
  let opened: Promise<void> = Promise.resolve();

  const ensureSource = (): void => {
    if (source) return;
    const s = new EventSource(`${origin}/ipc/events`);
    source = s;
    opened = new Promise((resolve) => {
      s.addEventListener('open', () => resolve(), { once: true });
      setTimeout(resolve, OPEN_WAIT_MS);
    });
    for (const channel of channelsOfKind('notify')) {
      source.addEventListener(channel, (ev) => {
        const payload: unknown = JSON.parse((ev as MessageEvent<string>).data);
        for (const l of listeners.get(channel) ?? []) l(payload);
      });
    }
  };

  const post = async (kind: 'invoke' | 'send', channel: string, arg: unknown): Promise<Response> =>
    fetch(`${origin}/ipc/${kind}/${channel}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Masque-Dev': '1' },
      body: JSON.stringify({ arg }),
    });

  return {
    async invoke(channel, arg) {
      ensureSource();
      await opened;
      try {
        const res = await post('invoke', channel, arg);
        return (await res.json()) as IpcResult<never>;
      } catch (e) {
        // The dev server is our "main process": if it is gone, say so like main would.
        return { type: 'error', message: `dev server unreachable: ${(e as Error).message}`, code: 'ERR_IPC_UNREACHABLE' };
      }
    },
    send(channel, arg) {
      void post('send', channel, arg).catch(() => {});
    },
    on(channel, listener) {
      ensureSource();
      let set = listeners.get(channel);
      if (!set) listeners.set(channel, (set = new Set()));
      const l = listener as (payload: unknown) => void;
      set.add(l);
      return () => {
        set.delete(l);
      };
    },
  };
}
