// The contract between the VPN benchmark harness (run.ts) and one way of carrying the
// client's traffic to the server (a "path"): plain routing, WireGuard, OpenVPN, and later
// the masque-relay single-hop and two-hop paths (paths/index.ts).
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Testbed } from '../../test/helpers/testbed.js';

/**
 * One path, used once: setup() → measurements → teardown().
 * After setup() resolves, the client namespace reaches `tb.addr.server.v4` through the path
 * (and only through it: tunnel paths keep the testbed in `tunnel` forwarding mode, which
 * drops plain client → server transit). The tunnel's far end forwards to the server namespace.
 * teardown() must leave the testbed as setup() found it (forwarding `none`, no extra
 * processes, devices or routes) so the next path starts clean; it is called even if setup()
 * failed halfway, so it must cope with partial state.
 */
export interface VpnPath {
  setup(tb: Testbed): Promise<void>;
  /** Processes whose CPU use is reported, by label (e.g. `wg-client`). Valid after setup(). */
  pids(): Record<string, number>;
  teardown(): Promise<void>;
}

/** A registry entry: a name for `--paths`, a one-line description, and a factory. */
export interface VpnPathSpec {
  name: string;
  description: string;
  create(): VpnPath;
}

/**
 * Resolves with everything printed so far once `child` prints text matching `re` on stdout
 * or stderr; rejects if it exits first or `timeoutMs` passes (the output is in the error).
 */
export function waitForOutput(child: ChildProcess, re: RegExp, timeoutMs: number, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (d: Buffer | string): void => {
      seen += d.toString();
      if (re.test(seen)) finish(null);
    };
    const onExit = (code: number | null, sig: string | null): void => finish(new Error(`${what} exited (${code ?? sig}) before ready:\n${seen.slice(-2000)}`));
    const timer = setTimeout(() => finish(new Error(`${what} not ready after ${timeoutMs} ms:\n${seen.slice(-2000)}`)), timeoutMs);
    function finish(err: Error | null): void {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(seen);
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** Keeps reading a long-lived child's pipes so it never blocks on a full pipe. */
export function drain(child: ChildProcess): void {
  child.stdout?.resume();
  child.stderr?.resume();
}

/** A private temporary directory (mode 0700) for keys and configs; `remove()` deletes it. */
export async function makeTempDir(tag: string): Promise<{ dir: string; file(name: string): string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `mq-bench-${tag}-`));
  return { dir, file: (name) => join(dir, name), remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Sleeps `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
