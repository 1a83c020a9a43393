/**
 * Lazy loading of the heavy engines (STYLE.md §3): `serve` needs src/relay/main.js,
 * `daemon` and `connect --foreground` need src/client/engine.js. Nothing else in cli/ imports
 * them, so `relay-cli status` stays fast. The specifier is built at run time so that `tsc`
 * does not need the modules to exist; a missing module is CliError ERR_NOT_BUILT (exit 6).
 *
 * MASQUE_ENGINE_MODULE / MASQUE_RELAY_MODULE replace the module path (tests run the real
 * `daemon` command around a fake engine). Only whoever controls the daemon's environment —
 * root, for the installed service — can set them.
 */
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import type { TunnelBackend } from '../src/control/schema.js';
import type { ClientConfig } from '../src/config/client.js';
import type { RelayConfig } from '../src/config/relay.js';
import { CliError, EXIT } from './exit-codes.js';

/** The contract of src/relay/main.ts. */
export interface RelayModule {
  runRelay(cfg: RelayConfig, deps: { log: Logger }): Promise<RelayHandle>;
}
/** A running relay: `reload` applies a new config (SIGHUP); `close` stops it. */
export interface RelayHandle {
  close(): Promise<void>;
  reload(cfg: RelayConfig): Promise<void>;
}
/** The contract of src/client/engine.ts. */
export interface EngineModule {
  createEngine(cfg: ClientConfig, deps: { log: Logger }): TunnelBackend;
  /** Daemon start: undo what a crashed run left (DNS backup, a connect block). Optional for test engines. */
  recoverAfterCrash?(cfg: ClientConfig, deps: { log: Logger }): Promise<void>;
}

export function loadRelayModule(): Promise<RelayModule> {
  return loadModule<RelayModule>(process.env.MASQUE_RELAY_MODULE, '../src/relay/main.js', 'the relay (src/relay/main)', 'runRelay');
}

export function loadEngineModule(): Promise<EngineModule> {
  return loadModule<EngineModule>(process.env.MASQUE_ENGINE_MODULE, '../src/client/engine.js', 'the tunnel engine (src/client/engine)', 'createEngine');
}

async function loadModule<T>(override: string | undefined, rel: string, what: string, fn: string): Promise<T> {
  const url = override ? pathToFileURL(override).href : new URL(rel, import.meta.url).href;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    // Only "this very file is missing" means not built; a missing import inside it is a real bug.
    if (err.code === 'ERR_MODULE_NOT_FOUND' && err.message.includes(new URL(url).pathname)) {
      throw new CliError('ERR_NOT_BUILT', `${what} is not part of this build (${new URL(url).pathname} missing)`, EXIT.NOT_BUILT, { cause: e });
    }
    throw e;
  }
  if (typeof mod[fn] !== 'function') {
    throw new CliError('ERR_NOT_BUILT', `${what} does not export ${fn}()`, EXIT.NOT_BUILT);
  }
  return mod as T;
}
