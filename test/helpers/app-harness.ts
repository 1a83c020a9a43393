/**
 * The stand-in world for the tray app tests: a real ControlServer on a temp Unix socket
 * around a LiveFakeBackend, and the app's dev server (app/electron/dev-server.ts) pointed at
 * it through the real ControlClient — the same path the Electron main process takes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDevServer, type DevServer } from '../../app/electron/dev-server.js';
import { ControlClient } from '../../src/control/client.js';
import { ControlServer } from '../../src/control/server.js';
import { silentLogger } from '../../src/log/logger.js';
import { LiveFakeBackend } from './app-fake-backend.js';
import type { FakeBackendOptions } from './fake-backend.js';
import { WEB_ROOT } from './app-build.js';

export interface AppHarness {
  dir: string;
  socketPath: string;
  backend: LiveFakeBackend;
  /** Null until startDaemon() when created with `isDaemonRunning: false`. */
  server: ControlServer | null;
  dev: DevServer;
  /** Start the control server (for "daemon appears later" tests). */
  startDaemon(): Promise<void>;
  close(): Promise<void>;
}

export interface AppHarnessOptions extends FakeBackendOptions {
  /** Start without a daemon listening (default true = running). */
  isDaemonRunning?: boolean;
}

export async function startAppHarness(opts: AppHarnessOptions = {}): Promise<AppHarness> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'masque-app-'));
  const socketPath = path.join(dir, 'daemon.sock');
  const backend = new LiveFakeBackend({ stepMs: 40, ...opts });
  const h: AppHarness = {
    dir,
    socketPath,
    backend,
    server: null,
    dev: null as unknown as DevServer,
    async startDaemon() {
      const server = new ControlServer({ backend, log: silentLogger(), version: '0.0.0-app-test' });
      await server.listen({ path: socketPath, group: null });
      h.server = server;
    },
    async close() {
      await h.dev.close();
      await h.server?.close();
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  if (opts.isDaemonRunning !== false) await h.startDaemon();
  h.dev = await startDevServer({
    client: new ControlClient({ socketPath, checkOwner: true }),
    webRoot: WEB_ROOT,
    autostartDir: path.join(dir, 'autostart'),
    retryMs: 200,
    statsIntervalMs: 250,
  });
  return h;
}
