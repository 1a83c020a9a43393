/**
 * End to end in the testbed, real relay and client processes (issue 6 + 7):
 *
 *   client ──── ingress ──── egress ──── server
 *   10.99.1.1   .1.2 / .2.1  .2.2 / .3.1  10.99.3.2
 *
 * single hop (client → egress in `both` role, reached through the ingress namespace's
 * forwarding) and two hops (client → ingress → egress). Each case: ping and a TCP transfer
 * (iperf3) from the client namespace to the server namespace, through the TUN.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Testbed } from '../helpers/testbed.js';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { CLI, Lab, metricValue } from '../helpers/lab.js';

let tb: Testbed;
let lab: Lab;

before(async () => {
  tb = await Testbed.create({ ipv6: true, forwarding: 'none' });
  lab = await Lab.start(tb, { twoHop: true });
});

after(async () => {
  await lab?.stop();
  await tb?.dispose();
});

async function ping(to: string, count = 3): Promise<{ received: number; rttMs: number }> {
  const r = await tb.exec('client', 'ping', ['-c', String(count), '-i', '0.2', '-W', '2', to], { allowFail: true, timeoutMs: 15_000 });
  const m = /(\d+) received/.exec(r.stdout);
  const rtt = /= [\d.]+\/([\d.]+)\//.exec(r.stdout);
  return { received: m ? Number(m[1]) : 0, rttMs: rtt ? Number(rtt[1]) : NaN };
}

async function iperf(seconds = 2): Promise<number> {
  const srv = tb.spawn('server', 'iperf3', ['-s', '-1', '-B', tb.addr.server.v4], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  const r = await tb.exec('client', 'iperf3', ['-c', tb.addr.server.v4, '-t', String(seconds), '-J'], { timeoutMs: (seconds + 15) * 1000, allowFail: true });
  srv.kill();
  const j = JSON.parse(r.stdout || '{}') as { end?: { sum_received?: { bits_per_second?: number } } };
  return (j.end?.sum_received?.bits_per_second ?? 0) / 1e6;
}

test('without a tunnel the client cannot reach the server', async () => {
  assert.equal((await ping(tb.addr.server.v4, 1)).received, 0);
});

test('two hops: ping and TCP through ingress and egress; each relay sees only its side', async () => {
  const c = await lab.startClient(lab.clientConfig(), ['--log-level', 'info']);
  try {
    assert.deepEqual((c.state!.chain as Array<{ role: string }>).map((h) => h.role), ['ingress', 'egress']);
    assert.equal(c.state!.forwarding, true, 'the ingress accepted forwarded mode');
    // RFC 9484 §7.2: a 1280-byte ICMPv6 echo crossed both hops (inner QUIC in the outer tunnel) and back.
    // The connected state says so, and so does the client's log.
    assert.equal(c.state!.mtuProbe, 'verified');
    assert.ok((c.state!.mtu as number) >= 1280);
    assert.ok(c.output.some((l) => l.includes('"msg":"tunnel up"') && l.includes('"mtuProbe":"verified"')), c.output.join('\n'));
    const p = await ping(tb.addr.server.v4, 5);
    assert.equal(p.received, 5, 'every ping answered through the tunnel');
    const mbps = await iperf(2);
    assert.ok(mbps > 5, `TCP through two hops: ${mbps} Mbit/s`);
    // SMTP is refused at the egress (deny_tcp_ports = [25] by default) with ICMP "prohibited":
    // EHOSTUNREACH at once, where a closed port would answer a RST (ECONNREFUSED).
    const connect = (port: number) => tb.exec('client', process.execPath, ['-e',
      `require('net').connect(${port}, ${JSON.stringify(tb.addr.server.v4)}).on('error', (e) => console.log(e.code)).on('connect', function () { console.log('connected'); this.destroy(); })`],
    { timeoutMs: 10_000 }).then((r) => r.stdout.trim());
    assert.equal(await connect(25), 'EHOSTUNREACH');
    assert.equal(await connect(26), 'ECONNREFUSED', 'another closed port: the server itself answers');
    const ingressMetrics = await lab.metrics(lab.ingress!);
    const egressMetrics = await lab.metrics(lab.egress);
    assert.ok(metricValue(ingressMetrics, 'masque_relay_requests_total', { kind: 'connect-udp', status: '200' }) >= 1);
    assert.ok(metricValue(egressMetrics, 'masque_relay_requests_total', { kind: 'connect-ip', status: '200' }) >= 1);
    assert.ok(metricValue(egressMetrics, 'masque_relay_bytes_total', { kind: 'connect-ip', direction: 'up' }) > 1e6);
    // Forwarded mode (draft-ietf-masque-quic-proxy-07): nearly all of the transfer passed the
    // ingress beside the outer connection, none of it dropped there.
    const fwdUp = metricValue(ingressMetrics, 'masque_relay_forwarded_packets_total', { direction: 'up' });
    const allUp = metricValue(ingressMetrics, 'masque_relay_packets_total', { kind: 'connect-udp', direction: 'up' });
    assert.ok(fwdUp > 0.9 * allUp, `forwarded ${fwdUp} of ${allUp} packets up`);
    assert.ok(metricValue(ingressMetrics, 'masque_relay_forwarded_packets_total', { direction: 'down' }) > 100);
    assert.equal(metricValue(ingressMetrics, 'masque_relay_drops_total', { reason: 'udp_forwarded' }), 0);
    // What each relay logged: the ingress never the server, the egress never the client.
    const ingressLog = JSON.stringify(lab.ingress!.logs);
    const egressLog = JSON.stringify(lab.egress.logs);
    assert.ok(!ingressLog.includes(tb.addr.server.v4), 'ingress logs contain no destination');
    assert.ok(!egressLog.includes(tb.links['client-ingress'].leftAddr.v4), 'egress logs contain no client address');
  } finally {
    assert.equal(await lab.stopClient(c), 0);
  }
  assert.equal((await ping(tb.addr.server.v4, 1)).received, 0, 'routes restored after disconnect');
});

test('single hop: ping and TCP through the egress alone', async () => {
  // The client reaches the egress relay directly (routed by the ingress namespace, which
  // still refuses plain client ⇄ server transit).
  await tb.setForwarding('tunnel');
  const c = await lab.startClient(lab.clientConfig({ singleHop: true }));
  try {
    assert.deepEqual((c.state!.chain as Array<{ role: string }>).map((h) => h.role), ['egress']);
    assert.equal(c.state!.forwarding, undefined, 'one hop: no CONNECT-UDP, nothing to forward');
    assert.equal((await ping(tb.addr.server.v4, 3)).received, 3);
    assert.ok((await iperf(2)) > 5);
    // TCP sent by the egress host itself to the client's tunnel address: its own stack hands
    // the egress TUN TSO super-segments, which the relay cuts (native/tun/tso.c) and carries.
    // From its server-side address: the TUN's own (CGNAT) address is a refused target.
    const clientAddr = (c.state!.addresses as string[]).find((x) => !x.includes(':'))!.split('/')[0]!;
    const srv = tb.spawn('client', 'iperf3', ['-s', '-1', '-B', clientAddr], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300));
    const from = tb.links['egress-server'].leftAddr.v4;
    const r = await tb.exec('egress', 'iperf3', ['-c', clientAddr, '-B', from, '-t', '1', '-J'], { timeoutMs: 20_000, allowFail: true });
    srv.kill();
    const j = JSON.parse(r.stdout || '{}') as { end?: { sum_received?: { bits_per_second?: number } } };
    assert.ok((j.end?.sum_received?.bits_per_second ?? 0) / 1e6 > 5, `egress host → client TCP: ${r.stdout.slice(0, 300)}`);
    const m = await lab.metrics(lab.egress);
    assert.ok(metricValue(m, 'masque_relay_tun_offload_total', { kind: 'super_segments' }) > 0, 'super-segments read whole');
    assert.ok(metricValue(m, 'masque_relay_tun_offload_total', { kind: 'segments' }) >
      metricValue(m, 'masque_relay_tun_offload_total', { kind: 'super_segments' }), 'and cut into more packets');
    assert.equal(metricValue(m, 'masque_relay_drops_total', { reason: 'egress_tun_offload' }), 0);
  } finally {
    await lab.stopClient(c);
    await tb.setForwarding('none');
  }
});

test('the daemon: a crash\'s block is lifted at start; a failed connect lifts its block; a reconnect keeps what the user connected with (--single-hop stays one hop after the relay restarts)', async () => {
  // The daemon's own config says two hops; the connect request says one. A foreground
  // connect folds its flags into the config; the daemon has only the request to go by.
  // First, what a daemon that crashed while connecting leaves: the block, and no TUN.
  await tb.exec('client', 'nft', ['add', 'table', 'inet', 'masque_killswitch']);
  const sock = path.join(lab.dir, 'daemon.sock');
  const daemon = tb.spawn('client', process.execPath, [CLI, 'daemon', '--config', lab.clientConfig(), '--socket', sock], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  daemon.stderr!.on('data', (d) => (log += d));
  const cli = (args: string[]) => tb.exec('client', process.execPath, [CLI, '--socket', sock, ...args], { allowFail: true, timeoutMs: 30_000 });
  const chainRoles = async (): Promise<string[] | null> => {
    const r = await cli(['status', '--json']);
    const s = (JSON.parse(r.stdout || '{}') as { state?: { state: string; chain?: Array<{ role: string }> } }).state;
    return s?.state === 'connected' ? s.chain!.map((h) => h.role) : null;
  };
  try {
    const end0 = Date.now() + 10_000;
    while (!existsSync(sock) && Date.now() < end0) await new Promise((r) => setTimeout(r, 100));
    assert.match(log, /lifted the traffic block a crashed run left/);
    assert.doesNotMatch((await tb.exec('client', 'nft', ['list', 'tables'])).stdout, /masque_killswitch/);
    // A connect that fails (the ingress serves no CONNECT-IP, and without forwarding the egress
    // is out of reach) ends in `error`, and lifts the block it held while connecting.
    const failed = await cli(['connect', '--single-hop', '--relay', 'ingress']);
    assert.notEqual(failed.code, 0, failed.stdout + failed.stderr);
    assert.doesNotMatch((await tb.exec('client', 'nft', ['list', 'tables'])).stdout, /masque_killswitch/, log);
    await tb.setForwarding('tunnel');
    const c = await cli(['connect', '--single-hop', '--relay', 'egress']);
    assert.equal(c.code, 0, c.stdout + c.stderr + log);
    assert.deepEqual(await chainRoles(), ['egress']);
    await lab.restartRelay(lab.egress);
    const end = Date.now() + 10_000;
    while (!log.includes('tunnel lost') && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    assert.ok(log.includes('tunnel lost'), log);
    let roles: string[] | null = null;
    while (!roles && Date.now() < end) {
      roles = await chainRoles();
      if (!roles) await new Promise((r) => setTimeout(r, 200));
    }
    assert.deepEqual(roles, ['egress'], 'reconnected through the egress alone, not the configured two hops');
    assert.equal((await ping(tb.addr.server.v4, 2)).received, 2);
    assert.equal((await cli(['disconnect'])).code, 0);
  } finally {
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon.once('exit', r));
    await tb.setForwarding('none');
  }
});
