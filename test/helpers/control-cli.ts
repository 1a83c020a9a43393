/**
 * Running the built CLI (`node dist/cli/main.js`) as a subprocess, and the daemon-like helper
 * (control-daemon.js) on a temp socket, for test/integration/cli*.test.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/test/helpers
export const DIST = path.resolve(here, '../..');
export const CLI = path.join(DIST, 'cli/main.js');
export const FAKE_ENGINE = path.join(DIST, 'test/helpers/control-fake-engine.js');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run relay-cli with args; stdin from `input` (closed otherwise). NO_COLOR unset: pipes are not TTYs. */
export function runCli(args: string[], opts: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, MASQUE_SOCKET: '', ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const t = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Spawn a long-running CLI command; `waitFor(re)` resolves when stdout+stderr match. */
export function spawnCli(args: string[], env: Record<string, string> = {}): { child: ChildProcess; output: () => string; waitFor(re: RegExp, timeoutMs?: number): Promise<void>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, MASQUE_SOCKET: '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const waiters: { re: RegExp; resolve: () => void; reject: (e: Error) => void }[] = [];
  const onData = (c: Buffer): void => {
    out += c.toString();
    for (const w of [...waiters]) {
      if (!w.re.test(out)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((r) =>
    child.on('close', (code) => {
      // Nothing more will arrive: fail pending waits now instead of at their timeout.
      for (const w of waiters.splice(0)) w.reject(new Error(`exited ${code} before matching ${w.re}; output:\n${out}`));
      r(code);
    }),
  );
  return {
    child,
    output: () => out,
    exited,
    waitFor(re, timeoutMs = 10_000) {
      if (re.test(out)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timeout waiting for ${re}; output so far:\n${out}`)), timeoutMs);
        waiters.push({
          re,
          resolve: () => {
            clearTimeout(t);
            resolve();
          },
          reject: (e) => {
            clearTimeout(t);
            reject(e);
          },
        });
      });
    },
  };
}

/** Start the daemon-like helper on a fresh temp socket. */
export async function startFakeDaemon(env: Record<string, string> = {}): Promise<{ socket: string; dir: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'masque-cli-'));
  const socket = path.join(dir, 'daemon.sock');
  const child = spawn(process.execPath, [path.join(DIST, 'test/helpers/control-daemon.js'), socket], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (c) => reject(new Error(`fake daemon exited ${c}`)));
  });
  return {
    socket,
    dir,
    async stop() {
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
    },
  };
}

/** True when the real engine module has been built (then NOT_BUILT cases are skipped). */
export function isBuilt(rel: string): boolean {
  return existsSync(path.join(DIST, rel));
}
