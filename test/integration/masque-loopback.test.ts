// MASQUE client ↔ proxy over real loopback QUIC: CONNECT-UDP echo (datagram and capsule paths),
// CONNECT-IP with address assignment, ICMP echo through an in-memory network, anti-spoofing, PTB.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { ConnectUdpProxy } from '../../src/masque/connect-udp-proxy.js';
import { ConnectIpProxy } from '../../src/masque/connect-ip-proxy.js';
import { openConnectUdp } from '../../src/masque/connect-udp-client.js';
import { openConnectIp } from '../../src/masque/connect-ip-client.js';
import { CONNECT_IP_HEADROOM } from '../../src/masque/connect-ip-packet.js';
import { AddressPool } from '../../src/masque/address-pool.js';
import { TargetPolicy } from '../../src/masque/policy.js';
import { buildIcmpEcho } from '../../src/wire/icmp.js';
import { MemoryIpNetwork } from '../helpers/memory-ip-network.js';
import { loopbackProxy, h3Client, until, UDP_TEMPLATE, IP_TEMPLATE } from '../helpers/masque-harness.js';
import { within } from '../helpers/quic.js';
import { UdpPath } from '../../src/quic/udp-path.js';
import type { HostPort, PacketPath } from '../../src/quic/path.js';

const te = new TextEncoder();
const td = new TextDecoder();

const echo = dgram.createSocket('udp4');
echo.on('message', (m, r) => echo.send(m, r.port, r.address));
const echoPort = await new Promise<number>((r) => echo.bind(0, '127.0.0.1', () => r(echo.address().port)));

const network = new MemoryIpNetwork();
const udp = new ConnectUdpProxy({ policy: new TargetPolicy({ allow: ['127.0.0.0/8'] }) });
const pool4 = new AddressPool({ prefix: '100.64.0.0/10' });
const pool6 = new AddressPool({ prefix: 'fd00:6d61:7371::/64' });
const ip = new ConnectIpProxy({ pool4, pool6, network, policy: new TargetPolicy({ allow: ['192.0.2.0/24', '2001:db8::/32'] }) });
network.deliver = (p) => ip.deliver(p);
const proxy = await loopbackProxy({ udp, ip });
after(async () => {
  udp.closeAll();
  ip.closeAll();
  echo.close();
  await proxy.ep.close({ graceMs: 50 });
});

for (const isDgram of [true, false]) {
  test(`CONNECT-UDP echo over loopback QUIC (${isDgram ? 'QUIC DATAGRAM' : 'DATAGRAM capsule'} path)`, async () => {
    const c = await h3Client(proxy.local, { h3Datagram: isDgram }); // no H3_DATAGRAM → capsules (RFC 9297 §3.5)
    try {
      assert.equal(c.h3.isDatagramEnabled, isDgram);
      const s = await openConnectUdp(c.h3, { template: UDP_TEMPLATE, targetHost: '127.0.0.1', targetPort: echoPort });
      assert.equal(s.maxPayloadBytes, isDgram ? c.h3.quic!.dgramMaxWritableLen()! - 2 : 65527);
      const got: string[] = [];
      s.onReceive((p) => got.push(td.decode(p)));
      for (let i = 0; i < 20; i++) s.send(te.encode(`pkt ${i}`), s.remote);
      await until(() => got.length >= 18, 5000, 'echoes'); // datagrams may be lost; loopback rarely loses any
      assert.ok(got.includes('pkt 0') || got.includes('pkt 1'));
      s.close();
      await within(s.closed, 2000, 'session close');
    } finally {
      await c.ep.close({ graceMs: 50 });
    }
  });
}

test('CONNECT-IP over loopback QUIC: assignment, ICMP echo (both families), zero-copy send, anti-spoofing, PTB', async () => {
  const c = await h3Client(proxy.local);
  try {
    const s = await openConnectIp(c.h3, { template: IP_TEMPLATE, requestAddresses: ['v4', 'v6'] });
    assert.equal(s.addresses.length, 2);
    // RFC 9484 §7.2: a 1280-byte echo to ff02::1 crossed both ways before the open resolved.
    assert.equal(s.mtuProbe, 'verified');
    assert.ok(ip.counters.linkEchoAnswered >= 1);
    const mtu = c.h3.quic!.dgramMaxWritableLen()! - 2; // QUIC DATAGRAM payload − QSID − Context ID
    assert.equal(s.mtu, mtu);
    assert.ok(mtu >= 1280); // RFC 9484 §7.2
    await until(() => s.routes.length === 2, 2000, 'routes');
    const replies: number[] = [];
    s.onPacket = (p) => replies.push(p[0] >> 4);
    const [a4, a6] = s.addresses;
    assert.equal(s.sendPacket(buildIcmpEcho({ src: a4.bytes, dst: Uint8Array.of(192, 0, 2, 1), id: 1, seq: 1 })), true);
    const v6 = buildIcmpEcho({ src: a6.bytes, dst: Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1), id: 1, seq: 2 });
    const buf = new Uint8Array(CONNECT_IP_HEADROOM + v6.length);
    buf.set(v6, CONNECT_IP_HEADROOM);
    assert.equal(s.sendPacketWithHeadroom(buf, CONNECT_IP_HEADROOM, v6.length), true);
    await until(() => replies.length === 2, 3000, 'echo replies');
    assert.deepEqual(replies.sort(), [4, 6]);
    // anti-spoofing at the proxy: forge a source past the client's own check
    c.h3.conn.sendDatagram(s.streamId, Uint8Array.of(0, ...buildIcmpEcho({ src: Uint8Array.of(100, 64, 0, 200), dst: Uint8Array.of(192, 0, 2, 1), id: 1, seq: 3 })));
    c.h3.wake();
    await until(() => ip.counters.dropsBySrc === 1, 2000, 'spoof drop');
    // oversized (1500 > mtu) → PTB built locally with the tunnel MTU
    const ptb: Uint8Array[] = [];
    s.onPacket = (p) => ptb.push(p.slice());
    assert.equal(s.sendPacket(buildIcmpEcho({ src: a6.bytes, dst: v6.subarray(24, 40), id: 1, seq: 4, payload: new Uint8Array(1452) })), false);
    assert.equal(ptb[0][40], 2);
    assert.equal((ptb[0][46] << 8) | ptb[0][47], mtu);
    s.close();
    await until(() => ip.activeSessions === 0, 2000, 'proxy session end');
    assert.equal(pool4.size + pool6.size, 0);
  } finally {
    await c.ep.close({ graceMs: 50 });
  }
});

/** A UdpPath whose sends above `limit` bytes vanish once a limit is set: a path-MTU black hole. */
class BlackHolePath implements PacketPath {
  limit = Infinity;
  dropped = 0;
  constructor(private readonly inner: UdpPath) {}
  get local(): HostPort { return this.inner.local; }
  send(pkt: Uint8Array, to: HostPort): void {
    if (pkt.length > this.limit) this.dropped++;
    else this.inner.send(pkt, to);
  }
  onReceive(h: (pkt: Uint8Array, from: HostPort) => void): void { this.inner.onReceive(h); }
  flush(): void { this.inner.flush?.(); }
  close(): void { this.inner.close(); }
}

test('CONNECT-IP over a path that drops 1280-byte packets after the handshake → ERR_MASQUE_MTU (RFC 9484 §7.2)', async () => {
  const path = new BlackHolePath(await UdpPath.bind({ host: '127.0.0.1', port: 0 }));
  const c = await h3Client(proxy.local, { path });
  try {
    // QUIC still believes in its configured packet size: the datagram limit passes the check.
    assert.ok(c.h3.quic!.dgramMaxWritableLen()! - 2 >= 1280);
    path.limit = 1300;
    const before = ip.counters.linkEchoAnswered;
    const err = await openConnectIp(c.h3, { template: IP_TEMPLATE, requestAddresses: ['v4', 'v6'], mtuProbeMs: 600 }).catch((e) => e);
    assert.equal(err.code, 'ERR_MASQUE_MTU');
    assert.ok(path.dropped >= 3, `the 1280-byte probes were lost (${path.dropped})`);
    assert.ok(ip.counters.linkEchoAnswered >= before + 1, 'the small probes were answered');
    await until(() => ip.activeSessions === 0, 2000, 'proxy session end');
    assert.equal(pool4.size + pool6.size, 0, 'the torn-down tunnel gave its addresses back');
  } finally {
    await c.ep.close({ graceMs: 50 });
  }
});
