/** QUIC core over real UDP sockets on loopback. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QuicEndpoint } from '../../src/quic/endpoint.js';
import { UdpPath } from '../../src/quic/udp-path.js';
import { generateCert } from '../../src/quic/certs.js';
import { INNER_MAX_UDP_PAYLOAD } from '../../src/quic/config.js';
import type { ConnDriver } from '../../src/quic/driver.js';
import { echoServer, TestClient, clientConfig, within, testCert, DatagramTunnelPath } from '../helpers/quic.js';

const LO = { host: '127.0.0.1', port: 0 };

async function udpServer(extra = {}) {
  return echoServer(await UdpPath.bind(LO), extra);
}

async function connectOnce(peer: { host: string; port: number }, cfg = clientConfig(), serverName = 'localhost', session?: Uint8Array) {
  const ep = new QuicEndpoint({ path: await UdpPath.bind(LO) });
  const app = new TestClient();
  const conn = ep.connect({ peer, serverName, config: cfg, app, session });
  return { ep, app, conn };
}

test('certificate verification: CA-signed passes; unknown CA, wrong name and pin mismatch fail', async () => {
  const ca = await generateCert({ names: ['masque test CA'], isCa: true });
  const leaf = await generateCert({ names: ['relay.test'], issuer: ca });
  const otherCa = await generateCert({ names: ['other CA'], isCa: true });
  const srv = await udpServer({ certPem: leaf.certPem, keyPem: leaf.keyPem });
  const peer = srv.ep.local;

  const ok = await connectOnce(peer, clientConfig({ caPem: ca.certPem }), 'relay.test');
  await within(ok.app.established, 5000, 'verified handshake');
  assert.equal(ok.conn.isEstablished, true);

  const pinned = await connectOnce(peer, clientConfig({ pinSha256: [leaf.sha256] }), 'relay.test');
  await within(pinned.app.established, 5000, 'pinned handshake');

  for (const [what, cfg, name] of [
    ['unknown CA', clientConfig({ caPem: otherCa.certPem }), 'relay.test'],
    ['wrong name', clientConfig({ caPem: ca.certPem }), 'evil.test'],
    ['pin mismatch', clientConfig({ pinSha256: ['00'.repeat(32)] }), 'relay.test'],
  ] as const) {
    const bad = await connectOnce(peer, cfg, name);
    const info = await within(bad.app.closed, 10_000, what);
    assert.equal(info.isApp, false, what);
    assert.ok(info.code >= 0x100 && info.code <= 0x1ff, `${what}: a TLS alert as a crypto error, got 0x${info.code.toString(16)}`);
    await bad.ep.close();
  }
  await ok.ep.close();
  await pinned.ep.close();
  await srv.ep.close();
});

test('session resumption', async () => {
  const srv = await udpServer();
  const a = await connectOnce(srv.ep.local);
  await within(a.app.established, 5000, 'first');
  // The ticket arrives after the handshake: give it a round trip.
  a.conn.streamSend(0, new Uint8Array([1]), true);
  a.conn.wake();
  await a.app.until(() => a.app.received.get(0)?.fin === true);
  const session = (a.conn as ConnDriver).session();
  assert.ok(session && session.length > 0, 'a session ticket');
  const b = await connectOnce(srv.ep.local, clientConfig(), 'localhost', session!);
  await within(b.app.established, 5000, 'resumed');
  assert.equal((b.conn as ConnDriver).isResumed, true);
  await a.ep.close();
  await b.ep.close();
  await srv.ep.close();
});

test('migration: the client moves to a new local port and the connection survives', async () => {
  const srv = await udpServer();
  const c = await connectOnce(srv.ep.local);
  await within(c.app.established, 5000, 'handshake');
  c.conn.streamSend(0, Buffer.from('before'), false);
  c.conn.wake();
  await c.app.until(() => (c.app.received.get(0)?.bytes ?? 0) === 6);
  const oldPort = c.ep.local.port;
  const next = await UdpPath.bind(LO);
  c.ep.rebind(next);
  assert.notEqual(c.ep.local.port, oldPort);
  c.conn.streamSend(0, Buffer.from('after'), true);
  c.conn.wake();
  await c.app.until(() => c.app.received.get(0)?.fin === true, 10_000);
  assert.equal(Buffer.concat(c.app.received.get(0)!.chunks).toString(), 'beforeafter');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(srv.conns[0].peer.port, next.local.port, 'the server follows the client to its new port');
  await c.ep.close();
  await srv.ep.close();
});

test('1 000 concurrent connections to one endpoint', async () => {
  const srv = await udpServer();
  const ep = new QuicEndpoint({ path: await UdpPath.bind(LO) });
  const apps: TestClient[] = [];
  const cfg = clientConfig();
  for (let i = 0; i < 1000; i++) {
    const app = new TestClient();
    apps.push(app);
    ep.connect({ peer: srv.ep.local, serverName: 'localhost', config: cfg, app });
  }
  const conns = await within(Promise.all(apps.map((a) => a.established)), 60_000, '1000 handshakes');
  assert.equal(srv.ep.connectionCount, 1000);
  // A stream (reliable) rather than a datagram: 2 000 packets in one burst may overflow a socket buffer.
  for (const c of conns) {
    c.streamSend(0, new Uint8Array([42]), true);
    c.wake();
  }
  await within(Promise.all(apps.map((a) => a.until(() => a.received.get(0)?.fin === true, 30_000))), 40_000, 'echo on every connection');
  await ep.close();
  await srv.ep.close({ graceMs: 200 });
});

test('QUIC nested inside another QUIC connection\'s datagrams', async () => {
  // Outer: client ⇄ relay. The relay's app hands outer datagrams to an inner server endpoint
  // through a DatagramTunnelPath; the client's inner endpoint uses the mirror path.
  const cert = await testCert();
  const { createQuicConfig } = await import('../../src/quic/config.js');
  const { EchoServerApp } = await import('../../src/quic/examples/echo.js');
  const innerServerSide = new DatagramTunnelPath({ host: '10.200.0.2', port: 443 }, { host: '10.200.0.1', port: 5000 });
  const innerClientSide = new DatagramTunnelPath({ host: '10.200.0.1', port: 5000 }, { host: '10.200.0.2', port: 443 });
  const outerSrvPath = await UdpPath.bind(LO);
  const outerSrv = new QuicEndpoint({ path: outerSrvPath, server: { config: createQuicConfig({ isServer: true, alpn: ['echo'], ...cert }), onConnection: () => innerServerSide } });
  const outerCli = new QuicEndpoint({ path: await UdpPath.bind(LO) });
  const outerApp = Object.assign(innerClientSide, {});
  const established = new Promise<void>((r) => {
    const orig = outerApp.onEstablished.bind(outerApp);
    outerApp.onEstablished = (c) => {
      orig(c);
      r();
    };
  });
  outerCli.connect({ peer: outerSrvPath.local, serverName: 'localhost', config: clientConfig(), app: outerApp });
  await within(established, 5000, 'outer handshake');

  const innerSrv = new QuicEndpoint({ path: innerServerSide, server: { config: createQuicConfig({ isServer: true, alpn: ['echo'], ...cert, maxUdpPayloadBytes: INNER_MAX_UDP_PAYLOAD }), onConnection: () => new EchoServerApp() } });
  const innerCli = new QuicEndpoint({ path: innerClientSide });
  const app = new TestClient();
  const inner = innerCli.connect({ peer: innerServerSide.local, serverName: 'localhost', config: clientConfig({ maxUdpPayloadBytes: INNER_MAX_UDP_PAYLOAD }), app });
  await within(app.established, 5000, 'inner handshake through the outer connection');
  const payload = new Uint8Array(200_000).fill(5);
  let off = 0;
  app.processWrites = (c) => {
    while (off < payload.length) {
      const n = c.streamSend(0, payload.subarray(off, off + 16384), off + 16384 >= payload.length);
      if (!n) return;
      off += n;
    }
  };
  inner.wake();
  await app.until(() => app.received.get(0)?.fin === true, 20_000);
  assert.equal(app.received.get(0)!.bytes, payload.length);
  const innerMax = inner.dgramMaxWritableLen()!;
  assert.ok(innerMax >= 1283, `inner datagram room ${innerMax} fits a 1280-byte packet plus prefixes`);
  assert.equal(innerClientSide.tooBig + innerServerSide.tooBig, 0, 'no inner packet was too big for the outer datagram');
  await innerCli.close();
  await innerSrv.close();
  await outerCli.close();
  await outerSrv.close();
});

test('a restarted server resets connections of its previous life at once (stateless reset)', async () => {
  const { spawn } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const script = fileURLToPath(new URL('../helpers/quic-echo-server.js', import.meta.url));
  const secret = 'ab'.repeat(32);
  const start = (port: number) =>
    new Promise<{ kill(): void; port: number }>((resolve, reject) => {
      const p = spawn(process.execPath, [script, String(port), secret], { stdio: ['ignore', 'pipe', 'inherit'] });
      p.stdout!.once('data', (d) => resolve({ kill: () => p.kill('SIGKILL'), port: Number(/ready (\d+)/.exec(String(d))?.[1]) }));
      p.once('error', reject);
    });
  const first = await start(0);
  const c = await connectOnce({ host: '127.0.0.1', port: first.port });
  await within(c.app.established, 5000, 'handshake');
  first.kill(); // no CONNECTION_CLOSE: the process is gone
  await new Promise((r) => setTimeout(r, 200));
  const second = await start(first.port);
  const t0 = Date.now();
  c.conn.streamSend(0, Buffer.from('anyone there?'), false);
  c.conn.wake();
  const info = await within(c.app.closed, 3000, 'closed by the stateless reset');
  const ms = Date.now() - t0;
  assert.equal(info.isTimeout, false, 'not an idle timeout');
  assert.ok(ms < 1500, `noticed in ${ms} ms`);
  second.kill();
  await c.ep.close();
});

test('CA verification with an IP-literal server name checks the IP SAN', async () => {
  const ca = await generateCert({ names: ['masque test CA'], isCa: true });
  const good = await generateCert({ names: ['relay.test', '127.0.0.1'], issuer: ca });
  const noIp = await generateCert({ names: ['relay.test'], issuer: ca });
  for (const [leaf, isOk] of [[good, true], [noIp, false]] as const) {
    const srv = await udpServer({ certPem: leaf.certPem, keyPem: leaf.keyPem });
    const c = await connectOnce(srv.ep.local, clientConfig({ caPem: ca.certPem }), '127.0.0.1');
    if (isOk) await within(c.app.established, 5000, 'IP SAN accepted');
    else {
      const info = await within(c.app.closed, 5000, 'IP SAN missing');
      assert.equal(info.code, 0x12a);
    }
    await c.ep.close();
    await srv.ep.close();
  }
});
