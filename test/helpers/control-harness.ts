/**
 * In-process control API harness (Tailscale's ipn/lapitest): a ControlServer over a temp
 * Unix socket around a FakeBackend, plus a client pointed at it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ControlServer } from '../../src/control/server.js';
import { ControlClient, type ControlClientOptions } from '../../src/control/client.js';
import { silentLogger } from '../../src/log/logger.js';
import { FakeBackend, type FakeBackendOptions } from './fake-backend.js';

export interface Harness {
  dir: string;
  socketPath: string;
  backend: FakeBackend;
  server: ControlServer;
  client(opts?: ControlClientOptions): ControlClient;
  close(): Promise<void>;
}

/** Start a server on `<tmp>/daemon.sock` (group: none, so tests need no `masque` group). */
export async function startHarness(opts: FakeBackendOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'masque-ctl-'));
  const socketPath = path.join(dir, 'daemon.sock');
  const backend = new FakeBackend(opts);
  const server = new ControlServer({ backend, log: silentLogger(), version: '0.0.0-test' });
  await server.listen({ path: socketPath, group: null });
  return {
    dir,
    socketPath,
    backend,
    server,
    client: (o = {}) => new ControlClient({ socketPath, ...o }),
    async close() {
      await server.close();
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
