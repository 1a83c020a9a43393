/**
 * npm run bench:scale — what one relay costs per idle tunnel, and how long a cold two-hop
 * connect takes. In the testbed (root): an egress relay trusts the ingress namespace, a load
 * process there opens 1 000 then 2 000 idle CONNECT-IP tunnels, and the egress's RSS is read
 * from /proc. Then `relay-cli connect` is started 5 times through both hops (process start
 * to `connected`), median reported. Prints a table and JSON lines.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Testbed } from '../../test/helpers/testbed.js';
import { Lab } from '../../test/helpers/lab.js';

const LOAD = fileURLToPath(new URL('./load.js', import.meta.url));
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

const tb = await Testbed.create({ ipv6: false, forwarding: 'none' });
const results: object[] = [];
try {
  const lab = await Lab.start(tb, { twoHop: true, logLevel: 'info' });
  const egressPid = lab.egress.proc.pid!;
  await new Promise((r) => setTimeout(r, 500));
  const base = rssMb(egressPid);
  results.push({ case: 'relay-rss', tunnels: 0, rssMb: +base.toFixed(1) });
  for (const n of [1000, 2000]) {
    const p = tb.spawn('ingress', process.execPath, [LOAD, lab.egress.address, String(lab.egress.port), String(n)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const t0 = Date.now();
    const done = await new Promise<{ opened: number; failed: number }>((resolve) => {
      createInterface({ input: p.stdout! }).on('line', (l) => {
        const j = JSON.parse(l) as { opened: number; failed: number; done?: boolean };
        if (j.done) resolve(j);
      });
    });
    await new Promise((r) => setTimeout(r, 1000));
    const rss = rssMb(egressPid);
    results.push({ case: 'relay-rss', tunnels: done.opened, failed: done.failed, rssMb: +rss.toFixed(1), kbPerTunnel: +(((rss - base) * 1024) / Math.max(1, done.opened)).toFixed(1), openSeconds: +((Date.now() - t0) / 1000).toFixed(1) });
    p.kill();
    await new Promise((r) => setTimeout(r, 1500));
  }
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = Date.now();
    const c = await lab.startClient(lab.clientConfig());
    times.push(Date.now() - t0);
    await lab.stopClient(c);
  }
  times.sort((a, b) => a - b);
  results.push({ case: 'cold-connect-2hop', medianMs: times[2], minMs: times[0], maxMs: times[4], note: 'relay-cli process start to connected' });
  await lab.stop();
} finally {
  await tb.dispose();
}
console.log('\nbench:scale — one egress relay, idle CONNECT-IP tunnels; cold two-hop connect\n');
for (const r of results) console.log(Object.entries(r).map(([k, v]) => `${k}=${v}`).join('  '));
console.log('');
for (const r of results) console.log(JSON.stringify(r));
