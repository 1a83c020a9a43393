/**
 * A stand-in for the `electron` module (the ElectronFacade slice the app uses) that records
 * what main did: tray images/tooltips/menus, windows and their options, IPC registrations.
 * `ipc.invoke(channel, arg, url)` plays the renderer calling through the preload.
 */
import type {
  BrowserWindowLike,
  BrowserWindowOptionsLike,
  ElectronFacade,
  IpcMainEventLike,
  MenuItemOptions,
  NativeImageLike,
  TrayLike,
} from '../../app/electron/main/electron-facade.js';

export class StubImage implements NativeImageLike {
  constructor(readonly bitmap: Buffer, readonly width: number) {}
  isEmpty(): boolean {
    return this.bitmap.length === 0;
  }
}

export class StubTray implements TrayLike {
  images: StubImage[] = [];
  tooltip = '';
  menu: MenuItemOptions[] | null = null;
  isDestroyed = false;
  private clickListeners: (() => void)[] = [];
  constructor(image: NativeImageLike) {
    this.images.push(image as StubImage);
  }
  setImage(image: NativeImageLike): void {
    this.images.push(image as StubImage);
  }
  setToolTip(text: string): void {
    this.tooltip = text;
  }
  setContextMenu(menu: unknown): void {
    this.menu = (menu as { template: MenuItemOptions[] } | null)?.template ?? null;
  }
  on(_event: 'click', listener: () => void): void {
    this.clickListeners.push(listener);
  }
  click(): void {
    for (const l of this.clickListeners) l();
  }
  destroy(): void {
    this.isDestroyed = true;
  }
}

export class StubWindow implements BrowserWindowLike {
  static created: StubWindow[] = [];
  sent: { channel: string; payload: unknown }[] = [];
  isShown = false;
  private listeners = new Map<string, ((...a: never[]) => void)[]>();
  openHandler: ((d: { url: string }) => { action: 'deny' | 'allow' }) | null = null;
  readonly webContents;
  constructor(readonly options: BrowserWindowOptionsLike) {
    StubWindow.created.push(this);
    const on = (ev: string, l: (...a: never[]) => void): void => {
      this.listeners.set(ev, [...(this.listeners.get(ev) ?? []), l]);
    };
    this.webContents = {
      send: (channel: string, payload: unknown) => this.sent.push({ channel, payload }),
      on: (ev: 'will-navigate', l: (e: { preventDefault(): void }, url: string) => void) => on(`wc:${ev}`, l as never),
      setWindowOpenHandler: (h: (d: { url: string }) => { action: 'deny' | 'allow' }) => {
        this.openHandler = h;
      },
      isDestroyed: () => false,
    };
  }
  /** Fire a listener; returns whether preventDefault() was called. */
  fire(ev: string, ...args: unknown[]): boolean {
    let isPrevented = false;
    const e = { preventDefault: () => (isPrevented = true) };
    for (const l of this.listeners.get(ev) ?? []) (l as (...a: unknown[]) => void)(e, ...args);
    return isPrevented;
  }
  async loadURL(): Promise<void> {}
  show(): void {
    this.isShown = true;
  }
  hide(): void {
    this.isShown = false;
  }
  focus(): void {}
  isVisible(): boolean {
    return this.isShown;
  }
  isDestroyed(): boolean {
    return false;
  }
  on(event: 'close', listener: (event: { preventDefault(): void }) => void): void {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener as never]);
  }
}

type Handler = (event: IpcMainEventLike, arg: unknown) => unknown;

export class StubIpcMain {
  readonly handlers = new Map<string, Handler>();
  readonly listeners = new Map<string, Handler[]>();
  handle(channel: string, listener: Handler): void {
    if (this.handlers.has(channel)) throw new Error(`second handler for ${channel}`); // Electron throws too
    this.handlers.set(channel, listener);
  }
  on(channel: string, listener: Handler): void {
    this.listeners.set(channel, [...(this.listeners.get(channel) ?? []), listener]);
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
  removeAllListeners(channel?: string): void {
    if (channel) this.listeners.delete(channel);
    else this.listeners.clear();
  }
  /** Call an invoke channel as a frame at `url` would. */
  invoke(channel: string, arg: unknown, url = 'app://masque/app/electron/renderer/index.html'): Promise<unknown> {
    const h = this.handlers.get(channel);
    if (!h) throw new Error(`no handler for ${channel}`);
    return Promise.resolve(h({ senderFrame: { url } }, arg));
  }
  send(channel: string, arg: unknown, url = 'app://masque/app/electron/renderer/index.html'): void {
    for (const l of this.listeners.get(channel) ?? []) l({ senderFrame: { url } }, arg);
  }
}

/** A fresh stand-in electron module. */
export function createElectronStub(): ElectronFacade & { ipcMain: StubIpcMain; trays: StubTray[] } {
  const trays: StubTray[] = [];
  return {
    trays,
    app: {
      whenReady: async () => {},
      requestSingleInstanceLock: () => true,
      on: () => {},
      quit: () => {},
      getPath: () => '/tmp',
      isPackaged: false,
    },
    BrowserWindow: StubWindow,
    Tray: class extends StubTray {
      constructor(image: NativeImageLike) {
        super(image);
        trays.push(this);
      }
    },
    Menu: { buildFromTemplate: (template: MenuItemOptions[]) => ({ template }) },
    nativeImage: { createFromBitmap: (bitmap: Buffer, o: { width: number }) => new StubImage(bitmap, o.width) },
    ipcMain: new StubIpcMain(),
    protocol: { registerSchemesAsPrivileged: () => {}, handle: () => {} },
    session: { defaultSession: { setPermissionRequestHandler: () => {} } },
  };
}
