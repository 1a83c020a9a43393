/**
 * Child script: opens a TUN, starts a read that never completes (nothing is routed to it),
 * then leaves in the way argv[2] names — the test times how long the process takes to go:
 *   "close"   close() after 100 ms; the process must then exit by itself
 *   "unref"   unref() at once; the process must exit with the read still pending
 *   "exit"    process.exit(0) after 100 ms while reading
 *   "worker"  a worker thread opens and reads, then is terminated without close(); the
 *             addon's env cleanup hook must release the fd and poll handle
 */
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { LinuxTun } from '../../src/tun/linux.js';

const mode = JSON.parse(process.argv[2] ?? '"close"') as string;
const emit = (e: Record<string, unknown>) => process.stdout.write(JSON.stringify(e) + '\n');

if (!isMainThread) {
  const tun = LinuxTun.open({ name: 'pend0' });
  tun.onRead(() => {});
  parentPort?.postMessage(tun.name);
} else if (mode === 'worker') {
  const w = new Worker(new URL(import.meta.url), { argv: [process.argv[2]] });
  w.once('message', (name: string) => {
    emit({ event: 'reading', name });
    setTimeout(() => void w.terminate(), 100);
  });
} else {
  const tun = LinuxTun.open({ name: 'pend0' });
  tun.onRead(() => {});
  emit({ event: 'reading', name: tun.name });
  if (mode === 'close') setTimeout(() => tun.close(), 100);
  if (mode === 'unref') tun.unref();
  if (mode === 'exit') setTimeout(() => process.exit(0), 100);
}
