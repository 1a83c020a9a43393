/**
 * The slice of Electron's main-process API that this app uses, as plain TypeScript types.
 *
 * Why not `import type … from 'electron'`: the package cannot be installed on our build
 * machines (its postinstall downloads a binary), and pulling its 1 MB of typings in for a
 * dozen calls is not worth a dependency. index.ts loads the real module at run time and
 * casts it to ElectronFacade; the unit tests pass a stand-in of the same shape. The shapes
 * follow Electron 41's documented signatures; only what we call is listed.
 */

/** A tray/context menu item, as given to Menu.buildFromTemplate. */
export interface MenuItemOptions {
  id?: string;
  label?: string;
  type?: 'normal' | 'separator' | 'submenu' | 'checkbox' | 'radio';
  enabled?: boolean;
  checked?: boolean;
  submenu?: MenuItemOptions[];
  click?: () => void;
}

/** A built menu; opaque to us (we only hand it back to Tray.setContextMenu). */
export type MenuLike = object;

export interface NativeImageLike {
  isEmpty(): boolean;
}

export interface TrayLike {
  setImage(image: NativeImageLike): void;
  setToolTip(text: string): void;
  setContextMenu(menu: MenuLike | null): void;
  on(event: 'click', listener: () => void): void;
  destroy(): void;
}

/** What ipcMain handlers receive as their first argument (we only read the sender's URL). */
export interface IpcMainEventLike {
  senderFrame?: { url: string } | null;
}

export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcMainEventLike, arg: unknown) => Promise<unknown>): void;
  on(channel: string, listener: (event: IpcMainEventLike, arg: unknown) => void): void;
  removeHandler(channel: string): void;
  removeAllListeners(channel?: string): void;
}

export interface WebContentsLike {
  send(channel: string, payload: unknown): void;
  on(event: 'will-navigate', listener: (event: { preventDefault(): void }, url: string) => void): void;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' | 'allow' }): void;
  isDestroyed(): boolean;
}

/** The webPreferences we set; see docs/desktop.md "Security choices". */
export interface WebPreferencesLike {
  preload: string;
  contextIsolation: boolean;
  sandbox: boolean;
  nodeIntegration: boolean;
  nodeIntegrationInWorker: boolean;
  webSecurity: boolean;
  allowRunningInsecureContent: boolean;
  spellcheck: boolean;
}

export interface BrowserWindowOptionsLike {
  width: number;
  height: number;
  minWidth?: number;
  minHeight?: number;
  show: boolean;
  title: string;
  autoHideMenuBar?: boolean;
  backgroundColor?: string;
  webPreferences: WebPreferencesLike;
}

export interface BrowserWindowLike {
  readonly webContents: WebContentsLike;
  loadURL(url: string): Promise<void>;
  show(): void;
  hide(): void;
  focus(): void;
  isVisible(): boolean;
  isDestroyed(): boolean;
  on(event: 'close', listener: (event: { preventDefault(): void }) => void): void;
}

export interface PermissionSessionLike {
  setPermissionRequestHandler(handler: (wc: unknown, permission: string, callback: (granted: boolean) => void) => void): void;
}

/** The module object: constructors and singletons we use. */
export interface ElectronFacade {
  app: {
    whenReady(): Promise<void>;
    requestSingleInstanceLock(): boolean;
    on(event: 'second-instance' | 'window-all-closed' | 'before-quit', listener: () => void): void;
    quit(): void;
    getPath(name: 'home' | 'userData'): string;
    isPackaged: boolean;
  };
  BrowserWindow: new (opts: BrowserWindowOptionsLike) => BrowserWindowLike;
  Tray: new (image: NativeImageLike) => TrayLike;
  Menu: { buildFromTemplate(template: MenuItemOptions[]): MenuLike };
  nativeImage: { createFromBitmap(buffer: Buffer, opts: { width: number; height: number; scaleFactor?: number }): NativeImageLike };
  ipcMain: IpcMainLike;
  protocol: {
    registerSchemesAsPrivileged(schemes: { scheme: string; privileges: Record<string, boolean> }[]): void;
    handle(scheme: string, handler: (req: Request) => Response | Promise<Response>): void;
  };
  session: { defaultSession: PermissionSessionLike };
}
