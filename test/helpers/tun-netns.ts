/**
 * Namespace plumbing for the TUN tests and benchmark: create a throwaway network namespace,
 * run child node scripts inside it, talk to them in JSON lines, delete the namespace.
 * Everything that touches interfaces happens inside the namespace (never the root one).
 */
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';

/** True when the netns tier may run (root, or MASQUE_NETNS=1 as scripts/run-tests.js sets). */
export function canUseNetns(): boolean {
  return process.getuid?.() === 0 || process.env.MASQUE_NETNS === '1';
}

/** Creates `masque-t-<random>` with loopback up; returns its name. */
export function createNetns(): string {
  const name = `masque-t-${randomBytes(4).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', name]);
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

/** Deletes the namespace; never throws (cleanup paths call it). */
export function deleteNetns(name: string): void {
  try {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  } catch {
    // already gone
  }
}

/** Runs a command inside the namespace; returns exit code and output. */
export function execInNetns(ns: string, cmd: string, args: string[], timeoutMs = 20_000): { code: number; out: string } {
  try {
    const out = execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { timeout: timeoutMs, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { code: 0, out };
  } catch (e) {
    const err = e as { status?: number; stdout?: string; stderr?: string };
    return { code: err.status ?? -1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

export type Event = { event: string } & Record<string, unknown>;

/** A child node script in a namespace, exchanging JSON lines (stdin commands, stdout events). */
export class NetnsChild {
  readonly proc: ChildProcessWithoutNullStreams;
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  private readonly events: Event[] = [];
  private waiters: (() => void)[] = [];
  stderr = '';

  constructor(ns: string, script: URL, arg: unknown) {
    this.proc = spawn('ip', ['netns', 'exec', ns, process.execPath, script.pathname, JSON.stringify(arg)]);
    this.proc.stderr.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as Event);
      } catch {
        this.stderr += `(stdout) ${line}\n`;
      }
      for (const w of this.waiters.splice(0)) w();
    });
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, signal) => {
      resolve({ code, signal });
      for (const w of this.waiters.splice(0)) w();
    }));
  }

  send(cmd: Record<string, unknown>): void {
    this.proc.stdin.write(JSON.stringify(cmd) + '\n');
  }

  /** Resolves with (and consumes) the next event named `name`; rejects on timeout or exit. */
  async next(name: string, timeoutMs = 10_000): Promise<Event> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.events.findIndex((e) => e.event === name);
      if (i >= 0) return this.events.splice(i, 1)[0];
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) {
        throw new Error(`child exited before '${name}': ${this.stderr}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout waiting for '${name}': ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Kills the child (by its PID) if it is still running. */
  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}
