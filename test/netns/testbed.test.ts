// The testbed itself (test/helpers/testbed.ts): reachability per forwarding mode, loss and
// rate shaping, and cleanup — on dispose(), on SIGTERM of a process that built one, and after
// SIGKILL (stale sweep + pdeathsig). Needs root; skipped otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { Testbed } from '../helpers/testbed.js';
import { listNamespaces, sweepStale } from '../helpers/testbed-cleanup.js';

const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces)' : false;
const cliPath = fileURLToPath(new URL('../helpers/testbed-cli.js', import.meta.url));

/** True while `pid` runs; a zombie (killed, not yet reaped by init) counts as gone. */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Waits up to `ms` for `pid` to be gone (signal delivery and reaping are asynchronous). */
async function isGoneWithin(pid: number, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) {
    if (!isAlive(pid)) return true;
  }
  return !isAlive(pid);
}

const ofTestbed = (id: string): string[] => listNamespaces().filter((n) => n.startsWith(`${id}-`));

/** Starts the CLI's `up` in a child process and returns it with its first JSON line. */
async function startCliTestbed(): Promise<{ child: ChildProcess; info: { id: string; holderPid: number } }> {
  const child = spawn(process.execPath, [cliPath, 'up'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let buf = '';
  child.stdout!.setEncoding('utf8');
  for await (const chunk of child.stdout!) {
    buf += chunk as string;
    if (buf.includes('\n')) break;
  }
  return { child, info: JSON.parse(buf.split('\n')[0]!) as { id: string; holderPid: number } };
}

test('not routed: neighbours reach each other, the client does not reach the server', { skip }, async () => {
  const tb = await Testbed.create({ ipv6: true });
  try {
    assert.equal(tb.forwarding, 'none');
    assert.ok(await tb.canReach('client', tb.addr.ingress.v4), 'client → ingress v4');
    assert.ok(await tb.canReach('client', tb.addr.ingress.v6!), 'client → ingress v6');
    assert.ok(await tb.canReach('ingress', tb.addr.egress.v4), 'ingress → egress');
    assert.ok(await tb.canReach('egress', tb.addr.server.v4), 'egress → server');
    assert.equal(await tb.canReach('client', tb.addr.server.v4), false, 'client ↛ server v4');
    assert.equal(await tb.canReach('client', tb.addr.server.v6!), false, 'client ↛ server v6');
    assert.equal(await tb.canReach('client', tb.addr.egress.v4), false, 'client ↛ egress');
  } finally {
    await tb.dispose();
  }
});

test('routed: client reaches server over IPv4 and IPv6; back to none closes it', { skip }, async () => {
  const tb = await Testbed.create({ routed: true });
  try {
    assert.ok(await tb.canReach('client', tb.addr.server.v4), 'client → server v4');
    assert.ok(await tb.canReach('client', tb.addr.server.v6!), 'client → server v6');
    await tb.setRouted(false);
    assert.equal(await tb.canReach('client', tb.addr.server.v4), false);
  } finally {
    await tb.dispose();
  }
});

test('tunnel mode: client reaches egress, but plain packets to the server are dropped', { skip }, async () => {
  const tb = await Testbed.create({ forwarding: 'tunnel' });
  try {
    assert.ok(await tb.canReach('client', tb.addr.egress.v4), 'client → egress v4');
    assert.ok(await tb.canReach('client', tb.addr.egress.v6!), 'client → egress v6');
    assert.equal(await tb.canReach('client', tb.addr.server.v4), false, 'client ↛ server v4');
    assert.equal(await tb.canReach('client', tb.addr.server.v6!), false, 'client ↛ server v6');
  } finally {
    await tb.dispose();
  }
});

test('loss option drops roughly the configured fraction (both directions)', { skip }, async () => {
  const tb = await Testbed.create({ ipv6: false, links: { 'client-ingress': { lossPct: 20 } } });
  try {
    const n = 500;
    const r = await tb.exec('client', 'ping', ['-n', '-q', '-c', String(n), '-i', '0.002', '-W', '1', tb.addr.ingress.v4], { allowFail: true });
    const received = Number(/(\d+) received/.exec(r.stdout)?.[1]);
    const lost = 1 - received / n;
    // A round trip survives both directions: expected loss 1 - 0.8² = 36 %; σ ≈ 2.1 % at n = 500.
    assert.ok(lost > 0.26 && lost < 0.46, `round-trip loss ${(lost * 100).toFixed(1)} % not near 36 %`);
    await tb.setShaping('client-ingress', {});
    const r2 = await tb.exec('client', 'ping', ['-n', '-q', '-c', '50', '-i', '0.002', '-W', '1', tb.addr.ingress.v4]);
    assert.match(r2.stdout, / 0% packet loss/, 'clearing the shaping removes the loss');
  } finally {
    await tb.dispose();
  }
});

test('rate option caps TCP throughput', { skip }, async () => {
  const tb = await Testbed.create({ ipv6: false, links: { 'client-ingress': { rateMbit: 50 } } });
  try {
    const srv = tb.spawn('ingress', 'iperf3', ['-s', '-1', '-B', tb.addr.ingress.v4]);
    srv.stdout!.resume();
    srv.stderr!.resume();
    await new Promise((r) => setTimeout(r, 300));
    const r = await tb.exec('client', 'iperf3', ['-c', tb.addr.ingress.v4, '-t', '2', '-J'], { timeoutMs: 15_000 });
    const bps = (JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received.bits_per_second;
    assert.ok(bps > 25e6 && bps < 60e6, `got ${(bps / 1e6).toFixed(1)} Mbit/s through a 50 Mbit/s tbf`);
    // iperf3 -s -1 exits right after the test; it may already be gone.
    if (srv.exitCode === null && srv.signalCode === null) await once(srv, 'exit');
  } finally {
    await tb.dispose();
  }
});

test('dispose removes every namespace and kills spawned processes', { skip }, async () => {
  const tb = await Testbed.create();
  const child = tb.spawn('server', 'sleep', ['infinity']);
  assert.equal(ofTestbed(tb.id).length, 4);
  await tb.dispose();
  await tb.dispose(); // idempotent
  assert.deepEqual(ofTestbed(tb.id), []);
  assert.ok(child.pid !== undefined && (await isGoneWithin(child.pid, 2000)), 'spawned child is gone');
  assert.throws(() => tb.spawn('client', 'true', []));
});

test('a process that built a testbed and gets SIGTERM leaves nothing behind', { skip }, async () => {
  const { child, info } = await startCliTestbed();
  assert.equal(ofTestbed(info.id).length, 4);
  assert.ok(isAlive(info.holderPid));
  child.kill('SIGTERM');
  const [, signal] = (await once(child, 'exit')) as [number | null, string | null];
  assert.equal(signal, 'SIGTERM', 'the default signal action is kept after cleanup');
  assert.deepEqual(ofTestbed(info.id), []);
  assert.ok(await isGoneWithin(info.holderPid, 2000), 'the process inside the namespace is gone');
});

test('after SIGKILL, pdeathsig kills the children and the next create sweeps the namespaces', { skip }, async () => {
  const { child, info } = await startCliTestbed();
  child.kill('SIGKILL');
  await once(child, 'exit');
  assert.equal(ofTestbed(info.id).length, 4, 'nothing can run on SIGKILL');
  assert.ok(await isGoneWithin(info.holderPid, 2000), 'pdeathsig killed the process inside the namespace');
  const removed = sweepStale();
  assert.deepEqual(removed.filter((n) => n.startsWith(info.id)).sort(), ofTestbedNames(info.id));
  assert.deepEqual(ofTestbed(info.id), []);
  execFileSync('ip', ['netns', 'list']); // still sane
});

function ofTestbedNames(id: string): string[] {
  return ['client', 'egress', 'ingress', 'server'].map((h) => `${id}-${h}`).sort();
}
