/**
 * Benchmark child (inside the bench namespace): the device under test. Opens `bt0`, reads
 * in batches and, in echo mode, swaps each packet's addresses and writes the batch back —
 * the per-packet work a tunnel endpoint must at least do. stdin commands (JSON lines):
 *   {"cmd":"mode","mode":"read"|"echo"}   {"cmd":"sample"} → {"event":"sample",...}
 *   {"cmd":"config"} → {"event":"config","batchMs","execFileMs"}  (ip -batch vs execFile)
 *   {"cmd":"reopen","tso":true} → {"event":"reopened","tsoSegs","uso"}: bt0 again, with TSO/USO
 *       reads (the generator's UDP GSO super-packets then arrive whole and are cut here)
 *   {"cmd":"close"}
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createInterface } from 'node:readline';
import { LinuxTun } from '../../src/tun/linux.js';
import { configureInterface } from '../../src/tun/config.js';
import { swapIpAddresses } from '../../src/wire/ip.js';

const emit = (e: Record<string, unknown>) => process.stdout.write(JSON.stringify(e) + '\n');
let isEcho = false;
let reads = 0;
let batches = 0;
let writes = 0;

async function openDevice(tso: boolean) {
  const t = LinuxTun.open({ name: 'bt0', offset: 16, batchSize: 64, vnetHdr: tso, tso });
  const cfg = await configureInterface({ name: t.name, addresses: ['10.99.0.1/24'], mtu: 1500 });
  t.refreshMtu();
  t.onRead((b) => {
    reads += b.count;
    batches++;
    if (!isEcho) return;
    for (let i = 0; i < b.count; i++) swapIpAddresses(b.bufs[i], b.offset);
    writes += t.write(b); // the read batch is a valid write batch: zero copies
  });
  return { tun: t, applied: cfg };
}

let { tun, applied } = await openDevice(false);
emit({ event: 'ready', name: tun.name });

/** Five configuration steps on a scratch TUN, via one ip -batch vs five execFile calls. */
async function measureConfig(): Promise<{ batchMs: number; execFileMs: number }> {
  const run = promisify(execFile);
  const steps = (dev: string) => [
    ['link', 'set', 'dev', dev, 'mtu', '1400'], ['addr', 'add', '10.60.0.1/24', 'dev', dev],
    ['addr', 'add', 'fd60::1/64', 'dev', dev, 'nodad'], ['link', 'set', 'dev', dev, 'up'],
    ['route', 'add', '10.61.0.0/16', 'dev', dev],
  ];
  const best = { batchMs: Infinity, execFileMs: Infinity };
  for (let i = 0; i < 5; i++) {
    const a = LinuxTun.open({ name: 'cfg0' });
    let t0 = performance.now();
    const c = await configureInterface({ name: 'cfg0', mtu: 1400, addresses: ['10.60.0.1/24', 'fd60::1/64'],
      routes: ['10.61.0.0/16'] });
    best.batchMs = Math.min(best.batchMs, performance.now() - t0);
    await c.restore();
    a.close();
    const b = LinuxTun.open({ name: 'cfg0' });
    t0 = performance.now();
    for (const s of steps('cfg0')) await run('ip', s);
    best.execFileMs = Math.min(best.execFileMs, performance.now() - t0);
    b.close();
  }
  return best;
}

const rl = createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  const cmd = JSON.parse(line) as { cmd: string; mode?: string; tso?: boolean };
  if (cmd.cmd === 'mode') isEcho = cmd.mode === 'echo';
  if (cmd.cmd === 'sample') {
    const cpu = process.cpuUsage();
    emit({ event: 'sample', t: performance.now(), reads, batches, writes, cpuUs: cpu.user + cpu.system, supers: tun.tsoStats().superSegments });
  }
  if (cmd.cmd === 'config') emit({ event: 'config', ...(await measureConfig()) });
  if (cmd.cmd === 'reopen') {
    await applied.restore();
    tun.close();
    ({ tun, applied } = await openDevice(cmd.tso === true));
    emit({ event: 'reopened', tsoSegs: tun.tsoSegs, uso: tun.uso });
  }
  if (cmd.cmd === 'close') {
    await applied.restore();
    tun.close();
    rl.close();
    process.stdin.destroy();
  }
});
