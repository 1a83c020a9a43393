/**
 * npm run bench:scale — what one relay costs per idle tunnel, and how long a cold two-hop
 * connect takes. In the testbed (root):
 *   - egress: it trusts the ingress namespace; a load process there opens 1 000 then 2 000
 *     idle CONNECT-IP tunnels (load.ts);
 *   - ingress: a load process in the client namespace opens 1 000 then 2 000 idle CONNECT-UDP
 *     sessions to the egress, each a client with its own Noise key (load-udp.ts; the keys are
 *     added to the ingress's authorized_keys and the ingress reloads on SIGHUP);
 * each relay's RSS is read from /proc. Before that, `relay-cli connect` is started 5 times
 * through both hops (process start to `connected`), median reported. Prints a table and JSON
 * lines.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Testbed } from '../../test/helpers/testbed.js';
import { Lab } from '../../test/helpers/lab.js';

const LOAD = fileURLToPath(new URL('./load.js', import.meta.url));
const LOAD_UDP = fileURLToPath(new URL('./load-udp.js', import.meta.url));
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

/** JSON lines of a load process, one at a time. */
function lines(p: ChildProcess): () => Promise<Record<string, number | boolean>> {
  const queue: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  createInterface({ input: p.stdout! }).on('line', (l) => {
    const w = waiters.shift();
    if (w) w(l);
    else queue.push(l);
  });
  return () => new Promise((resolve) => {
    const l = queue.shift();
    if (l !== undefined) resolve(JSON.parse(l) as Record<string, number | boolean>);
    else waiters.push((x) => resolve(JSON.parse(x) as Record<string, number | boolean>));
  });
}

/** Ends a load process; it closes its connections first (SIGTERM), or is killed after 10 s. */
async function stop(p: ChildProcess): Promise<void> {
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
  await new Promise((r) => setTimeout(r, 1000)); // the relay drains the closes
}

/** Waits for the load's final line, then reads the relay's RSS a second later. */
async function measure(relay: string, pid: number, base: number, next: () => Promise<Record<string, number | boolean>>, t0: number): Promise<object> {
  let done: Record<string, number | boolean>;
  do done = await next(); while (!done.done);
  await new Promise((r) => setTimeout(r, 1000));
  const rss = rssMb(pid);
  const opened = Number(done.opened);
  return { case: 'relay-rss', relay, tunnels: opened, failed: done.failed, rssMb: +rss.toFixed(1), kbPerTunnel: +(((rss - base) * 1024) / Math.max(1, opened)).toFixed(1), openSeconds: +((Date.now() - t0) / 1000).toFixed(1) };
}

const tb = await Testbed.create({ ipv6: false, forwarding: 'none' });
const results: object[] = [];
try {
  const lab = await Lab.start(tb, { twoHop: true, logLevel: 'info' });
  // Connect times first, on relays that hold nothing else: the load rounds below leave their
  // relays with grown heaps and 1 000s of closed sessions' state just freed.
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = Date.now();
    const c = await lab.startClient(lab.clientConfig());
    times.push(Date.now() - t0);
    await lab.stopClient(c);
  }
  times.sort((a, b) => a - b);
  results.push({ case: 'cold-connect-2hop', medianMs: times[2], minMs: times[0], maxMs: times[4], note: 'relay-cli process start to connected' });
  const egressPid = lab.egress.proc.pid!;
  await new Promise((r) => setTimeout(r, 500));
  const base = rssMb(egressPid);
  results.push({ case: 'relay-rss', relay: 'egress', tunnels: 0, rssMb: +base.toFixed(1) });
  for (const n of [1000, 2000]) {
    const p = tb.spawn('ingress', process.execPath, [LOAD, lab.egress.address, String(lab.egress.port), String(n)], { stdio: ['ignore', 'pipe', 'inherit'] });
    results.push(await measure('egress', egressPid, base, lines(p), Date.now()));
    await stop(p);
  }
  const ingress = lab.ingress!;
  const ingressPid = ingress.proc.pid!;
  const ingressBase = rssMb(ingressPid);
  results.push({ case: 'relay-rss', relay: 'ingress', tunnels: 0, rssMb: +ingressBase.toFixed(1) });
  for (const n of [1000, 2000]) {
    const keys = path.join(lab.dir, `load-keys-${n}`);
    const p = tb.spawn('client', process.execPath, [LOAD_UDP, ingress.address, String(ingress.port), ingress.publicKey, lab.egress.address, String(lab.egress.port), String(n), keys],
      { stdio: ['pipe', 'pipe', 'inherit'] });
    const next = lines(p);
    await next(); // {"keys": n}: written
    appendFileSync(path.join(lab.dir, 'authorized_keys'), readFileSync(keys));
    const seen = ingress.logs.length;
    ingress.proc.kill('SIGHUP');
    const until = Date.now() + 10_000;
    while (!ingress.logs.slice(seen).some((l) => l.msg === 'config reloaded')) {
      if (Date.now() > until) throw new Error('the ingress did not reload its authorized keys');
      await new Promise((r) => setTimeout(r, 50));
    }
    const t0 = Date.now();
    p.stdin!.write('go\n');
    results.push(await measure('ingress', ingressPid, ingressBase, next, t0));
    await stop(p);
  }
  await lab.stop();
} finally {
  await tb.dispose();
}
console.log('\nbench:scale — one relay holding idle tunnels (egress: CONNECT-IP; ingress: CONNECT-UDP to the egress); cold two-hop connect\n');
for (const r of results) console.log(Object.entries(r).map(([k, v]) => `${k}=${v}`).join('  '));
console.log('');
for (const r of results) console.log(JSON.stringify(r));
