/**
 * npm run bench:quic — the QUIC core measured in two processes over loopback, side by side
 * with @matrixai/quic's high-level API in the same run (the machine is noisy: compare only
 * within one run). Prints a table and one JSON line per case. Flags: --secs N (default 5).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const secs = Number(process.argv[process.argv.indexOf('--secs') + 1]) || 5;
const dir = fileURLToPath(new URL('.', import.meta.url));
type Json = Record<string, number>;

/** Starts a child, returns its JSON lines as a queue. */
function child(script: string, args: string[]) {
  const p = spawn(process.execPath, [dir + script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: Json[] = [];
  const waiters: Array<(j: Json) => void> = [];
  createInterface({ input: p.stdout }).on('line', (l) => {
    let j: Json;
    try {
      j = JSON.parse(l);
    } catch {
      return;
    }
    const w = waiters.shift();
    if (w) w(j);
    else lines.push(j);
  });
  const next = (timeoutMs = (secs + 20) * 1000) =>
    new Promise<Json>((resolve, reject) => {
      const l = lines.shift();
      if (l) return resolve(l);
      const t = setTimeout(() => reject(new Error(`${script} ${args.join(' ')}: no output`)), timeoutMs);
      waiters.push((j) => {
        clearTimeout(t);
        resolve(j);
      });
    });
  return { next, kill: () => p.kill() };
}

async function pair(script: string, kase: string | null) {
  const s = child(script, kase ? ['server', kase] : ['server']);
  const { port } = await s.next();
  const c = child(script, kase ? ['client', kase, String(port), String(secs)] : ['client', String(port), String(secs)]);
  const cr = await c.next();
  const sr = await s.next().catch(() => ({}) as Json);
  s.kill();
  c.kill();
  return { cr, sr };
}

const results: Array<Record<string, unknown>> = [];
{
  const { cr, sr } = await pair('peer.js', 'dgram-oneway');
  const recvd = sr.dgrams ?? 0;
  results.push({
    case: 'dgram-oneway',
    datagramsPerSec: Math.round(recvd / (cr.wallMs / 1000)),
    mbps: +((recvd * 1200 * 8) / (cr.wallMs / 1000) / 1e6).toFixed(1),
    lossPct: +(cr.sent ? (100 * Math.max(0, cr.sent - recvd)) / cr.sent : 0).toFixed(2),
    cpuPctSender: +cr.cpuPct.toFixed(0),
    cpuPctReceiver: +(sr.cpuPct ?? 0).toFixed(0),
  });
}
{
  const { cr } = await pair('peer.js', 'dgram-echo');
  results.push({ case: 'dgram-echo', roundTripsPerSec: Math.round(cr.echoed / (cr.wallMs / 1000)), outstanding: 64, cpuPctClient: +cr.cpuPct.toFixed(0) });
}
{
  const { cr, sr } = await pair('peer.js', 'stream');
  const bytes = sr.bytes ?? cr.bytes;
  results.push({ case: 'stream', mbps: +((bytes * 8) / (cr.wallMs / 1000) / 1e6).toFixed(1), cpuPctSender: +cr.cpuPct.toFixed(0), cpuPctReceiver: +(sr.cpuPct ?? 0).toFixed(0) });
}
{
  const { cr, sr } = await pair('highlevel.js', null);
  const bytes = sr.bytes ?? cr.bytes;
  results.push({ case: 'highlevel-stream', mbps: +((bytes * 8) / (cr.wallMs / 1000) / 1e6).toFixed(1), cpuPctSender: +cr.cpuPct.toFixed(0) });
}
const stream = results.find((r) => r.case === 'stream')!.mbps as number;
const hl = results.find((r) => r.case === 'highlevel-stream')!.mbps as number;
console.log(`\nbench:quic — ${secs} s per case, loopback, two processes, 1200-byte datagrams\n`);
console.log('case              figures');
for (const r of results) {
  const { case: k, ...rest } = r;
  console.log(`${String(k).padEnd(17)} ${Object.entries(rest).map(([a, b]) => `${a}=${b}`).join('  ')}`);
}
console.log(`stream / highlevel-stream = ${(stream / Math.max(hl, 0.001)).toFixed(1)}×\n`);
for (const r of results) console.log(JSON.stringify(r));
