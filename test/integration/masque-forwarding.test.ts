// Forwarded mode (draft-ietf-masque-quic-proxy-07) on real quiche connections over loopback:
// client → A (ingress, CONNECT-UDP) → B (egress). Once the CIDs are registered, the inner
// connection's short-header packets pass A beside the outer connection, scrambled, and A's
// tunnelled datagram counts stop growing. Also: the operator switch, hostile capsules and a
// forwarded packet from a stranger's address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { ConnectUdpProxy } from '../../src/masque/connect-udp-proxy.js';
import { openConnectUdp, type ConnectUdpSession } from '../../src/masque/connect-udp-client.js';
import { TargetPolicy } from '../../src/masque/policy.js';
import { INNER_MAX_UDP_PAYLOAD } from '../../src/quic/config.js';
import { Writer } from '../../src/wire/writer.js';
import { CAPSULE_ACK_TARGET_CID, CAPSULE_REGISTER_TARGET_CID } from '../../src/masque/quic-forwarding/capsules.js';
import { PROXY_QUIC_FORWARDING } from '../../src/masque/quic-forwarding/header.js';
import { loopbackProxy, h3Client, until, UDP_TEMPLATE } from '../helpers/masque-harness.js';
import { within } from '../helpers/quic.js';

async function chain(o: { forwarding: boolean; proxyForwarding?: boolean }) {
  const b = await loopbackProxy({});
  const udpA = new ConnectUdpProxy({
    policy: new TargetPolicy({ allow: ['127.0.0.0/8'] }),
    isTargetAllowed: (h, p) => h === '127.0.0.1' && p === b.local.port,
    quicForwarding: o.proxyForwarding,
  });
  const a = await loopbackProxy({ udp: udpA });
  const outer = await h3Client(a.local);
  const tunnel = await openConnectUdp(outer.h3, { template: UDP_TEMPLATE, targetHost: '127.0.0.1', targetPort: b.local.port, quicForwarding: o.forwarding });
  const inner = await within(h3Client(tunnel.remote, { path: tunnel, quic: { maxUdpPayloadBytes: INNER_MAX_UDP_PAYLOAD, spareCids: 0 } }), 10_000, 'inner handshake');
  const close = async () => {
    await inner.ep.close({ graceMs: 50 });
    await outer.ep.close({ graceMs: 50 });
    await a.ep.close({ graceMs: 50 });
    await b.ep.close({ graceMs: 50 });
    udpA.closeAll();
  };
  return { a, b, udpA, outer, tunnel, inner, close };
}

function get(h3: Awaited<ReturnType<typeof h3Client>>['h3'], path: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let text = '';
    h3.request([[':method', 'GET'], [':scheme', 'https'], [':authority', 'localhost'], [':path', path]], {
      endStream: true,
      handler: {
        onData: (_s, d) => { text += new TextDecoder().decode(d); },
        onEnd: () => resolve(text),
        onReset: (_s, c) => reject(new Error(`reset ${c}`)),
      },
    });
  });
}

/** The target VCID the client sends with (internal state: the test needs the bytes on the wire). */
function targetVcidOf(t: ConnectUdpSession): Uint8Array | null {
  return (t.fwd as unknown as { targetVcid: Uint8Array | null } | null)?.targetVcid ?? null;
}

test('forwarded mode: after registration the inner connection bypasses the outer one at the ingress', async () => {
  const c = await chain({ forwarding: true });
  try {
    assert.equal(c.tunnel.isForwarding, true, 'A accepted forwarded mode');
    assert.match(c.tunnel.responseFields.find(([n]) => n === PROXY_QUIC_FORWARDING)?.[1] ?? '', /^\?1;.*transform="scramble-dt".*scramble-key=:/);
    c.tunnel.startForwarding(c.inner.h3.quic!.sourceCid!(), c.inner.h3.quic!.destinationCid!());
    await until(() => targetVcidOf(c.tunnel) !== null, 3000, 'ACK_TARGET_CID');
    // A GET now and then lets A see ACK_CLIENT_VCID before the bulk of the replies.
    assert.equal(await get(c.inner.h3, '/warm'), 'hello /warm');
    const tunnelledUp = c.outer.h3.quic!.stats().dgramsSent;
    const before = { ...c.udpA.counters };
    for (let i = 0; i < 20; i++) assert.equal(await get(c.inner.h3, `/f${i}`), `hello /f${i}`);
    const k = c.udpA.counters;
    assert.ok(k.fwdUp - before.fwdUp >= 20, `client → egress forwarded: ${k.fwdUp - before.fwdUp}`);
    assert.ok(k.fwdDown - before.fwdDown >= 20, `egress → client forwarded: ${k.fwdDown - before.fwdDown}`);
    assert.equal(k.fwdDrops, 0);
    // Everything went beside the outer connection: it sent no DATAGRAM frame for those 20 GETs.
    assert.equal(c.outer.h3.quic!.stats().dgramsSent, tunnelledUp, 'no tunnelled datagram from the client');
    assert.equal(c.tunnel.fwd!.stats.fwdDrops, 0);
    assert.ok(c.tunnel.fwd!.stats.fwdRx >= 20);
  } finally {
    await c.close();
  }
});

test('forwarded mode: a packet with the target VCID from another address is dropped', async () => {
  const c = await chain({ forwarding: true });
  const stranger = dgram.createSocket('udp4');
  try {
    c.tunnel.startForwarding(c.inner.h3.quic!.sourceCid!(), c.inner.h3.quic!.destinationCid!());
    await until(() => targetVcidOf(c.tunnel) !== null, 3000, 'ACK_TARGET_CID');
    const vcid = targetVcidOf(c.tunnel)!;
    const pkt = new Uint8Array(100);
    pkt[0] = 0x40;
    pkt.set(vcid, 1);
    const upBefore = c.udpA.counters.fwdUp;
    await new Promise<void>((r) => stranger.send(pkt, c.a.local.port, '127.0.0.1', () => r()));
    await until(() => c.udpA.counters.fwdDrops === 1, 2000, 'the stranger\'s packet dropped');
    assert.equal(c.udpA.counters.fwdUp, upBefore, 'nothing forwarded to the egress');
    // The tunnel still works.
    assert.equal(await get(c.inner.h3, '/after'), 'hello /after');
  } finally {
    stranger.close();
    await c.close();
  }
});

test('forwarded mode: the operator switch answers ?0 and packets stay tunnelled', async () => {
  const c = await chain({ forwarding: true, proxyForwarding: false });
  try {
    assert.equal(c.tunnel.isForwarding, false);
    assert.equal(c.tunnel.responseFields.find(([n]) => n === PROXY_QUIC_FORWARDING)?.[1], '?0');
    c.tunnel.startForwarding(c.inner.h3.quic!.sourceCid!(), c.inner.h3.quic!.destinationCid!()); // no-op
    assert.equal(await get(c.inner.h3, '/t'), 'hello /t');
    assert.equal(c.udpA.counters.fwdUp + c.udpA.counters.fwdDown, 0);
    assert.ok(c.udpA.counters.txPackets > 3);
  } finally {
    await c.close();
  }
});

test('forwarded mode: a client that does not offer it gets no field and no forwarding', async () => {
  const c = await chain({ forwarding: false });
  try {
    assert.equal(c.tunnel.isForwarding, false);
    assert.equal(c.tunnel.responseFields.some(([n]) => n === PROXY_QUIC_FORWARDING), false);
    assert.equal(await get(c.inner.h3, '/n'), 'hello /n');
  } finally {
    await c.close();
  }
});

test('forwarded mode: hostile capsules reset only their own stream', async () => {
  const c = await chain({ forwarding: true });
  try {
    // A second tunnel from the same connection sends capsules only a proxy may send, and a
    // malformed registration; the first tunnel must keep working.
    const bad = await openConnectUdp(c.outer.h3, { template: UDP_TEMPLATE, targetHost: '127.0.0.1', targetPort: c.b.local.port, quicForwarding: true });
    const sessionsBefore = c.udpA.activeSessions;
    const stream = (bad as unknown as { stream: { writeCapsule(t: number, v: Uint8Array): boolean } }).stream;
    const v = new Writer(32).varint(4).bytes(Uint8Array.of(1, 2, 3, 4)).varint(4).bytes(Uint8Array.of(5, 6, 7, 8)).varint(0).finish();
    stream.writeCapsule(CAPSULE_ACK_TARGET_CID, v);
    await within(bad.closed, 3000, 'the hostile tunnel reset');
    await until(() => c.udpA.activeSessions === sessionsBefore - 1, 2000, 'A released the hostile session');
    const bad2 = await openConnectUdp(c.outer.h3, { template: UDP_TEMPLATE, targetHost: '127.0.0.1', targetPort: c.b.local.port, quicForwarding: true });
    const stream2 = (bad2 as unknown as { stream: { writeCapsule(t: number, v: Uint8Array): boolean } }).stream;
    stream2.writeCapsule(CAPSULE_REGISTER_TARGET_CID, Uint8Array.of(9, 1, 2)); // CID length 9, 2 bytes follow
    await within(bad2.closed, 3000, 'the malformed tunnel reset');
    assert.equal(await get(c.inner.h3, '/still'), 'hello /still');
  } finally {
    await c.close();
  }
});
