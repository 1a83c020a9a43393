// VPN benchmark: for each registered path, builds a testbed (client — ingress — egress —
// server), sets the path up, measures client → server through it and tears it down; then sets
// all paths up again, each in its own testbed, and measures their idle RTT side by side, their
// pings interleaved. Timings on this CPU-bound box are only comparable within one run (FACTS.md).
//
//   npm run bench -- [--quick] [--paths plain,wg-1hop,…] [--no-scale] [--list]
//
// Output on stdout: progress lines starting with '#', a table, then one JSON line per path:
//   {"path":…,"tcpMbps":…,"udpMbps":…,"rttMs":…,"rttColdMs":…,"rttBackToBackMs":…,"rttLoadedMs":…,"cpuPct":{…}}
// and, for masque-relay paths, "rttAdded":{"over":"wg-…","ms":…,"ci95":[…,…],"rounds":…}: the idle
// RTT added over wireguard-go on the same hops, from per-round paired differences (paired.ts),
// also printed under the table.
// A path that fails prints {"path":…,"error":…} instead and the exit code is 1.
// Then, unless --paths or --no-scale, bench/relay-scale (also `npm run bench:scale`): cold
// two-hop connect time and one relay's RSS with 1 000 and 2 000 idle tunnels, its own table and
// {"case":…} JSON lines.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Testbed } from '../../test/helpers/testbed.js';
import { interleavedIdleRtt, measurePath, warmPath, type IdleRtt, type MeasureOptions, type PathResult, type RttTarget } from './measure.js';
import { pairedDiff } from './paired.js';
import { PATHS } from './paths/index.js';
import type { VpnPath, VpnPathSpec } from './path.js';

/**
 * Interleaved idle RTT: pings 50 ms apart per path per round, and at least this many per path
 * (twelve rounds with the six paths, so the paired differences below have a usable interval).
 */
const RTT_PER_ROUND = 20;
const RTT_MIN_PINGS = 240;

/** The issue's goal compares each masque-relay path with wireguard-go over the same hops. */
const RTT_PAIRS: ReadonlyArray<readonly [string, string]> = [
  ['masque-1hop', 'wg-1hop'], ['masque-2hop', 'wg-2hop'], ['masque-2hop-tunnelled', 'wg-2hop'],
];

/**
 * Sets each paired path's `rttAdded` and returns the lines that print it: the per-round
 * paired difference (paired.ts), which cancels the box's drift between rounds.
 */
function addedRtt(results: PathResult[], rtt: Map<string, IdleRtt>): string[] {
  const lines: string[] = [];
  const sign = (x: number): string => (x >= 0 ? '+' : '') + x.toFixed(3);
  for (const [a, b] of RTT_PAIRS) {
    const ra = rtt.get(a);
    const rb = rtt.get(b);
    const res = results.find((r) => r.path === a);
    if (!ra || !rb || !res) continue;
    const d = pairedDiff(ra.rounds, rb.rounds);
    if (d.rounds === 0) continue;
    const r3 = (x: number): number => Number(x.toFixed(3));
    res.rttAdded = { over: b, ms: r3(d.medianMs), ci95: [r3(d.loMs), r3(d.hiMs)], rounds: d.rounds };
    lines.push(`  ${`${a} − ${b}`.padEnd(24)} ${sign(d.medianMs)} ms  [${sign(d.loMs)}, ${sign(d.hiMs)}]  ${d.rounds} rounds`);
  }
  return lines.length ? ['idle RTT added, per-round paired difference (median, 95 % bootstrap interval):', ...lines] : [];
}

interface Args {
  isQuick: boolean;
  names: string[] | null;
  isList: boolean;
  isScale: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { isQuick: false, names: null, isList: false, isScale: true };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i]!;
    if (x === '--quick') a.isQuick = true;
    else if (x === '--list') a.isList = true;
    else if (x === '--no-scale') a.isScale = false;
    else if (x === '--paths') a.names = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (x.startsWith('--paths=')) a.names = x.slice(8).split(',').filter(Boolean);
    else throw new Error(`unknown argument ${x} (use --quick, --paths a,b, --no-scale, --list)`);
  }
  return a;
}

function selectPaths(names: string[] | null): VpnPathSpec[] {
  if (!names) return PATHS;
  return names.map((n) => {
    const p = PATHS.find((x) => x.name === n);
    if (!p) throw new Error(`unknown path ${n}; known: ${PATHS.map((x) => x.name).join(', ')}`);
    return p;
  });
}

function table(results: PathResult[]): string {
  const head = ['path', 'TCP Mbit/s', 'UDP Mbit/s', 'RTT ms', 'RTT cold', 'RTT 2 ms apart', 'RTT loaded ms', 'CPU % (of one core)'];
  const rows = results.map((r) => [
    r.path, r.tcpMbps.toFixed(1), r.udpMbps.toFixed(1), r.rttMs.toFixed(3), r.rttColdMs.toFixed(3), r.rttBackToBackMs.toFixed(3), r.rttLoadedMs.toFixed(3),
    Object.entries(r.cpuPct).map(([k, v]) => `${k} ${v}`).join(', '),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 || i === head.length - 1 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ').trimEnd();
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}

/** A testbed with `spec` set up for `fn`, both torn down afterwards whatever happens. */
async function withPath(spec: VpnPathSpec, fn: (tb: Testbed, path: VpnPath) => Promise<void>): Promise<void> {
  const tb = await Testbed.create({ ipv6: true });
  const path = spec.create();
  try {
    await path.setup(tb);
    await fn(tb, path);
  } finally {
    try {
      await path.teardown();
    } finally {
      await tb.dispose();
    }
  }
}

/**
 * withPath for several paths at once, each in its own testbed: `onUp` runs for each as it
 * comes up, then `fn` with all of them up; all are torn down afterwards, last first.
 */
async function withPaths(specs: readonly VpnPathSpec[], onUp: (t: RttTarget) => Promise<void>,
  fn: (up: RttTarget[]) => Promise<void>, up: RttTarget[] = []): Promise<void> {
  const [spec, ...rest] = specs;
  if (!spec) return fn(up);
  await withPath(spec, async (tb) => {
    const t = { path: spec.name, tb, target: tb.addr.server.v4 };
    await onUp(t);
    await withPaths(rest, onUp, fn, [...up, t]);
  });
}

/** Seconds of TCP through a path before its idle RTT, so that it is "a tunnel in use". */
const WARM_SECONDS = (o: MeasureOptions): number => Math.min(o.seconds, 5);

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.isList) {
    for (const p of PATHS) console.log(`${p.name.padEnd(12)} ${p.description}`);
    return;
  }
  if (process.getuid?.() !== 0) throw new Error('the VPN benchmark needs root (network namespaces)');
  const paths = selectPaths(args.names);
  const opts: MeasureOptions = { seconds: args.isQuick ? 2 : 10, runs: 3 };
  console.log(`# vpn bench: ${paths.map((p) => p.name).join(', ')}; iperf3 ${opts.runs} × ${opts.seconds} s per metric, medians`);
  const results: PathResult[] = [];
  const errors: string[] = [];
  // Phase 1, one path at a time, alone on the box: transfers, cold and loaded RTT.
  for (const spec of paths) {
    const t0 = Date.now();
    try {
      await withPath(spec, async (tb, path) => {
        results.push(await measurePath(tb, spec.name, tb.addr.server.v4, path.pids(), opts));
      });
      console.log(`# ${spec.name}: done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    } catch (e) {
      errors.push(JSON.stringify({ path: spec.name, error: (e as Error).message }));
      console.log(`# ${spec.name}: FAILED: ${(e as Error).message}`);
    }
  }
  // Phase 2: the idle RTT of all paths side by side (interleavedIdleRtt). Kept out of phase 1:
  // a path that stays up while the next ones are measured is not idle enough — four idle
  // wireguard-go processes cost a masque-relay single hop measured after them a third of its
  // TCP rate (766 vs 1190 Mbit/s, same build and box).
  const ok = paths.filter((p) => results.some((r) => r.path === p.name));
  const paired: string[] = [];
  console.log(`# idle RTT: ${ok.length} paths up at once, each warmed by a ${WARM_SECONDS(opts)} s TCP transfer; rounds of ${RTT_PER_ROUND} pings 50 ms apart, interleaved in a balanced order`);
  try {
    await withPaths(ok, (t) => warmPath(t.tb, t.target, WARM_SECONDS(opts)), async (up) => {
      const rtt = await interleavedIdleRtt(up, RTT_PER_ROUND, RTT_MIN_PINGS);
      for (const r of results) r.rttMs = rtt.get(r.path)?.medianMs ?? Number.NaN;
      paired.push(...addedRtt(results, rtt));
    });
  } catch (e) {
    errors.push(JSON.stringify({ path: 'idle-rtt', error: (e as Error).message }));
    console.log(`# idle RTT: FAILED: ${(e as Error).message}`);
  }
  console.log(table(results));
  if (paired.length) console.log(paired.join('\n'));
  for (const r of results) console.log(JSON.stringify(r));
  for (const l of errors) console.log(l);
  if (errors.length) process.exitCode = 1;
  if (args.isScale && !args.names) {
    // Its own testbed, after ours are gone; it prints its table and JSON lines itself.
    const scale = fileURLToPath(new URL('../relay-scale/run.js', import.meta.url));
    const r = spawnSync(process.execPath, [scale], { stdio: 'inherit' });
    if (r.status !== 0) process.exitCode = 1;
  }
}

main().catch((e: unknown) => {
  console.error(`bench/vpn: ${(e as Error).message}`);
  process.exit(1);
});
