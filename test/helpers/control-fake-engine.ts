/**
 * Stand-in for src/client/engine.js, loaded by the real `relay-cli daemon` and
 * `connect --foreground` through env MASQUE_ENGINE_MODULE in CLI tests.
 * Records what it was given in env FAKE_ENGINE_LOG (a file), one JSON line per call.
 */
import { appendFileSync } from 'node:fs';
import type { ClientConfig } from '../../src/config/client.js';
import type { TunnelBackend } from '../../src/control/schema.js';
import { FakeBackend } from './fake-backend.js';

export function createEngine(cfg: ClientConfig, deps: { log: { info(o: object, m: string): void } }): TunnelBackend {
  const record = (what: string): void => {
    if (process.env.FAKE_ENGINE_LOG) appendFileSync(process.env.FAKE_ENGINE_LOG, JSON.stringify({ what, chain: cfg.chain }) + '\n');
  };
  record('createEngine');
  deps.log.info({ chain: cfg.chain }, 'fake engine created');
  const b = new FakeBackend({ stepMs: 5, failWith: process.env.FAKE_FAIL ? { code: process.env.FAKE_FAIL, message: 'fake failure' } : undefined });
  const close = b.close.bind(b);
  b.close = async () => {
    record('close');
    await close();
  };
  return b;
}
