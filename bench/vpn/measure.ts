// Measurements between the client and server namespaces of a testbed: iperf3 TCP (one
// stream) and UDP goodput, ping RTT idle and under TCP load, and CPU use of given processes.
// Everything runs through the testbed (ip netns exec, argument arrays, no shell).
import { readFileSync } from 'node:fs';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { stopChild, type Testbed } from '../../test/helpers/testbed.js';
import { drain, sleep, waitForOutput } from './path.js';

/** How long and how often to measure. */
export interface MeasureOptions {
  /** Seconds per iperf3 run (10, or 2 with --quick). */
  seconds: number;
  /** iperf3 runs per metric; the median is reported (3). */
  runs: number;
}

/** One path's results. Rates in Mbit/s, RTTs in ms (median), CPU in % of one core. */
export interface PathResult {
  path: string;
  tcpMbps: number;
  udpMbps: number;
  /**
   * Median RTT of pings 50 ms apart on a tunnel that has carried traffic (a TCP transfer just
   * before), taken with every path up at once and their pings interleaved (interleavedIdleRtt).
   */
  rttMs: number;
  /**
   * For masque-relay paths: what they add to the idle RTT over wireguard-go on the same hops,
   * from the same interleaved pings, as the median of per-round differences (bench/vpn/paired.ts).
   */
  rttAdded?: { over: string; ms: number; ci95: [number, number]; rounds: number };
  /** The same pings right after the tunnel came up, before any transfer (JIT compilers not yet warm). */
  rttColdMs: number;
  /** Median RTT of pings 2 ms apart (the processes stay warm). */
  rttBackToBackMs: number;
  rttLoadedMs: number;
  /** Per labelled process, plus `box`: the whole machine (max 100 × CPUs), over the TCP runs. */
  cpuPct: Record<string, number>;
}

// UDP datagrams of 1200 bytes fit every tunnel's MTU (WireGuard nested ≈ 1340, a QUIC
// CONNECT-IP tunnel ≈ 1280), so no path is measured with IP fragmentation.
const UDP_LEN = '1200';
const PORT = '5201';

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const round = (x: number, digits: number): number => Number(x.toFixed(digits));

/** Starts `iperf3 -s` in the server namespace and waits until it listens. */
async function startIperfServer(tb: Testbed, target: string): Promise<ChildProcess> {
  const srv = tb.spawn('server', 'iperf3', ['-s', '-B', target, '-p', PORT, '--forceflush']);
  await waitForOutput(srv, /Server listening/, 5000, 'iperf3 server');
  drain(srv);
  return srv;
}

interface IperfJson {
  error?: string;
  end: { sum_received: { bits_per_second: number } };
}

/**
 * One iperf3 client run from the client namespace; returns received Mbit/s. Retries while
 * the server still reports "busy": after a flood of UDP through a slow tunnel it may still be
 * finishing the previous test when the next one starts.
 */
async function iperf(tb: Testbed, target: string, seconds: number, isUdp: boolean): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await iperfOnce(tb, target, seconds, isUdp);
    } catch (e) {
      if (attempt >= 5 || !/busy/.test((e as Error).message)) throw e;
      await sleep(1000);
    }
  }
}

async function iperfOnce(tb: Testbed, target: string, seconds: number, isUdp: boolean): Promise<number> {
  const args = ['-c', target, '-p', PORT, '-t', String(seconds), '-J', '--connect-timeout', '3000'];
  if (isUdp) args.push('-u', '-b', '0', '-l', UDP_LEN);
  const r = await tb.exec('client', 'iperf3', args, { timeoutMs: (seconds + 15) * 1000, allowFail: true });
  let j: IperfJson;
  try {
    j = JSON.parse(r.stdout) as IperfJson;
  } catch {
    throw new Error(`iperf3 ${isUdp ? 'UDP' : 'TCP'}: no JSON (${r.code}): ${r.stderr.trim()}`);
  }
  if (j.error) throw new Error(`iperf3 ${isUdp ? 'UDP' : 'TCP'}: ${j.error}`);
  // Received, not sent: for UDP this is goodput; for TCP the two agree.
  return j.end.sum_received.bits_per_second / 1e6;
}

/** Per-packet RTTs (ms) of `count` pings at `intervalS` from the client. */
async function pingTimes(tb: Testbed, target: string, count: number, intervalS: number): Promise<number[]> {
  const r = await tb.exec('client', 'ping', ['-n', '-c', String(count), '-i', String(intervalS), '-W', '1', target], {
    allowFail: true,
    timeoutMs: (count * intervalS + 10) * 1000,
  });
  return [...r.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
}

const clkTck = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a process (all its threads), in clock ticks; NaN once it is gone. */
function procTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at state = field 3.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // fields 14 and 15: utime, stime
  } catch {
    return Number.NaN;
  }
}

/** Busy clock ticks of the whole machine (all CPUs) from /proc/stat. */
function boxBusyTicks(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0); // idle + iowait
  return f.reduce((a, b) => a + b, 0) - idle;
}

/** Samples CPU of `pids` (and the box) now; call the returned function to get % of one core since. */
export function startCpuSample(pids: Record<string, number>): () => Record<string, number> {
  const t0 = process.hrtime.bigint();
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, procTicks(pid)]));
  const box0 = boxBusyTicks();
  return () => {
    const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
    const pct = (ticks: number): number => round((ticks / clkTck / wallS) * 100, 1);
    const out: Record<string, number> = {};
    for (const [k, pid] of Object.entries(pids)) out[k] = pct(procTicks(pid) - before[k]!);
    out.box = pct(boxBusyTicks() - box0);
    return out;
  };
}

/** Median RTT of pings sent while one iperf3 TCP stream saturates the path. */
async function loadedRtt(tb: Testbed, target: string, seconds: number): Promise<number> {
  const load = tb.spawn('client', 'iperf3', ['-c', target, '-p', PORT, '-t', String(seconds), '--connect-timeout', '3000']);
  drain(load);
  try {
    await sleep(500); // past slow start, so the queue is built up
    const count = Math.max(5, Math.floor(((seconds - 1) * 1000) / 50));
    return median(await pingTimes(tb, target, count, 0.05));
  } finally {
    if (load.exitCode === null && load.signalCode === null) await once(load, 'exit');
  }
}

/**
 * Measures one path that is already set up. `target` is the server address the client
 * reaches through it; `pids` are the processes to report CPU for. Fails if the target does
 * not answer pings (a path that silently does not work must not produce numbers).
 */
export async function measurePath(tb: Testbed, path: string, target: string, pids: Record<string, number>, opts: MeasureOptions): Promise<PathResult> {
  // Warm-up: tunnel handshakes, ARP/ND, and a reachability check.
  if ((await pingTimes(tb, target, 3, 0.2)).length === 0) throw new Error(`${path}: client does not reach ${target}`);
  // Cold: a tunnel that has carried nothing but a handshake. For a process with a JIT (ours)
  // this runs its data path in the interpreter; docs/benchmarks.md reports it apart.
  const rttColdMs = median(await pingTimes(tb, target, 20, 0.05));
  const srv = await startIperfServer(tb, target);
  try {
    const tcp: number[] = [];
    const cpu = startCpuSample(pids);
    for (let i = 0; i < opts.runs; i++) tcp.push(await iperf(tb, target, opts.seconds, false));
    const cpuPct = cpu();
    const udp: number[] = [];
    for (let i = 0; i < opts.runs; i++) udp.push(await iperf(tb, target, opts.seconds, true));
    // Pings 2 ms apart, once the transfers' queues have drained: what a path adds when its
    // processes are warm (caches, TLB, branch predictors), against rttMs where each ping finds
    // them cold (docs/benchmarks.md). The idle RTT itself is measured later, interleaved.
    await sleep(1000);
    const rttBackToBackMs = median(await pingTimes(tb, target, 200, 0.002));
    const rttLoadedMs = await loadedRtt(tb, target, opts.seconds);
    return {
      path,
      tcpMbps: round(median(tcp), 1),
      udpMbps: round(median(udp), 1),
      rttMs: Number.NaN, // filled in by interleavedIdleRtt
      rttColdMs: round(rttColdMs, 3),
      rttBackToBackMs: round(rttBackToBackMs, 3),
      rttLoadedMs: round(rttLoadedMs, 3),
      cpuPct,
    };
  } finally {
    await stopChild(srv, 2000);
  }
}

/** One TCP transfer of `seconds` through a path that is up: its processes' code is then warm (JIT-compiled). */
export async function warmPath(tb: Testbed, target: string, seconds: number): Promise<void> {
  const srv = await startIperfServer(tb, target);
  try {
    await iperf(tb, target, seconds, false);
  } finally {
    await stopChild(srv, 2000);
  }
}

/** One path's idle RTT: the median of all its pings, and its pings round by round (same index, same round for every path). */
export interface IdleRtt {
  medianMs: number;
  rounds: number[][];
}

/** A path that is up, for the interleaved idle RTT phase. */
export interface RttTarget {
  path: string;
  tb: Testbed;
  target: string;
}

/**
 * Orders of n paths for the rounds of interleavedIdleRtt: a Williams design, a Latin square
 * in which each path directly follows each other path equally often (once for even n; for odd
 * n the rows are followed by their reverses, twice as many rounds). Rows are index arrays.
 */
export function balancedOrders(n: number): number[][] {
  if (n <= 0) return [];
  // First row 0, 1, n−1, 2, n−2, …; row r adds r to every entry, mod n.
  const first: number[] = [0];
  for (let lo = 1, hi = n - 1; first.length < n; ) {
    first.push(lo++);
    if (first.length < n) first.push(hi--);
  }
  const rows = Array.from({ length: n }, (_, r) => first.map((x) => (x + r) % n));
  return n % 2 ? [...rows, ...rows.map((row) => [...row].reverse())] : rows;
}

/**
 * Idle RTT of every path, measured side by side: rounds of `perRound` pings 50 ms apart
 * through each path in turn, in the orders of balancedOrders (repeated until each path has
 * at least `minPings`); the median over all of a path's pings. A ping 50 ms after
 * the last one finds a process's caches as cold as whatever ran on the box in between left
 * them, and that moves between runs by ±0.3 ms (docs/benchmarks.md). Measured one path after
 * another, each path's RTT was taken right after its own transfers and sat in a different
 * stretch of the box's noise; interleaved, every path sees the same box and the same
 * predecessors, so their differences are comparable within the run.
 */
export async function interleavedIdleRtt(targets: readonly RttTarget[], perRound: number, minPings: number): Promise<Map<string, IdleRtt>> {
  const rounds = new Map<string, number[][]>(targets.map((t) => [t.path, []]));
  const orders = balancedOrders(targets.length);
  for (let pings = 0; orders.length && pings < minPings; pings += orders.length * perRound) {
    for (const order of orders) {
      for (const i of order) rounds.get(targets[i]!.path)!.push(await pingTimes(targets[i]!.tb, targets[i]!.target, perRound, 0.05));
    }
  }
  return new Map([...rounds].map(([path, rs]) => [path, { medianMs: round(median(rs.flat()), 3), rounds: rs }]));
}
