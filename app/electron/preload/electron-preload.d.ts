/**
 * The two preload-side Electron APIs the bridge uses, declared here because the `electron`
 * package (and its typings) is not installed at build time. Shapes per Electron 41 docs.
 */
declare module 'electron' {
  export const contextBridge: {
    exposeInMainWorld(apiKey: string, api: unknown): void;
  };
  export const ipcRenderer: {
    invoke(channel: string, ...args: unknown[]): Promise<never>;
    send(channel: string, ...args: unknown[]): void;
    on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
    removeListener(channel: string, listener: (...args: never[]) => void): unknown;
  };
}
