// Nested QUIC: an HTTP/3 connection carried in a CONNECT-UDP tunnel (client → proxy A → server B),
// with a GET and a CONNECT-IP session (ICMP echo through B's in-memory network) through it.
// This is the two-hop shape of the VPN: ingress = A (CONNECT-UDP only), egress = B.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectUdpProxy } from '../../src/masque/connect-udp-proxy.js';
import { ConnectIpProxy } from '../../src/masque/connect-ip-proxy.js';
import { openConnectUdp } from '../../src/masque/connect-udp-client.js';
import { openConnectIp } from '../../src/masque/connect-ip-client.js';
import { AddressPool } from '../../src/masque/address-pool.js';
import { TargetPolicy } from '../../src/masque/policy.js';
import { INNER_MAX_UDP_PAYLOAD } from '../../src/quic/config.js';
import { buildIcmpEcho } from '../../src/wire/icmp.js';
import { MemoryIpNetwork } from '../helpers/memory-ip-network.js';
import { loopbackProxy, h3Client, until, UDP_TEMPLATE, IP_TEMPLATE } from '../helpers/masque-harness.js';
import { within } from '../helpers/quic.js';

test('HTTP/3 GET and CONNECT-IP through a CONNECT-UDP tunnel (client → A → B)', async () => {
  // B: the egress, serving GET and CONNECT-IP
  const network = new MemoryIpNetwork();
  const ipB = new ConnectIpProxy({
    pool4: new AddressPool({ prefix: '100.64.0.0/10' }), pool6: new AddressPool({ prefix: 'fd00:6d61:7371::/64' }),
    network, policy: new TargetPolicy({ allow: ['192.0.2.0/24'] }),
  });
  network.deliver = (p) => ipB.deliver(p);
  const b = await loopbackProxy({ ip: ipB });
  // A: the ingress, CONNECT-UDP to B only (the allowlist hook)
  const udpA = new ConnectUdpProxy({
    policy: new TargetPolicy({ allow: ['127.0.0.0/8'] }),
    isTargetAllowed: (h, p) => h === '127.0.0.1' && p === b.local.port,
  });
  const a = await loopbackProxy({ udp: udpA });
  const outer = await h3Client(a.local);
  try {
    const tunnel = await openConnectUdp(outer.h3, { template: UDP_TEMPLATE, targetHost: '127.0.0.1', targetPort: b.local.port });
    assert.ok(tunnel.maxPayloadBytes >= INNER_MAX_UDP_PAYLOAD, 'inner QUIC packets fit one outer datagram');
    // The inner connection runs over the tunnel as its PacketPath, sized for nesting.
    const inner = await within(h3Client(tunnel.remote, { path: tunnel, quic: { maxUdpPayloadBytes: INNER_MAX_UDP_PAYLOAD } }), 10_000, 'inner handshake');
    try {
      const body = await new Promise<string>((resolve, reject) => {
        let text = '';
        inner.h3.request([[':method', 'GET'], [':scheme', 'https'], [':authority', 'localhost'], [':path', '/through-a']], {
          endStream: true,
          handler: {
            onData: (_s, d) => { text += new TextDecoder().decode(d); },
            onEnd: () => resolve(text),
            onReset: (_s, c) => reject(new Error(`reset ${c}`)),
          },
        });
      });
      assert.equal(body, 'hello /through-a');
      const ip = await openConnectIp(inner.h3, { template: IP_TEMPLATE, requestAddresses: ['v4'] });
      assert.ok(ip.mtu >= 1280, `inner tunnel MTU ${ip.mtu} ≥ 1280 (RFC 9484 §7.2)`);
      const replies: Uint8Array[] = [];
      ip.onPacket = (p) => replies.push(p.slice());
      for (let seq = 1; seq <= 3; seq++) ip.sendPacket(buildIcmpEcho({ src: ip.addresses[0].bytes, dst: Uint8Array.of(192, 0, 2, 1), id: 9, seq }));
      await until(() => replies.length >= 2, 5000, 'echo replies through two hops');
      assert.equal(replies[0][20], 0); // ICMP Echo Reply
      assert.ok(udpA.counters.txPackets > 5 && udpA.counters.rxPackets > 5);
      assert.ok(tunnel.stats.txPackets > 5);
      ip.close();
    } finally {
      await inner.ep.close({ graceMs: 50 }); // closes the tunnel (its PacketPath) too
    }
    await within(tunnel.closed, 2000, 'tunnel closed');
    await until(() => udpA.activeSessions === 0, 2000, 'A released the socket');
  } finally {
    await outer.ep.close({ graceMs: 50 });
    await a.ep.close({ graceMs: 50 });
    await b.ep.close({ graceMs: 50 });
    udpA.closeAll();
    ipB.closeAll();
  }
});
