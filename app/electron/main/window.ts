/**
 * The app window and the `app://` scheme it loads from, with the security settings in one
 * place (docs/desktop.md "Security choices"). Electron specifics come in through the facade
 * so tests can assert the options we pass.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { BrowserWindowLike, ElectronFacade, WebPreferencesLike } from './electron-facade.js';

/** Our privileged scheme: the renderer is served from app://masque/, never file://. */
export const APP_SCHEME = 'app';
export const APP_ORIGIN = `${APP_SCHEME}://masque`;
/** Where the renderer's index.html sits below the web root (build.mjs keeps the source layout). */
export const RENDERER_ENTRY = '/app/electron/renderer/index.html';

/**
 * The Content-Security-Policy of every page we serve: our own scripts and styles only, no
 * eval, no inline script, no network except back to our origin (the dev server's /ipc and
 * /events; in Electron nothing goes over the network at all).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The webPreferences: isolated, sandboxed, no Node in the page; the preload is the only bridge. */
export function secureWebPreferences(preloadPath: string): WebPreferencesLike {
  return {
    preload: preloadPath,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    spellcheck: false,
  };
}

/** True for URLs of our own pages; used to vet IPC senders and navigations. */
export function isAppUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}` === APP_ORIGIN;
  } catch {
    return false;
  }
}

const MIME: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.map': 'application/json' };

/**
 * Serve a request for our scheme from `webRoot`, refusing anything that escapes it. Shared
 * by the Electron protocol handler and the dev server.
 */
export async function serveStatic(webRoot: string, urlPath: string): Promise<{ status: number; type: string; body: Buffer | string }> {
  const rel = decodeURIComponent(urlPath.split('?')[0]!);
  const file = path.resolve(webRoot, '.' + path.posix.normalize('/' + rel));
  if (file !== webRoot && !file.startsWith(webRoot + path.sep)) return { status: 403, type: 'text/plain', body: 'forbidden' };
  const type = MIME[path.extname(file)];
  if (!type) return { status: 404, type: 'text/plain', body: 'not found' };
  try {
    return { status: 200, type, body: await readFile(file) };
  } catch {
    return { status: 404, type: 'text/plain', body: 'not found' };
  }
}

/** Register app:// as standard+secure; must run before app `ready`. */
export function registerAppScheme(electron: Pick<ElectronFacade, 'protocol'>): void {
  electron.protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: false, corsEnabled: false } }]);
}

/** Serve app:// from `webRoot` with the CSP header; call after `ready`. */
export function handleAppScheme(electron: Pick<ElectronFacade, 'protocol'>, webRoot: string): void {
  electron.protocol.handle(APP_SCHEME, async (req) => {
    const { status, type, body } = await serveStatic(webRoot, new URL(req.url).pathname);
    const bytes = typeof body === 'string' ? body : new Uint8Array(body) /* a copy typed over ArrayBuffer, which BodyInit wants */;
    return new Response(bytes, { status, headers: { 'Content-Type': type, 'Content-Security-Policy': CONTENT_SECURITY_POLICY } });
  });
}

/**
 * Create the (hidden) window. Closing it hides it to the tray instead of quitting, unless
 * `isQuitting()`; navigation and new windows are refused outright.
 */
export function createMainWindow(electron: Pick<ElectronFacade, 'BrowserWindow'>, opts: { preloadPath: string; isQuitting(): boolean }): BrowserWindowLike {
  const win = new electron.BrowserWindow({
    width: 420,
    height: 760,
    minWidth: 380,
    minHeight: 560,
    show: false,
    title: 'masque VPN',
    autoHideMenuBar: true,
    backgroundColor: '#101418',
    webPreferences: secureWebPreferences(opts.preloadPath),
  });
  win.webContents.on('will-navigate', (ev, url) => {
    if (!isAppUrl(url)) ev.preventDefault();
  });
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  win.on('close', (ev) => {
    if (!opts.isQuitting()) {
      ev.preventDefault();
      win.hide();
    }
  });
  return win;
}
