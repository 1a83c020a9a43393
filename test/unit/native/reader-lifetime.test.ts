/**
 * The lifetime of a native reader (native/common/poll-reader.c, shared by native/udp and
 * native/tun): a handle JS drops without close is closed by its finalizer; a closed handle
 * stays safe to pass; env teardown and the finalizer meet without a double free; and after a
 * read error pollResume restarts the reader. Each case runs in a child process with
 * --expose-gc (test/helpers/reader-lifetime.ts), since a leaked reader shows as a process
 * that never exits and a double free as one that aborts. Loopback sockets only; no root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { constants } from 'node:os';
import { loadUdpBatchAddon, socketFd } from '../../../src/quic/udp-batch.js';

const CHILD = new URL('../../helpers/reader-lifetime.js', import.meta.url).pathname;
const skip = process.platform !== 'linux' ? 'native addons are Linux-only'
  : loadUdpBatchAddon() === undefined ? 'native/udp not built' : false;

interface Run { code: number | null; signal: NodeJS.Signals | null; out: Record<string, unknown>; stderr: string }

/** Runs the child in mode; resolves when it exits, or kills it after 15 s (a reader kept it alive). */
async function run(mode: string, args: string[] = [], fd3?: number, onSpawn?: (stdin: NodeJS.WritableStream) => void): Promise<Run> {
  const stdio: (string | number)[] = ['pipe', 'pipe', 'pipe'];
  if (fd3 !== undefined) stdio.push(fd3);
  const child = spawn(process.execPath, ['--expose-gc', CHILD, mode, ...args], { stdio: stdio as ('pipe' | number)[] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  onSpawn?.(child.stdin!);
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => child.once('exit', (c, s) => r([c, s])));
  clearTimeout(timer);
  const line = stdout.trim().split('\n').pop() ?? '';
  return { code, signal, out: line ? JSON.parse(line) as Record<string, unknown> : {}, stderr };
}

/** What the child found, then how it ended: a hang (killed) or a crash fails here. */
function assertRun(r: Run, out: Record<string, unknown>): void {
  assert.deepEqual(r.out, out, r.stderr);
  assert.deepEqual([r.code, r.signal], [0, null], `child ${r.signal === 'SIGKILL' ? 'did not exit' : 'failed'}: ${r.stderr}`);
}

test('a reader whose handle is garbage-collected without close is closed: dup fd, callback', { skip }, async () => {
  const r = await run('gc');
  assertRun(r, {
    whileStarted: 2, // the socket's fd and the reader's dup
    afterGc: 2, // the dropped reader's dup is closed; the kept reader's is not
    droppedCallbackCollected: true,
    keptCallbackAlive: true,
  });
});

test('calls on a closed handle are no-ops, and its later collection frees nothing twice', { skip }, async () => {
  const r = await run('stale');
  assertRun(r, { afterClose: 1, callbackCollected: true });
});

test('a worker exiting with readers open, just closed and just dropped closes every dup', { skip }, async () => {
  const r = await run('worker');
  assertRun(r, { started: true, code: 0, fdsAfter: [1, 1, 1] });
});

test('the process ends by itself with an unref\'d reader whose handle is still live', { skip }, async () => {
  const r = await run('exit-held');
  assertRun(r, { started: true });
});

test('after a read error the reader is paused; pollResume restarts it', { skip }, async () => {
  // fd 3 of the child: a UDP socket connected to a port nothing listens on.
  const dead = dgram.createSocket('udp4');
  await new Promise<void>((r) => dead.bind(0, '127.0.0.1', r));
  const deadPort = dead.address().port;
  await new Promise<void>((r) => dead.close(() => r()));
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  await new Promise<void>((r) => sock.connect(deadPort, '127.0.0.1', () => r()));
  const ownPort = sock.address().port;
  const r = await run('resume', [String(deadPort), String(ownPort)], socketFd(sock), (stdin) => {
    // Our copy must be gone before the child breaks the socket, or our loop may read the error.
    sock.close();
    stdin.end('go\n');
  });
  const { EBADF } = constants.errno;
  assertRun(r, {
    failed: [[0, EBADF, '']], // libuv reports EPOLLERR as UV_EBADF; then nothing: no spin
    resumedBroken: [[0, EBADF, '']], // still broken: reported once more, paused again
    clear: 'ECONNREFUSED', // a send returns the pending error and clears it
    resumedFixed: [[1, 0, 'hello']], // reading again
  });
});
