// Process-wide cleanup for testbeds: whatever happens to the process (normal exit, a thrown
// error, SIGINT/SIGTERM/SIGHUP), every namespace a testbed created and every process it
// started is removed. SIGKILL cannot be caught; for that case `sweepStale()` removes the
// namespaces of dead runs the next time any testbed is created (names carry the owner's PID).
import { execFileSync } from 'node:child_process';

/** Something that can tear itself down synchronously (used from the 'exit' handler). */
export interface SyncDisposable {
  disposeSync(): void;
}

const live = new Set<SyncDisposable>();
let isInstalled = false;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Prefix of every namespace this process creates: `mq-<pid>-`. */
export const NS_PREFIX = `mq-${process.pid}-`;

/** Tracks `d` until `untrack(d)`; installs the exit/signal handlers on first use. */
export function track(d: SyncDisposable): void {
  install();
  live.add(d);
}

/** Stops tracking `d` (after it disposed itself). */
export function untrack(d: SyncDisposable): void {
  live.delete(d);
}

/** Disposes every tracked testbed now, synchronously. Errors are swallowed: this is a last resort. */
export function disposeAllSync(): void {
  for (const d of [...live]) {
    try {
      d.disposeSync();
    } catch {
      // keep going: one broken testbed must not leave the others behind
    }
    live.delete(d);
  }
}

function onSignal(sig: NodeJS.Signals): void {
  disposeAllSync();
  // If we are the only listener, restore the default action and re-raise so the process
  // dies "by signal" as it would have without us. If the program has its own handler, it
  // decides what happens next.
  if (process.listenerCount(sig) === 1) {
    process.removeListener(sig, onSignal);
    process.kill(process.pid, sig);
  }
}

function install(): void {
  if (isInstalled) return;
  isInstalled = true;
  process.on('exit', disposeAllSync);
  for (const sig of SIGNALS) process.on(sig, onSignal);
}

/** Runs `ip` synchronously; returns stdout, or '' on failure. */
export function ipSync(args: string[]): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
  } catch {
    return '';
  }
}

/** PIDs of all processes living in namespace `name` (all of them were started by us). */
export function pidsInNamespace(name: string): number[] {
  return ipSync(['netns', 'pids', name])
    .split('\n')
    .map((s) => Number.parseInt(s, 10))
    .filter((n) => Number.isInteger(n) && n > 0 && n !== process.pid);
}

/** SIGKILLs every process in namespace `name`, then deletes it (its veths go with it). */
export function killAndDeleteNamespace(name: string): void {
  for (const pid of pidsInNamespace(name)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  ipSync(['netns', 'del', name]);
}

/** Names of all namespaces (from `ip netns list`, attributes like "(id: 3)" stripped). */
export function listNamespaces(): string[] {
  return ipSync(['netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((s) => s.length > 0);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes namespaces `mq-<pid>-*` whose owner process is dead (a run that was SIGKILLed).
 * Namespaces of live processes (parallel runs) are never touched. Returns the removed names.
 */
export function sweepStale(): string[] {
  const removed: string[] = [];
  for (const name of listNamespaces()) {
    const m = /^mq-(\d+)-/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || isAlive(pid)) continue;
    killAndDeleteNamespace(name);
    removed.push(name);
  }
  return removed;
}
