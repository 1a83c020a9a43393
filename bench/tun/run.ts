/**
 * `npm run bench:tun`: TUN read and echo throughput for 1400-byte packets, plus CPU under
 * load and idle, inside a throwaway namespace (needs root):
 *
 *   namespace masque-t-<random> (ip_forward=1)
 *   gen.js ──write──▶ bg0 (10.98.0.1/24) ─forward─▶ bt0 (10.99.0.1/24) ──read──▶ device.js
 *          ◀──read── bg0 ◀──────────── forward ─── bt0 ◀──write (echo)── device.js
 *
 * Phases: idle (device reading, no traffic), read (device only counts), echo (device swaps
 * addresses and writes each batch back), then read again with bt0 reopened with USO reads
 * (the generator's super-packets are forwarded to it whole and cut by the addon, tun.md).
 * Prints a table, then JSON lines:
 *   {"case":"tun-echo","readPps","echoPps","cpuPct","idleCpuPct","readUsoPps",…}
 *   {"case":"tun-config","batchMs","execFileMs"}
 * Env: BENCH_SECONDS (per loaded phase, default 5).
 */
import { execFileSync } from 'node:child_process';
import { createNetns, deleteNetns, NetnsChild } from '../../test/helpers/tun-netns.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const PACKET_BYTES = 1400;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface DevSample { t: number; reads: number; batches: number; writes: number; cpuUs: number; supers: number }
interface GenSample { t: number; written: number; received: number }

async function sample<T>(c: NetnsChild): Promise<T> {
  c.send({ cmd: 'sample' });
  return (await c.next('sample')) as unknown as T;
}

/** Runs one phase of `seconds` and returns rates over it (after a short warm-up). */
async function phase(dev: NetnsChild, gen: NetnsChild | null, seconds: number) {
  if (gen) await sleep(300); // warm-up: queues fill, JIT settles
  const d0 = await sample<DevSample>(dev);
  const g0 = gen ? await sample<GenSample>(gen) : null;
  await sleep(seconds * 1000);
  const d1 = await sample<DevSample>(dev);
  const g1 = gen ? await sample<GenSample>(gen) : null;
  const s = (d1.t - d0.t) / 1000;
  return {
    readPps: (d1.reads - d0.reads) / s,
    writePps: (d1.writes - d0.writes) / s,
    pktsPerBatch: (d1.reads - d0.reads) / Math.max(1, d1.batches - d0.batches),
    supersPerSec: (d1.supers - d0.supers) / s,
    cpuPct: ((d1.cpuUs - d0.cpuUs) / 1e6 / s) * 100,
    genPps: g0 && g1 ? (g1.written - g0.written) / ((g1.t - g0.t) / 1000) : 0,
    returnedPps: g0 && g1 ? (g1.received - g0.received) / ((g1.t - g0.t) / 1000) : 0,
  };
}

const mbps = (pps: number) => (pps * PACKET_BYTES * 8) / 1e6;

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('bench:tun needs root (it creates a network namespace and TUN devices)');
    process.exit(1);
  }
  const ns = createNetns();
  const children: NetnsChild[] = [];
  const cleanup = () => {
    for (const c of children) c.kill();
    deleteNetns(ns);
  };
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1',
      'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0']);
    const dev = new NetnsChild(ns, new URL('./device.js', import.meta.url), null);
    children.push(dev);
    await dev.next('ready');
    const gen = new NetnsChild(ns, new URL('./gen.js', import.meta.url), PACKET_BYTES);
    children.push(gen);
    await gen.next('ready');

    dev.send({ cmd: 'config' });
    const config = await dev.next('config', 30_000);

    await sleep(500);
    const idle = await phase(dev, null, Math.min(3, SECONDS));
    dev.send({ cmd: 'mode', mode: 'read' });
    gen.send({ cmd: 'start' });
    const read = await phase(dev, gen, SECONDS);
    dev.send({ cmd: 'mode', mode: 'echo' });
    const echo = await phase(dev, gen, SECONDS);
    dev.send({ cmd: 'mode', mode: 'read' });
    dev.send({ cmd: 'reopen', tso: true });
    const reopened = await dev.next('reopened', 10_000);
    const readUso = await phase(dev, gen, SECONDS);
    gen.send({ cmd: 'stop' });
    dev.send({ cmd: 'close' });
    gen.send({ cmd: 'close' });
    await Promise.all([dev.exited, gen.exited]);

    const row = (name: string, r: typeof read) =>
      `${name.padEnd(6)} ${Math.round(r.genPps).toString().padStart(10)} ${Math.round(r.readPps).toString().padStart(10)} ` +
      `${mbps(r.readPps).toFixed(0).padStart(9)} ${Math.round(r.writePps).toString().padStart(10)} ` +
      `${Math.round(r.returnedPps).toString().padStart(10)} ${r.pktsPerBatch.toFixed(1).padStart(7)} ${r.cpuPct.toFixed(1).padStart(6)}`;
    console.log(`TUN benchmark, ${PACKET_BYTES}-byte packets, ${SECONDS} s per phase (device process CPU)`);
    console.log('phase    offer pps   read pps read Mbit  echo pps  returned   pkt/wake   CPU %');
    console.log(row('idle', idle));
    console.log(row('read', read));
    console.log(row('echo', echo));
    console.log(row('usoRd', readUso));
    console.log(`usoRd: bt0 reopened with TSO/USO reads (uso ${String(reopened.uso)}), ` +
      `${Math.round(readUso.supersPerSec)} super-packets/s cut into ${Math.round(readUso.readPps)} packets/s`);
    console.log(`config: ip -batch ${config.batchMs as number} ms vs execFile×5 ${config.execFileMs as number} ms (best of 5)`);
    console.log(JSON.stringify({
      case: 'tun-echo', readPps: Math.round(read.readPps), echoPps: Math.round(echo.writePps),
      cpuPct: Number(echo.cpuPct.toFixed(1)), idleCpuPct: Number(idle.cpuPct.toFixed(2)),
      readMbps: Math.round(mbps(read.readPps)), echoMbps: Math.round(mbps(echo.writePps)),
      readCpuPct: Number(read.cpuPct.toFixed(1)), offeredPps: Math.round(read.genPps), packetBytes: PACKET_BYTES,
      readUsoPps: Math.round(readUso.readPps), readUsoCpuPct: Number(readUso.cpuPct.toFixed(1)),
      usoSuperPerSec: Math.round(readUso.supersPerSec), usoOfferedPps: Math.round(readUso.genPps),
    }));
    console.log(JSON.stringify({ case: 'tun-config', batchMs: Number((config.batchMs as number).toFixed(2)),
      execFileMs: Number((config.execFileMs as number).toFixed(2)) }));
  } finally {
    cleanup();
  }
}

await main();
