/**
 * Child script: opens a TUN, starts a read that never completes (nothing is routed to it),
 * then leaves in the way argv[2] names — the test times how long the process takes to go:
 *   "close"  close() after 100 ms; the process must then exit by itself
 *   "unref"  unref() at once; the process must exit with the read still pending
 *   "exit"   process.exit(0) after 100 ms while reading
 */
import { LinuxTun } from '../../src/tun/linux.js';

const mode = JSON.parse(process.argv[2] ?? '"close"') as string;
const tun = LinuxTun.open({ name: 'pend0' });
tun.onRead(() => {});
process.stdout.write(JSON.stringify({ event: 'reading', name: tun.name }) + '\n');
if (mode === 'close') setTimeout(() => tun.close(), 100);
if (mode === 'unref') tun.unref();
if (mode === 'exit') setTimeout(() => process.exit(0), 100);
