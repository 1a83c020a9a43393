import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { test } from 'node:test';
import { AUTOSTART_FILE, autostartEntry, createAutostart, defaultAutostartDir, quoteExecArg } from '../../../app/electron/main/autostart.js';
import { CONTENT_SECURITY_POLICY, createMainWindow, isAppUrl, serveStatic } from '../../../app/electron/main/window.js';
import { channelsOfKind } from '../../../app/electron/shared/ipc-schema.js';
import { PRELOAD_BUNDLE, ensureAppBuilt } from '../../helpers/app-build.js';
import { StubWindow, createElectronStub } from '../../helpers/app-electron-stub.js';

test('the window is isolated and sandboxed, refuses navigation and popups, hides on close', () => {
  const electron = createElectronStub();
  let isQuitting = false;
  createMainWindow(electron, { preloadPath: '/x/preload.cjs', isQuitting: () => isQuitting });
  const win = StubWindow.created.at(-1)!;
  const wp = win.options.webPreferences;
  assert.deepEqual([wp.contextIsolation, wp.sandbox, wp.nodeIntegration, wp.nodeIntegrationInWorker, wp.webSecurity, wp.allowRunningInsecureContent], [true, true, false, false, true, false]);
  assert.equal(wp.preload, '/x/preload.cjs');
  assert.equal(win.fire('wc:will-navigate', 'https://evil.example/'), true, 'foreign navigation prevented');
  assert.equal(win.fire('wc:will-navigate', 'app://masque/app/electron/renderer/index.html'), false);
  assert.deepEqual(win.openHandler!({ url: 'https://x' }), { action: 'deny' });
  win.show();
  assert.equal(win.fire('close'), true, 'close hides to the tray');
  assert.equal(win.isVisible(), false);
  isQuitting = true;
  assert.equal(win.fire('close'), false, 'close really closes when quitting');
});

test('isAppUrl accepts only our origin', () => {
  assert.equal(isAppUrl('app://masque/x.html'), true);
  for (const u of ['app://other/x', 'file:///etc/passwd', 'https://masque/', 'http://127.0.0.1/', '', 'not a url']) assert.equal(isAppUrl(u), false, u);
});

test('CSP forbids inline script, eval and foreign connections', () => {
  assert.match(CONTENT_SECURITY_POLICY, /default-src 'none'/);
  assert.match(CONTENT_SECURITY_POLICY, /script-src 'self'(;|$)/);
  assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-(inline|eval)/);
});

test('serveStatic serves files under the root only, known types only', async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'masque-web-'));
  mkdirSync(path.join(root, 'a'));
  writeFileSync(path.join(root, 'a/index.html'), '<p>hi</p>');
  writeFileSync(path.join(root, 'secret.key'), 'k');
  try {
    const ok = await serveStatic(root, '/a/index.html');
    assert.deepEqual([ok.status, ok.type, String(ok.body)], [200, 'text/html', '<p>hi</p>']);
    assert.equal((await serveStatic(root, '/../../etc/passwd')).status, 404);
    assert.equal((await serveStatic(root, '/a/%2e%2e/%2e%2e/etc/hostname')).status, 404);
    assert.equal((await serveStatic(root, '/secret.key')).status, 404, 'unknown type is not served');
    assert.equal((await serveStatic(root, '/a/missing.js')).status, 404);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('preload bundle: exposes only invoke/send/on with a channel allow-list, and requires only electron', () => {
  ensureAppBuilt('preload');
  const src = readFileSync(PRELOAD_BUNDLE, 'utf8');
  const required: string[] = [];
  let exposed: [string, Record<string, (...a: unknown[]) => unknown>] | null = null;
  const calls: unknown[][] = [];
  const electron = {
    contextBridge: { exposeInMainWorld: (k: string, v: never) => (exposed = [k, v]) },
    ipcRenderer: {
      invoke: (...a: unknown[]) => calls.push(['invoke', ...a]),
      send: (...a: unknown[]) => calls.push(['send', ...a]),
      on: (c: string, l: (ev: unknown, p: unknown) => void) => {
        calls.push(['on', c]);
        l({ sender: 'the ipcRenderer itself' }, { state: 'disconnected' });
      },
      removeListener: () => {},
    },
  };
  vm.runInNewContext(src, { require: (m: string) => (required.push(m), m === 'electron' ? electron : undefined) });
  assert.deepEqual(required, ['electron']);
  const [key, api] = exposed!;
  assert.equal(key, 'masque');
  assert.deepEqual(Object.keys(api).sort(), ['invoke', 'on', 'send']);
  for (const c of channelsOfKind('invoke')) api.invoke!(c, 1);
  assert.throws(() => api.invoke!('notify:tunnel', 1), /not allowed/);
  assert.throws(() => api.send!('tunnel:connect', 1), /not allowed/);
  assert.throws(() => api.on!('ELECTRON_BROWSER_REQUIRE', () => {}), /not allowed/);
  const got: unknown[] = [];
  api.on!('notify:tunnel', (...args: unknown[]) => got.push(args));
  assert.deepEqual(got, [[{ state: 'disconnected' }]], 'the listener sees the payload only, never the event');
  assert.equal(calls.filter((c) => c[0] === 'invoke').length, channelsOfKind('invoke').length);
});

test('start at login writes and removes an XDG autostart entry', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'masque-autostart-'));
  try {
    const a = createAutostart(path.join(dir, 'autostart'), ['/opt/masque VPN/masque-app']);
    assert.equal(a.isEnabled(), false);
    a.setEnabled(true);
    assert.equal(a.isEnabled(), true);
    const text = readFileSync(path.join(dir, 'autostart', AUTOSTART_FILE), 'utf8');
    assert.match(text, /^\[Desktop Entry\]\nType=Application\n/);
    assert.match(text, /^Exec="\/opt\/masque VPN\/masque-app" --hidden$/m);
    a.setEnabled(false);
    assert.equal(a.isEnabled(), false);
    a.setEnabled(false); // idempotent
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(quoteExecArg('a"b$c'), '"a\\"b\\$c"');
  assert.equal(quoteExecArg('/usr/bin/x'), '/usr/bin/x');
  assert.match(autostartEntry(['/x']), /Exec=\/x --hidden/);
  assert.equal(defaultAutostartDir({ XDG_CONFIG_HOME: '/cfg' }, '/home/u'), '/cfg/autostart');
  assert.equal(defaultAutostartDir({ XDG_CONFIG_HOME: 'relative' }, '/home/u'), '/home/u/.config/autostart');
});
