/**
 * npm run demo — the whole product in under a minute, as root, on a fresh machine:
 * builds the four-namespace testbed, starts an egress and an ingress relay with generated
 * keys, connects a client through both hops, fetches a page from a small HTTP server in the
 * server namespace through the tunnel, pings it, runs a 5-second transfer, and prints what
 * each relay saw (packet headers on its interfaces, its logs and metrics). Tears it all down.
 * `--quick`: 2-second transfer (CI smoke run).
 */
import type { ChildProcess } from 'node:child_process';
import { Testbed } from '../test/helpers/testbed.js';
import { Lab, metricValue, type LabRelay } from '../test/helpers/lab.js';

const isQuick = process.argv.includes('--quick');
const t0 = Date.now();
const say = (s: string) => process.stdout.write(`${s}\n`);
const step = (s: string) => say(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${s}`);

if (process.getuid?.() !== 0) {
  console.error('npm run demo needs root: it creates network namespaces, veth pairs, TUN devices and nftables rules (all removed at the end). Run it with sudo.');
  process.exit(1);
}

const HTTP_SERVER = `require('http').createServer((q,s)=>s.end('<h1>hello through masque-relay</h1>\\n')).listen(80, process.argv[1])`;

/** tcpdump on every interface of a namespace; returns the set of IPs seen in headers. */
function capture(tb: Testbed, host: 'ingress' | 'egress'): { stop(): Promise<Set<string>> } {
  const p: ChildProcess = tb.spawn(host, 'tcpdump', ['-i', 'any', '-n', '-l', '-q', 'ip or ip6'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  p.stdout!.on('data', (d) => (out += d));
  return {
    async stop() {
      p.kill('SIGINT');
      await new Promise((r) => setTimeout(r, 300));
      const ips = new Set<string>();
      for (const m of out.matchAll(/\b(10\.99\.\d+\.\d+|100\.6[4-9]\.\d+\.\d+)\b/g)) ips.add(m[1]);
      return ips;
    },
  };
}

async function main(): Promise<void> {
  step('building the testbed: client — ingress — egress — server (network namespaces)');
  const tb = await Testbed.create({ ipv6: true, forwarding: 'none' });
  let lab: Lab | undefined;
  try {
    const names: Record<string, string> = {
      [tb.addr.client.v4]: 'client', [tb.links['client-ingress'].rightAddr.v4]: 'ingress', [tb.links['ingress-egress'].leftAddr.v4]: 'ingress',
      [tb.links['ingress-egress'].rightAddr.v4]: 'egress', [tb.links['egress-server'].leftAddr.v4]: 'egress', [tb.addr.server.v4]: 'server',
    };
    step('starting relays with fresh Curve25519 identities (egress, then ingress)');
    lab = await Lab.start(tb, { twoHop: true });
    const httpd = tb.spawn('server', process.execPath, ['-e', HTTP_SERVER, tb.addr.server.v4], { stdio: 'ignore' });
    const caps = { ingress: capture(tb, 'ingress'), egress: capture(tb, 'egress') };
    step('connecting the client: QUIC → ingress, CONNECT-UDP → egress, inner QUIC → egress, CONNECT-IP');
    const tc = Date.now();
    const client = await lab.startClient(lab.clientConfig());
    const connectMs = Date.now() - tc;
    const st = client.state as { addresses: string[]; chain: Array<{ role: string; address: string }> };
    step(`connected in ${connectMs} ms; tunnel addresses ${st.addresses.join(', ')}`);
    const page = await tb.exec('client', process.execPath, ['-e', `fetch('http://${tb.addr.server.v4}/').then(r=>r.text()).then(t=>process.stdout.write(t))`], { timeoutMs: 10_000 });
    step(`GET http://${tb.addr.server.v4}/ → ${page.stdout.trim()}`);
    const rtt = await pingServer(tb, 5, 0.2);
    step(`ping ${tb.addr.server.v4}: ${rtt.replies}/5 replies, avg RTT ${rtt.avg} ms (right after connect: our data path is still cold, see docs/benchmarks.md)`);
    const secs = isQuick ? 2 : 5;
    const iperfSrv = tb.spawn('server', 'iperf3', ['-s', '-1', '-B', tb.addr.server.v4], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300));
    const ip = await tb.exec('client', 'iperf3', ['-c', tb.addr.server.v4, '-t', String(secs), '-J'], { timeoutMs: (secs + 15) * 1000, allowFail: true });
    iperfSrv.kill();
    const mbps = ((JSON.parse(ip.stdout || '{}').end?.sum_received?.bits_per_second ?? 0) / 1e6).toFixed(0);
    step(`${secs}-second TCP transfer (iperf3): ${mbps} Mbit/s`);
    const rttInUse = await pingServer(tb, 20, 0.05);
    step(`ping ${tb.addr.server.v4} again: ${rttInUse.replies}/20 replies, avg RTT ${rttInUse.avg} ms (tunnel in use)`);
    const seen = { ingress: await caps.ingress.stop(), egress: await caps.egress.stop() };
    const [mi, me] = [await lab.metrics(lab.ingress!), await lab.metrics(lab.egress)];
    await lab.stopClient(client);
    httpd.kill();
    report(tb, lab, st, { connectMs, rtt: rtt.avg, rttInUse: rttInUse.avg, mbps, seen, names, mi, me });
  } finally {
    await lab?.stop();
    await tb.dispose();
    step('torn down: namespaces, TUN devices, routes and nftables rules removed');
  }
}

/** `count` pings from the client to the server through the tunnel: replies and average RTT. */
async function pingServer(tb: Testbed, count: number, intervalS: number): Promise<{ replies: number; avg: string }> {
  const ping = await tb.exec('client', 'ping', ['-c', String(count), '-i', String(intervalS), tb.addr.server.v4], { allowFail: true, timeoutMs: 15_000 });
  return { replies: Number(/(\d+) received/.exec(ping.stdout)?.[1] ?? 0), avg: /= [\d.]+\/([\d.]+)\//.exec(ping.stdout)?.[1] ?? '?' };
}

function who(ips: Set<string>, names: Record<string, string>): string {
  const roles = new Set([...ips].map((ip) => names[ip] ?? (ip.startsWith('100.') ? 'tunnel pool' : ip)));
  return [...roles].sort().join(', ');
}

function report(tb: Testbed, lab: Lab, st: { addresses: string[]; chain: Array<{ role: string; address: string }> }, r: {
  connectMs: number; rtt: string; rttInUse: string; mbps: string; seen: Record<'ingress' | 'egress', Set<string>>; names: Record<string, string>; mi: string; me: string;
}): void {
  const peers = (l: LabRelay) => [...new Set(l.logs.filter((x) => x.msg === 'session requested').map((x) => `${x.peer}${x.target ? ` → ${x.target}` : ''}`))].join('; ');
  say('\n──────── masque-relay demo report ────────');
  say(`path            client ${tb.addr.client.v4} → ${st.chain.map((h) => `${h.role} ${h.address}`).join(' → ')} → server ${tb.addr.server.v4}`);
  say(`addresses       ${st.addresses.join(', ')}`);
  say(`connect time    ${r.connectMs} ms (two QUIC handshakes, two Noise handshakes)`);
  say(`RTT             ${r.rttInUse} ms in use (${r.rtt} ms for the first pings after connect)`);
  say(`throughput      ${r.mbps} Mbit/s`);
  say('what each relay saw:');
  say(`  ingress  packets to/from: ${who(r.seen.ingress, r.names)}`);
  say(`           log: sessions from ${peers(lab.ingress!)}`);
  say(`           metrics: ${metricValue(r.mi, 'masque_relay_requests_total', { kind: 'connect-udp' })} CONNECT-UDP, ${metricValue(r.mi, 'masque_relay_bytes_total')} bytes relayed, `
    + `${metricValue(r.mi, 'masque_relay_forwarded_packets_total')} of ${metricValue(r.mi, 'masque_relay_packets_total')} packets in forwarded mode`);
  say(`  egress   packets to/from: ${who(r.seen.egress, r.names)}`);
  say(`           log: sessions from ${peers(lab.egress)}`);
  say(`           metrics: ${metricValue(r.me, 'masque_relay_requests_total', { kind: 'connect-ip' })} CONNECT-IP, ${metricValue(r.me, 'masque_relay_bytes_total')} bytes relayed`);
  const ingressSawServer = r.seen.ingress.has(tb.addr.server.v4);
  const egressSawClient = r.seen.egress.has(tb.addr.client.v4);
  say(`privacy split   ingress saw the server: ${ingressSawServer ? 'YES (broken!)' : 'no'}; egress saw the client: ${egressSawClient ? 'YES (broken!)' : 'no'}`);
  say('───────────────────────────────────────────');
  if (ingressSawServer || egressSawClient) process.exitCode = 2;
}

main().catch((e) => {
  console.error(`demo failed: ${(e as Error).stack ?? e}`);
  process.exitCode = 1;
});
