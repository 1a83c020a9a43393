/**
 * Child script for test/unit/native/reader-lifetime.test.ts: drives the native readers
 * (native/common/poll-reader.c) through the lifetimes a test process cannot survive or see
 * from outside, and prints one JSON line with what it found. Run with --expose-gc:
 *   "gc"          a UDP reader whose handle JS drops without close: the GC must close it
 *                 (its dup fd, its callback); one whose handle is kept stays open
 *   "stale"       close, then calls on the closed handle, then its GC
 *   "worker"      a worker with an open reader it still holds, one it closed a moment ago
 *                 and one it dropped exits: env teardown and the finalizers meet
 *   "exit-held"   the process ends by itself with an unref'd reader whose handle is live
 *   "resume"      a TUN-kind reader on fd 3 (a connected UDP socket from the parent) fails
 *                 on an ICMP error; argv[3] is the dead port, argv[4] fd 3's own port
 * Exits 0 after printing; a leaked reader keeps the loop alive, so the parent sees a hang.
 */
import dgram from 'node:dgram';
import { readdirSync, readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { loadTunAddon } from '../../src/tun/linux.js';
import { loadUdpBatchAddon, socketFd } from '../../src/quic/udp-batch.js';

interface UdpRecv {
  ADDR_SLOT: number;
  recvStart(fd: number, buf: Buffer, slot: number, maxBatch: number, lens: Int32Array, addrs: Uint8Array,
    state: Int32Array, cb: (count: number, errno: number) => void): object;
  recvClose(h: object): void;
  recvRef(h: object, on: boolean): void;
}

const emit = (e: Record<string, unknown>) => process.stdout.write(JSON.stringify(e) + '\n');
const gc = (globalThis as { gc?: () => void }).gc;

function udpAddon(): UdpRecv {
  const a = loadUdpBatchAddon() as unknown as UdpRecv | undefined;
  if (!a) throw new Error('native/udp not built');
  return a;
}

/** fds of this process that refer to the same socket as fd (itself included). */
function fdsOf(fd: number): number[] {
  const target = readlinkSync(`/proc/self/fd/${fd}`);
  const out: number[] = [];
  for (const name of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${name}`) === target) out.push(Number(name));
    } catch {
      // the fd readdir itself used, gone already
    }
  }
  return out;
}

/** Starts a reader on a dup of fd; returns its handle and a WeakRef to its callback. */
function start(fd: number): { h: object; cb: WeakRef<object> } {
  const a = udpAddon();
  const cb = () => {};
  const h = a.recvStart(fd, Buffer.alloc(4 * 2048), 2048, 4, new Int32Array(4), new Uint8Array(4 * a.ADDR_SLOT),
    new Int32Array(2), cb);
  return { h, cb: new WeakRef(cb) };
}

/** Like start, but the handle is dropped before this returns: only the GC can close it. */
function startAndDrop(fd: number): WeakRef<object> {
  return start(fd).cb;
}

/** Collects until done() or 20 rounds. A WeakRef's deref() keeps its target alive until the
 * job ends, and napi finalizers run from the loop after the GC: hence a wait on each side. */
async function collect(done: () => boolean): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await sleep(10);
    gc!();
    await sleep(10);
    if (done()) return;
  }
}

async function bound(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return s;
}

async function gcMode(): Promise<void> {
  const sock = await bound();
  const fd = socketFd(sock)!;
  const dropped = startAndDrop(fd);
  const whileStarted = fdsOf(fd).length;
  const kept = start(fd);
  await collect(() => fdsOf(fd).length === 2 && dropped.deref() === undefined);
  emit({
    whileStarted,
    afterGc: fdsOf(fd).length, // the kept reader's dup and the socket's own fd
    droppedCallbackCollected: dropped.deref() === undefined,
    keptCallbackAlive: kept.cb.deref() !== undefined,
  });
  udpAddon().recvClose(kept.h);
  sock.close();
}

async function staleMode(): Promise<void> {
  const sock = await bound();
  const fd = socketFd(sock)!;
  const a = udpAddon();
  let r: { h: object; cb: WeakRef<object> } | undefined = start(fd);
  a.recvClose(r.h);
  await sleep(10); // the close callback has run: only the handle still refers to the reader
  a.recvClose(r.h);
  a.recvRef(r.h, true);
  const afterClose = fdsOf(fd).length;
  const cb = r.cb;
  r = undefined;
  await collect(() => cb.deref() === undefined);
  emit({ afterClose, callbackCollected: cb.deref() === undefined });
  sock.close();
}

async function workerMode(): Promise<void> {
  if (!isMainThread) {
    const fds = workerData as number[];
    const a = udpAddon();
    const held = start(fds[0]!);
    const closed = start(fds[1]!);
    startAndDrop(fds[2]!);
    (globalThis as { held?: object }).held = held.h;
    a.recvClose(closed.h); // its close callback is still pending at exit
    gc!(); // the dropped one's finalizer is queued, maybe not run yet
    parentPort!.postMessage('started');
    process.exit(0); // ends this worker's env with all three in flight
  }
  const socks = await Promise.all([bound(), bound(), bound()]);
  const fds = socks.map((s) => socketFd(s)!);
  const w = new Worker(new URL(import.meta.url), { argv: ['worker'], workerData: fds });
  let started = false;
  w.on('message', () => (started = true));
  const code = await new Promise<number>((r) => w.once('exit', r));
  emit({ started, code, fdsAfter: fds.map((fd) => fdsOf(fd).length) });
  for (const s of socks) s.close();
}

async function exitHeldMode(): Promise<void> {
  const sock = await bound();
  const r = start(socketFd(sock)!);
  udpAddon().recvRef(r.h, false);
  (globalThis as { held?: object }).held = r.h;
  sock.unref();
  emit({ started: true });
}

/** Waits until events has n entries, or 2 s. */
async function until(events: unknown[], n: number): Promise<void> {
  for (const end = Date.now() + 2000; events.length < n && Date.now() < end;) await sleep(5);
}

async function resumeMode(deadPort: number, ownPort: number): Promise<void> {
  await new Promise<void>((r) => process.stdin.once('data', () => r())); // the parent closed its copy of fd 3
  process.stdin.pause();
  const tun = loadTunAddon();
  const buf = Buffer.alloc(4 * 2048);
  const sizes = new Int32Array(4);
  const events: [number, number, string][] = [];
  const h = tun.pollStart(3, buf, 2048, 0, sizes, 4, (count, errno) => {
    events.push([count, errno, count > 0 ? buf.subarray(0, sizes[0]).toString() : '']);
  });
  const out: Record<string, unknown> = {};
  // Nothing listens on the dead port: the ICMP error breaks fd 3 (EPOLLERR, SO_ERROR pending).
  tun.write(3, [Buffer.from('x')], 0, 1, undefined);
  await until(events, 1);
  await sleep(100);
  out.failed = events.slice();
  tun.pollResume(h);
  await until(events, 2);
  await sleep(100);
  out.resumedBroken = events.slice(1);
  try {
    tun.write(3, [Buffer.from('y')], 0, 1, undefined);
    out.clear = 'sent';
  } catch (e) {
    out.clear = (e as { code?: string }).code; // the pending error, now consumed
  }
  const peer = dgram.createSocket('udp4');
  await new Promise<void>((r) => peer.bind(deadPort, '127.0.0.1', r));
  await new Promise<void>((r) => peer.send('hello', ownPort, '127.0.0.1', () => r()));
  tun.pollResume(h);
  await until(events, 3);
  out.resumedFixed = events.slice(2);
  tun.pollClose(h);
  tun.close(3);
  peer.close();
  emit(out);
}

const mode = process.argv[2];
if (mode === 'gc') await gcMode();
else if (mode === 'stale') await staleMode();
else if (mode === 'worker') await workerMode();
else if (mode === 'exit-held') await exitHeldMode();
else if (mode === 'resume') await resumeMode(Number(process.argv[3]), Number(process.argv[4]));
else throw new Error(`unknown mode ${String(mode)}`);
