// CONNECT-UDP sessions (RFC 9298) over the in-memory HTTP/3 pipe, with a real loopback UDP echo target.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { openConnectUdp, MasqueSessionError, type ConnectUdpSession } from '../../../src/masque/connect-udp-client.js';
import { ConnectUdpProxy } from '../../../src/masque/connect-udp-proxy.js';
import { TargetPolicy } from '../../../src/masque/policy.js';
import { parseUriTemplate } from '../../../src/masque/template.js';
import { H3_CONNECT_ERROR, H3_MESSAGE_ERROR } from '../../../src/h3/errors.js';
import type { FieldLine } from '../../../src/h3/qpack/types.js';
import { pipeHarness, UDP_TEMPLATE, type ProxyRoutes } from '../../helpers/masque-harness.js';

const te = new TextEncoder();
const td = new TextDecoder();

/** A UDP echo server on 127.0.0.1. */
const echo = dgram.createSocket('udp4');
echo.on('message', (m, r) => echo.send(m, r.port, r.address));
const echoPort = await new Promise<number>((r) => echo.bind(0, '127.0.0.1', () => r(echo.address().port)));
const proxies: ConnectUdpProxy[] = [];
after(() => {
  echo.close();
  for (const p of proxies) p.closeAll(); // releases every target socket so the process can exit
});

function setup(o: { dgram?: boolean; proxy?: Partial<ConstructorParameters<typeof ConnectUdpProxy>[0]>; routes?: Partial<ProxyRoutes> } = {}) {
  const udp = new ConnectUdpProxy({ policy: new TargetPolicy({ allow: ['127.0.0.0/8'] }), ...o.proxy });
  proxies.push(udp);
  const seen: FieldLine[][] = [];
  const h = pipeHarness({ udp, seen, ...o.routes }, { dgram: o.dgram });
  return { ...h, udp, seen };
}

async function roundTrip(h: ReturnType<typeof setup>, s: ConnectUdpSession, text: string): Promise<string> {
  const got = new Promise<string>((r) => s.onReceive((p) => r(td.decode(p))));
  s.send(te.encode(text), s.remote);
  for (let i = 0; i < 200; i++) {
    await new Promise((r) => setTimeout(r, 1));
    h.pipe.advance();
    if (s.stats.rxPackets > 0) break;
  }
  return got;
}

test('request fields for the default template (RFC 9298 §3.4 order)', async () => {
  const h = setup();
  const s = await h.pump(openConnectUdp(h.cli, { template: UDP_TEMPLATE, targetHost: '127.0.0.1', targetPort: echoPort }));
  assert.deepEqual(h.seen[0], [
    [':method', 'CONNECT'], [':protocol', 'connect-udp'], [':scheme', 'https'], [':authority', 'localhost'],
    [':path', `/.well-known/masque/udp/127.0.0.1/${echoPort}/`], ['capsule-protocol', '?1'],
  ]);
  assert.equal(s.streamId, 0);
  assert.equal(s.maxPayloadBytes, 1200 - 2); // FakeQuic datagram limit − QSID − Context ID
  s.close();
});

test('query-style templates expand and match (RFC 9298 §2 examples)', async () => {
  for (const t of ['https://localhost/masque?h={target_host}&p={target_port}', 'https://localhost/masque{?target_host,target_port}']) {
    const h = setup({ routes: { udpTemplate: parseUriTemplate(t, 'udp') } });
    const s = await h.pump(openConnectUdp(h.cli, { template: t, targetHost: '127.0.0.1', targetPort: echoPort }));
    const path = h.seen[0].find(([n]) => n === ':path')![1];
    assert.match(path, new RegExp(`^/masque\\?(h|target_host)=127\\.0\\.0\\.1&(p|target_port)=${echoPort}$`));
    assert.equal(await roundTrip(h, s, 'q'), 'q');
  }
});

test('IPv6 literal is percent-encoded; policy refusal carries 502 + Proxy-Status', async () => {
  const h = setup();
  const err = await h.pump(openConnectUdp(h.cli, { template: UDP_TEMPLATE, targetHost: '2001:db8::42', targetPort: 443 })).catch((e) => e);
  assert.equal(h.seen[0].find(([n]) => n === ':path')![1], '/.well-known/masque/udp/2001%3Adb8%3A%3A42/443/');
  assert.ok(err instanceof MasqueSessionError);
  assert.equal(err.code, 'ERR_MASQUE_REFUSED');
  assert.equal(err.httpStatus, 502);
  assert.match(err.proxyStatus ?? '', /^masque-relay; error=destination_ip_prohibited/);
  assert.equal(h.udp.counters.refused, 1);
});

test('DNS target: resolved before replying; resolution failure → dns_error with rcode', async () => {
  const h = setup({
    proxy: {
      resolve: async (host) => {
        if (host === 'echo.test') return ['127.0.0.1'];
        throw Object.assign(new Error('nx'), { code: 'ENOTFOUND' });
      },
    },
  });
  const s = await h.pump(openConnectUdp(h.cli, { template: UDP_TEMPLATE, targetHost: 'echo.test', targetPort: echoPort }));
  assert.equal(await roundTrip(h, s, 'dns'), 'dns');
  const err = await h.pump(openConnectUdp(h.cli, { template: UDP_TEMPLATE, targetHost: 'nx.test', targetPort: 53 })).catch((e) => e);
  assert.equal(err.httpStatus, 502);
  assert.match(err.proxyStatus, /error=dns_error; rcode="NXDOMAIN"/);
});

test('ingress allowlist hook → 403 http_request_denied; bad port → 400 from the parser', async () => {
  const h = setup({ proxy: { isTargetAllowed: (_h, p) => p === 1 } });
  const e1 = await h.pump(openConnectUdp(h.cli, { template: UDP_TEMPLATE, targetHost: '127.0.0.1', targetPort: echoPort })).catch((e) => e);
  assert.equal(e1.httpStatus, 403);
  assert.match(e1.proxyStatus, /error=http_request_denied/);
  const e2 = await h.pump(openConnectUdp(h.cli, { template: UDP_TEMPLATE, targetHost: '127.0.0.1', targetPort: 70000 })).catch((e) => e);
  assert.equal(e2.httpStatus, 400);
  assert.match(e2.proxyStatus, /error=http_request_error/);
});

for (const isDgram of [true, false]) {
  test(`UDP echo through the tunnel (${isDgram ? 'QUIC DATAGRAM' : 'DATAGRAM capsule'} path)`, async () => {
    const h = setup({ dgram: isDgram });
    const s = await h.pump(openConnectUdp(h.cli, { template: UDP_TEMPLATE, targetHost: '127.0.0.1', targetPort: echoPort }));
    assert.equal(s.maxPayloadBytes, isDgram ? 1198 : 65527);
    assert.equal(await roundTrip(h, s, 'hello'), 'hello');
    assert.equal(h.udp.counters.txPackets, 1);
    assert.equal(h.udp.counters.rxPackets, 1);
    assert.deepEqual({ tx: s.stats.txPackets, rx: s.stats.rxPackets, txB: s.stats.txBytes }, { tx: 1, rx: 1, txB: 5 });
    assert.equal(h.cli.stats!.dgramsSent, isDgram ? 0 : 1); // datagram path bypasses the H3 copy
    s.close();
    await h.settle();
    assert.equal(h.udp.activeSessions, 0);
    await s.closed;
  });
}

test('unknown Context IDs and empty datagrams are dropped and counted; unknown capsules skipped', async () => {
  const h = setup();
  const s = await h.pump(openConnectUdp(h.cli, { template: UDP_TEMPLATE, targetHost: '127.0.0.1', targetPort: echoPort }));
  h.cli.conn.sendDatagram(0, Uint8Array.of(0x02, 0x68, 0x69)); // Context ID 2 (client-allocated, unregistered)
  h.cli.conn.sendDatagram(0, Uint8Array.of(0x41)); // truncated 2-byte Context ID varint
  h.cli.conn.sendCapsule(0, 0x2a2a, te.encode('grease')); // unknown capsule type
  await h.settle();
  assert.equal(h.udp.counters.dropsUnknownContext, 1);
  assert.equal(h.udp.counters.dropsMalformed, 1);
  assert.equal(await roundTrip(h, s, 'still up'), 'still up');
});

test('context-0 payload above 65527 bytes aborts the stream (RFC 9298 §5)', async () => {
  const h = setup({ dgram: false });
  const s = await h.pump(openConnectUdp(h.cli, { template: UDP_TEMPLATE, targetHost: '127.0.0.1', targetPort: echoPort }));
  h.cli.conn.sendCapsule(0, 0x00, new Uint8Array(1 + 65528)); // DATAGRAM capsule: ctx 0 + 65528 bytes
  await h.settle(10);
  assert.equal(h.udp.counters.dropsTooLarge, 1);
  assert.equal(h.udp.activeSessions, 0);
  await s.closed;
  assert.equal(s.isOpen, false);
});

test('capsule truncated by FIN and absurd capsule length → H3_MESSAGE_ERROR, socket released', async () => {
  for (const bytes of [Uint8Array.of(0x00, 0x05, 0x00, 0x61), Uint8Array.of(0x00, 0xbf, 0xff, 0xff, 0xff)]) {
    const h = setup();
    const s = await h.pump(openConnectUdp(h.cli, { template: UDP_TEMPLATE, targetHost: '127.0.0.1', targetPort: echoPort }));
    const codes: number[] = [];
    const prev = h.pipe.sq.shutdowns.length;
    h.cli.conn.sendData(0, bytes, true);
    await h.settle(10);
    assert.equal(h.udp.activeSessions, 0);
    codes.push(...h.pipe.sq.shutdowns.slice(prev).map((x) => +x.split(':')[2]));
    assert.ok(codes.includes(H3_MESSAGE_ERROR), `shutdowns ${h.pipe.sq.shutdowns}`);
    void s;
  }
});

test('idle sessions are closed with FIN and counted', async () => {
  const h = setup({ proxy: { idleTimeoutMs: 30 } });
  const s = await h.pump(openConnectUdp(h.cli, { template: UDP_TEMPLATE, targetHost: '127.0.0.1', targetPort: echoPort }));
  for (let i = 0; i < 100 && s.isOpen; i++) {
    await new Promise((r) => setTimeout(r, 5));
    h.pipe.advance();
  }
  await s.closed;
  assert.equal(h.udp.counters.closedIdle, 1);
  assert.equal(h.udp.activeSessions, 0);
  s.send(te.encode('late'));
  assert.equal(s.stats.drops, 1);
});

test('a bad template is refused before anything is sent (RFC 9298 §2)', async () => {
  const h = setup();
  const err = await openConnectUdp(h.cli, { template: 'https://localhost/{+target_host}/{target_port}', targetHost: 'a', targetPort: 1 }).catch((e) => e);
  assert.equal(err.code, 'ERR_TEMPLATE_OPERATOR');
  assert.equal(h.seen.length, 0);
});

for (const isNative of [true, false]) {
  test(`a target that is gone resets only its stream with H3_CONNECT_ERROR (RFC 9298 §3.1; ${isNative ? 'native/udp' : 'dgram'})`, async () => {
    const prev = process.env.MASQUE_UDP_BATCH;
    if (!isNative) process.env.MASQUE_UDP_BATCH = '0';
    try {
      const h = setup();
      const dead = dgram.createSocket('udp4');
      const deadPort = await new Promise<number>((r) => dead.bind(0, '127.0.0.1', () => r(dead.address().port)));
      await new Promise<void>((r) => dead.close(() => r()));
      const live = await h.pump(openConnectUdp(h.cli, { template: UDP_TEMPLATE, targetHost: '127.0.0.1', targetPort: echoPort }));
      const gone = await h.pump(openConnectUdp(h.cli, { template: UDP_TEMPLATE, targetHost: '127.0.0.1', targetPort: deadPort }));
      const prevShut = h.pipe.sq.shutdowns.length;
      for (let i = 0; i < 20 && gone.isOpen; i++) {
        gone.send(te.encode('anyone?'), gone.remote);
        await h.settle(5);
      }
      await gone.closed;
      const codes = h.pipe.sq.shutdowns.slice(prevShut).map((x) => +x.split(':')[2]);
      assert.ok(codes.includes(H3_CONNECT_ERROR), `shutdowns ${h.pipe.sq.shutdowns}`);
      assert.equal(h.udp.counters.closedError, 1);
      assert.equal(h.udp.activeSessions, 1);
      assert.equal(await roundTrip(h, live, 'other session unaffected'), 'other session unaffected');
    } finally {
      if (prev === undefined) delete process.env.MASQUE_UDP_BATCH;
      else process.env.MASQUE_UDP_BATCH = prev;
    }
  });
}
