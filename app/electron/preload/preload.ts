/**
 * The preload script: the renderer's only way to reach main. It runs sandboxed with context
 * isolation, so all it can do is expose `window.masque` (a MasqueBridge) through
 * contextBridge. Each function checks the channel against the schema's allow-list, because
 * the page could be tricked into calling with any string; raw ipcRenderer is never exposed.
 *
 * build.mjs compiles this to CommonJS and inlines shared/ipc-schema into one preload.cjs:
 * a sandboxed preload may `require` only 'electron' and a few builtins, not our files.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { channelsOfKind, type MasqueBridge } from '../shared/ipc-schema.js';

const invokeChannels = new Set(channelsOfKind('invoke'));
const sendChannels = new Set(channelsOfKind('send'));
const notifyChannels = new Set(channelsOfKind('notify'));

function checked(set: Set<string>, channel: unknown): string {
  if (typeof channel !== 'string' || !set.has(channel)) throw new Error(`masque bridge: channel ${String(channel)} is not allowed`);
  return channel;
}

const bridge: MasqueBridge = {
  invoke: (channel, arg) => ipcRenderer.invoke(checked(invokeChannels, channel), arg),
  send: (channel, arg) => ipcRenderer.send(checked(sendChannels, channel), arg),
  on: (channel, listener) => {
    // Strip the IpcRendererEvent: it carries `sender`, which would hand the page ipcRenderer.
    const wrapped = (_ev: unknown, payload: unknown): void => listener(payload as never);
    ipcRenderer.on(checked(notifyChannels, channel), wrapped);
    return () => {
      ipcRenderer.removeListener(channel, wrapped);
    };
  },
};

contextBridge.exposeInMainWorld('masque', bridge);
