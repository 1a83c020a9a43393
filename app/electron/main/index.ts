/**
 * Electron main-process entry: app lifecycle, the tray, the window and IPC. Deliberately
 * thin — every decision lives in the Electron-free modules beside it (daemon-link, tray-state,
 * menu, ipc-handlers, tray-controller, window), which the unit tests run under plain Node.
 *
 * Runs unprivileged. It never touches routes, TUN or DNS: it only talks to the daemon over
 * the control socket, through the shared ControlClient (which checks the socket's owner).
 *
 * Layout at run time (see build.mjs): this file is dist/node/app/electron/main/index.js,
 * the renderer is served from dist/web, the preload is dist/preload.cjs.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControlClient } from '../../../src/control/client.js';
import { createRootLogger } from '../../../src/log/logger.js';
import { createAutostart, defaultAutostartDir } from './autostart.js';
import { DaemonLink } from './daemon-link.js';
import type { BrowserWindowLike, ElectronFacade } from './electron-facade.js';
import { createIpcHandlers, registerIpcHandlers } from './ipc-handlers.js';
import { TrayController, type NotifyRenderer } from './tray-controller.js';
import { APP_ORIGIN, RENDERER_ENTRY, createMainWindow, handleAppScheme, isAppUrl, registerAppScheme } from './window.js';

const distDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const webRoot = path.join(distDir, 'web');
const preloadPath = path.join(distDir, 'preload.cjs');

async function main(): Promise<void> {
  // A variable specifier keeps tsc from resolving 'electron' (not installed at build time).
  const specifier = 'electron';
  const mod = (await import(specifier)) as { default?: ElectronFacade } & ElectronFacade;
  const electron: ElectronFacade = mod.default ?? mod;
  const { app } = electron;
  const log = createRootLogger({ name: 'masque-app' });

  if (!app.requestSingleInstanceLock()) {
    app.quit(); // the running instance gets 'second-instance' and shows its window
    return;
  }
  registerAppScheme(electron);

  const client = new ControlClient({ checkOwner: true, onWarning: (m) => log.warn(m) });
  const autostart = createAutostart(defaultAutostartDir(), process.env.APPIMAGE ? [process.env.APPIMAGE] : [process.execPath, ...(app.isPackaged ? [] : [process.argv[1] ?? '.'])]);
  const link = new DaemonLink({ client, startAtLogin: () => autostart.isEnabled() });

  let win: BrowserWindowLike | null = null;
  let isQuitting = false;
  const notify: NotifyRenderer = (channel, payload) => {
    if (win && !win.isDestroyed() && !win.webContents.isDestroyed()) win.webContents.send(channel, payload);
  };
  const openWindow = (): void => {
    if (!win || win.isDestroyed()) {
      win = createMainWindow(electron, { preloadPath, isQuitting: () => isQuitting });
      void win.loadURL(APP_ORIGIN + RENDERER_ENTRY).then(() => win?.show());
      return;
    }
    win.show();
    win.focus();
  };

  app.on('second-instance', openWindow);
  app.on('before-quit', () => {
    isQuitting = true;
  });
  // The tray keeps the app alive with no window; quitting is explicit (menu → Quit).
  app.on('window-all-closed', () => {});

  await app.whenReady();
  // Deny every permission (camera, notifications, …): the page needs none.
  electron.session.defaultSession.setPermissionRequestHandler((_wc, _perm, cb) => cb(false));
  handleAppScheme(electron, webRoot);
  registerIpcHandlers(electron.ipcMain, createIpcHandlers({ link, autostart }), isAppUrl);
  const tray = new TrayController({
    electron,
    link,
    notify,
    openWindow,
    quit: () => {
      isQuitting = true;
      tray.dispose();
      void link.stop().finally(() => app.quit());
    },
    onActionError: (e) => log.warn({ err: e }, 'tray action failed'),
  });
  link.start();
  if (!process.argv.includes('--hidden')) openWindow();
  log.info({ socket: client.socketPath }, 'tray app started');
}

main().catch((e: unknown) => {
  console.error('masque-app: failed to start:', e);
  process.exit(1);
});
