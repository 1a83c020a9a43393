/**
 * The relay in the testbed (issue 6): role and policy refusals, authentication failures with
 * their status and code, metrics content, SIGHUP reload under load, and hostile input that
 * must leave other clients unaffected. Relays are real `relay-cli serve` processes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Testbed } from '../helpers/testbed.js';
import { CLI, Lab, metricValue, type LabRelay } from '../helpers/lab.js';
import type { Host } from '../helpers/testbed-net.js';
import { encodeKey, generateKeyPair } from '../../src/identity/keys.js';

const REQ = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../helpers/masque-request.js');
let tb: Testbed;
let lab: Lab;

before(async () => {
  tb = await Testbed.create({ ipv6: false, forwarding: 'none' });
  lab = await Lab.start(tb, { twoHop: true });
});

after(async () => {
  await lab?.stop();
  await tb?.dispose();
});

interface Answer { status: number; proxyStatus?: string; hasNoiseResponse?: boolean; resetCode?: number }

async function ask(from: Host, relay: LabRelay, requests: object[], opts: { key?: Uint8Array; sameConnection?: boolean } = {}): Promise<Answer[]> {
  const spec = {
    peer: { host: relay.address, port: relay.port },
    relayPublicKey: relay.publicKey,
    clientPrivateKey: encodeKey(opts.key ?? lab.client.privateKey),
    requests,
    sameConnection: opts.sameConnection,
  };
  const r = await tb.exec(from, process.execPath, [REQ, JSON.stringify(spec)], { timeoutMs: 30_000 });
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Answer);
}

const udp = (host: string, port: number) => ({ protocol: 'connect-udp', path: `/.well-known/masque/udp/${host}/${port}/`, noise: 'ok' });
const ip = { protocol: 'connect-ip', path: '/.well-known/masque/ip/*/*/', noise: 'ok' };

test('ingress: forwards only to its egress, never serves CONNECT-IP', async () => {
  const [toEgress, toServer, connectIp] = await ask('client', lab.ingress!, [
    udp(lab.egress.address, lab.egress.port), udp(tb.addr.server.v4, 53), ip,
  ], { sameConnection: true });
  assert.equal(toEgress.status, 200);
  assert.equal(toEgress.hasNoiseResponse, true, 'the first 2xx carries the relay\'s Noise answer');
  assert.ok(toServer.status >= 400 && toServer.status < 600, `non-egress target refused: ${toServer.status}`);
  assert.match(toServer.proxyStatus ?? '', /error=/);
  assert.equal(connectIp.status, 501);
  // The refused destination never reaches the ingress's log beside the client's address.
  const logged = JSON.stringify(lab.ingress!.logs);
  assert.ok(logged.includes(`${lab.egress.address}:${lab.egress.port}`), 'the egress target is logged');
  assert.ok(!logged.includes(tb.addr.server.v4), `the server's address is not: ${logged.slice(-600)}`);
  assert.ok(!lab.ingress!.logs.some((l) => l.msg === 'request failed'), 'a 501 is the client\'s request, not a relay fault to warn about');
});

test('egress: refuses loopback, link-local/metadata and private targets not allowed', async () => {
  // Asked from the ingress namespace: the egress trusts the ingress by address.
  const answers = await ask('ingress', lab.egress, [udp('127.0.0.1', 53), udp('169.254.169.254', 80), udp('192.168.1.1', 53), udp(tb.addr.server.v4, 9)], { sameConnection: true });
  for (const a of answers.slice(0, 3)) {
    assert.ok(a.status >= 400, `forbidden target refused: ${JSON.stringify(a)}`);
    assert.match(a.proxyStatus ?? '', /destination_ip_prohibited/);
  }
  assert.equal(answers[3].status, 200, 'the lab server network is allow-listed');
});

test('authentication: unknown key, replayed hello, wrong certificate hash, no credential', async () => {
  const stranger = generateKeyPair().privateKey;
  const [unknown] = await ask('client', lab.ingress!, [udp(lab.egress.address, lab.egress.port)], { key: stranger });
  assert.equal(unknown.status, 403);
  assert.match(unknown.proxyStatus ?? '', /ERR_AUTH_UNKNOWN_KEY/);
  const [first, replay] = await ask('client', lab.ingress!, [udp(lab.egress.address, lab.egress.port), { ...udp(lab.egress.address, lab.egress.port), noise: 'replay-previous' }]);
  assert.equal(first.status, 200);
  assert.ok(replay.status === 403, `replay refused: ${JSON.stringify(replay)}`);
  assert.match(replay.proxyStatus ?? '', /ERR_AUTH_(REPLAY|CERT_MISMATCH)/, 'a replay on a new connection fails the replay or the certificate binding');
  const [badCert] = await ask('client', lab.ingress!, [{ ...udp(lab.egress.address, lab.egress.port), noise: 'bad-cert' }]);
  assert.equal(badCert.status, 403);
  assert.match(badCert.proxyStatus ?? '', /ERR_AUTH_CERT_MISMATCH/);
  const [none] = await ask('client', lab.ingress!, [{ ...udp(lab.egress.address, lab.egress.port), noise: 'none' }]);
  assert.ok(none.status === 407 || none.status === 403, `no credential: ${none.status}`);
  const m = await lab.metrics(lab.ingress!);
  assert.ok(metricValue(m, 'masque_relay_auth_failures_total', { reason: 'ERR_AUTH_UNKNOWN_KEY' }) >= 1, m);
  assert.ok(metricValue(m, 'masque_relay_auth_failures_total', { reason: 'ERR_AUTH_CERT_MISMATCH' }) >= 1);
  assert.ok(metricValue(m, 'masque_relay_connections_total') >= 4);
});

test('hostile input: a garbage flood and 3000 half-open handshakes leave other clients unaffected', async () => {
  const flood = `
    const s = require('dgram').createSocket('udp4'); const b = require('crypto').randomBytes(1400);
    let n = 0; const t0 = Date.now();
    const go = () => { for (let i = 0; i < 200; i++) { b[0] = i % 3 === 0 ? 0xc0 : (i & 0x7f); s.send(b, ${lab.ingress!.port}, '${lab.ingress!.address}'); n++; }
      if (Date.now() - t0 < 3000) setImmediate(go); else s.close(); };
    go();`;
  const half = `
    const dgram = require('dgram'); let k = 0;
    for (let i = 0; i < 3000; i++) { const s = dgram.createSocket('udp4'); const p = Buffer.alloc(1200);
      p.set([0xc0, 0, 0, 0, 1, 8]); require('crypto').randomFillSync(p, 6, 8); p[14] = 8; require('crypto').randomFillSync(p, 15, 8);
      s.send(p, ${lab.ingress!.port}, '${lab.ingress!.address}', () => { s.close(); }); }`;
  await Promise.all([
    tb.exec('client', process.execPath, ['-e', flood], { timeoutMs: 20_000 }),
    tb.exec('client', process.execPath, ['-e', half], { timeoutMs: 20_000 }),
  ]);
  const [ok] = await ask('client', lab.ingress!, [udp(lab.egress.address, lab.egress.port)]);
  assert.equal(ok.status, 200, 'a real client is still served');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${lab.ingress!.proc.pid}/status`, 'utf8'))?.[1]);
  assert.ok(rssKb < 400 * 1024, `ingress RSS ${rssKb} kB stays bounded`);
  assert.equal(lab.ingress!.proc.exitCode, null, 'the relay is alive');
});

test('SIGHUP reloads the authorized keys under load; live tunnels stay up', async () => {
  const c = await lab.startClient(lab.clientConfig());
  const pinger = tb.spawn('client', 'ping', ['-i', '0.1', '-c', '30', '-W', '1', tb.addr.server.v4], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  pinger.stdout!.on('data', (d) => (out += d));
  await new Promise((r) => setTimeout(r, 800));
  // Remove the client's key from the ingress's allowlist and reload.
  const authorized = path.join(lab.dir, 'authorized_keys');
  const before = readFileSync(authorized, 'utf8');
  writeFileSync(authorized, `${encodeKey(generateKeyPair().publicKey)} someone-else\n`);
  lab.ingress!.proc.kill('SIGHUP');
  await new Promise((r) => pinger.once('exit', r));
  const received = Number(/(\d+) received/.exec(out)?.[1] ?? 0);
  assert.ok(received >= 28, `pings through the live tunnel during reload: ${received}/30`);
  const [refused] = await ask('client', lab.ingress!, [udp(lab.egress.address, lab.egress.port)]);
  assert.equal(refused.status, 403, 'new connections see the reloaded allowlist');
  writeFileSync(authorized, before);
  lab.ingress!.proc.kill('SIGHUP');
  await lab.stopClient(c);
  assert.ok(lab.ingress!.logs.some((l) => l.msg === 'config reloaded'));
});

test('a failed start exits at once and leaves no TUN, nft table or forwarding change behind', async () => {
  // The server namespace runs no relay. The egress network (TUN, NAT table, forwarding) is set
  // up before the QUIC socket and the metrics listener; a failure of either must undo it.
  const sysctl = () => tb.exec('server', 'sysctl', ['-n', 'net.ipv4.ip_forward', 'net.ipv6.conf.all.forwarding']).then((r) => r.stdout);
  const forwarding = await sysctl();
  const keyFile = path.join(lab.dir, 'failed-start.key');
  const base = [CLI, 'serve', '--role', 'egress', '--identity', keyFile, '--auth', 'noise',
    '--authorized-keys', path.join(lab.dir, 'authorized_keys'), '--log-level', 'info'];
  const cases = [
    { what: 'QUIC socket', args: ['--listen', '10.9.9.9:4433'] },
    { what: 'metrics listener', args: ['--listen', `${tb.addr.server.v4}:4433`, '--metrics', '10.9.9.9:9464'] },
  ];
  for (const c of cases) {
    const r = await tb.exec('server', process.execPath, [...base, ...c.args], { allowFail: true, timeoutMs: 20_000 });
    assert.equal(r.code, 1, `${c.what}: exit code (${r.signal ?? ''}) ${r.stderr}`);
    assert.match(r.stderr, c.what === 'QUIC socket' ? /^relay-cli: ERR_QUIC_BIND: .*EADDRNOTAVAIL/m : /^relay-cli: ERR_RELAY_METRICS_BIND: .*EADDRNOTAVAIL/m, c.what);
    assert.match(r.stderr, /"msg":"egress network up"/, `${c.what}: the egress network was set up first`);
    const links = await tb.exec('server', 'ip', ['-o', 'link', 'show']);
    assert.doesNotMatch(links.stdout, /mqegress0/, `${c.what}: TUN removed`);
    const tables = await tb.exec('server', 'nft', ['list', 'tables']);
    assert.doesNotMatch(tables.stdout, /masque_relay/, `${c.what}: nft table removed`);
    assert.equal(await sysctl(), forwarding, `${c.what}: forwarding restored`);
  }
});
