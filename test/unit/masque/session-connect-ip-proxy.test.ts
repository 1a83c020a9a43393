// CONNECT-IP proxy (RFC 9484) with our client over the in-memory pipe (DATAGRAM capsule path)
// and an in-memory network: assignment, routes, echo, scope and anti-spoofing drops, PTB, TTL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectIpProxy } from '../../../src/masque/connect-ip-proxy.js';
import { openConnectIp } from '../../../src/masque/connect-ip-client.js';
import { AddressPool } from '../../../src/masque/address-pool.js';
import { TargetPolicy } from '../../../src/masque/policy.js';
import { formatIpPrefix } from '../../../src/masque/ip-prefix.js';
import { H3_MESSAGE_ERROR } from '../../../src/h3/errors.js';
import { buildIcmpEcho } from '../../../src/wire/icmp.js';
import { internetChecksum, pseudoHeaderSum } from '../../../src/wire/checksum.js';
import { ipSrcString, setIpv4HeaderChecksum } from '../../../src/wire/ip.js';
import { MemoryIpNetwork } from '../../helpers/memory-ip-network.js';
import { pipeHarness, IP_TEMPLATE } from '../../helpers/masque-harness.js';

const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, '').match(/../g)!.map((x) => parseInt(x, 16)));
const ip4 = (s: string) => Uint8Array.from(s.split('.').map(Number));
const ip6 = (groups: number[]) => Uint8Array.from(groups.flatMap((g) => [g >> 8, g & 0xff]));

/** IPv4 UDP packet (UDP checksum 0 = none, legal in IPv4). */
function udp4(src: Uint8Array, dst: Uint8Array, sport: number, dport: number, payload = new Uint8Array(4), ttl = 64): Uint8Array {
  const p = new Uint8Array(28 + payload.length);
  p.set([0x45, 0, p.length >> 8, p.length & 0xff, 0, 0, 0x40, 0, ttl, 17]);
  p.set(src, 12); p.set(dst, 16);
  p.set([sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, (8 + payload.length) >> 8, (8 + payload.length) & 0xff], 20);
  p.set(payload, 28);
  setIpv4HeaderChecksum(p);
  return p;
}

function setup(o: Partial<ConstructorParameters<typeof ConnectIpProxy>[0]> = {}) {
  const network = new MemoryIpNetwork();
  const pool4 = new AddressPool({ prefix: '100.64.0.0/10' });
  const pool6 = new AddressPool({ prefix: 'fd00:6d61:7371::/64' });
  const ip = new ConnectIpProxy({
    pool4, pool6, network, policy: new TargetPolicy({ allow: ['192.0.2.0/24', '2001:db8::/32'] }), ...o,
  });
  network.deliver = (p) => ip.deliver(p);
  const h = pipeHarness({ ip }, { dgram: false });
  return { ...h, ip, network, pool4, pool6 };
}

test('address assignment (v4 + v6), full-tunnel routes, ICMP and ICMPv6 echo through the network', async () => {
  const h = setup();
  const s = await h.pump(openConnectIp(h.cli, { template: IP_TEMPLATE, requestAddresses: ['v4', 'v6'] }));
  await h.settle();
  assert.deepEqual(s.addresses.map(formatIpPrefix), ['100.64.0.1/32', 'fd00:6d61:7371::1/128']);
  assert.equal(s.routes.length, 2);
  const got: string[] = [];
  s.onPacket = (p) => got.push(`${ipSrcString(p)} ttl=${p[0] >> 4 === 6 ? p[7] : p[8]}`);
  assert.equal(s.sendPacket(buildIcmpEcho({ src: s.addresses[0].bytes, dst: ip4('192.0.2.1'), id: 7, seq: 1 })), true);
  assert.equal(s.sendPacket(buildIcmpEcho({ src: s.addresses[1].bytes, dst: ip6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]), id: 7, seq: 1 })), true);
  await h.settle();
  // One hop-limit decrement on encapsulation at the proxy (RFC 9484 §7.2), none at decapsulation.
  assert.deepEqual(got, ['192.0.2.1 ttl=63', '2001:db8::1 ttl=63']);
  assert.equal(h.network.sent[0][8], 64, 'client → network keeps its TTL');
  assert.equal(h.ip.counters.fromClientPackets, 2);
  assert.equal(h.ip.counters.toClientPackets, 2);
  s.close();
  await h.settle();
  assert.equal(h.ip.activeSessions, 0);
  assert.equal(h.pool4.size + h.pool6.size, 0, 'addresses released on session end');
});

test('an IPv4-only proxy (pool6 null): v6 request refused, v4 routes only; the client answers IPv6 "no route", rate-limited', async () => {
  const h = setup({ pool6: null });
  const s = await h.pump(openConnectIp(h.cli, { template: IP_TEMPLATE, requestAddresses: ['v4', 'v6'] }));
  await h.settle();
  assert.deepEqual(s.addresses.map(formatIpPrefix), ['100.64.0.1/32'], 'the v6 request got the §4.7.2 refusal');
  assert.deepEqual(s.routes.map((r) => r.version), [4], 'ROUTE_ADVERTISEMENT covers IPv4 only');
  const local: Uint8Array[] = [];
  s.onPacket = (p) => local.push(p.slice());
  // What the host sends into the TUN for IPv6: its physical source (it has no tunnel address).
  const hostV6 = ip6([0xfd00, 0x99, 1, 0, 0, 0, 0, 1]);
  const far = ip6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
  assert.equal(s.sendPacket(buildIcmpEcho({ src: hostV6, dst: far, id: 1, seq: 1 })), false);
  assert.equal(local.length, 1);
  const icmp = local[0];
  // ICMPv6 Destination Unreachable, code 0 "no route" (RFC 4443 §3.1), from the far end to the host.
  assert.deepEqual([icmp[0] >> 4, icmp[6], icmp[40], icmp[41]], [6, 58, 1, 0]);
  assert.deepEqual([...icmp.subarray(8, 24)], [...far]);
  assert.deepEqual([...icmp.subarray(24, 40)], [...hostV6]);
  assert.equal(internetChecksum(icmp, 40, icmp.length - 40, pseudoHeaderSum(icmp, 0, 58, icmp.length - 40)), 0);
  assert.equal(s.stats.noRouteSent, 1);
  // RFC 4443 §2.4(f): a flood gets at most 100 answers a second.
  for (let i = 2; i <= 300; i++) s.sendPacket(buildIcmpEcho({ src: hostV6, dst: far, id: 1, seq: i }));
  assert.equal(s.stats.noRouteSent, 100);
  // A forged IPv4 source is only dropped: the tunnel does carry IPv4.
  assert.equal(s.sendPacket(buildIcmpEcho({ src: ip4('100.64.0.99'), dst: ip4('192.0.2.1'), id: 1, seq: 1 })), false);
  assert.equal(s.stats.noRouteSent, 100);
  assert.equal(local.length, 100);
  // Nothing of it reached the proxy or its network; IPv4 still works.
  assert.equal(s.sendPacket(buildIcmpEcho({ src: s.addresses[0].bytes, dst: ip4('192.0.2.1'), id: 7, seq: 1 })), true);
  await h.settle();
  assert.equal(h.network.sent.length, 1);
  assert.equal(h.ip.counters.fromClientPackets, 1);
  s.close();
  await h.settle();
  assert.equal(h.pool4.size, 0);
});

test('anti-spoofing: a packet whose source is not the assigned address is dropped and counted', async () => {
  const h = setup();
  const s = await h.pump(openConnectIp(h.cli, { template: IP_TEMPLATE, requestAddresses: ['v4'] }));
  // Bypass the client's own check: raw Context ID 0 datagram with a forged source.
  const forged = buildIcmpEcho({ src: ip4('100.64.0.99'), dst: ip4('192.0.2.1'), id: 1, seq: 1 });
  h.cli.conn.sendDatagram(s.streamId, Uint8Array.of(0, ...forged));
  await h.settle();
  assert.equal(h.ip.counters.dropsBySrc, 1);
  assert.equal(h.network.sent.length, 0);
});

test('scope (RFC 9484 §4.6): destination and protocol checked both ways; ICMP always allowed', async () => {
  const h = setup();
  const s = await h.pump(openConnectIp(h.cli, { template: IP_TEMPLATE, target: '192.0.2.0/24', ipproto: 17, requestAddresses: ['v4'] }));
  await h.settle();
  assert.equal(s.routes.length, 1);
  assert.equal(s.routes[0].ipProtocol, 17);
  const me = s.addresses[0].bytes;
  const icmpBack: Uint8Array[] = [];
  s.onPacket = (p) => icmpBack.push(p.slice());
  assert.equal(s.sendPacket(udp4(me, ip4('192.0.2.9'), 5000, 9)), true); // in scope
  assert.equal(s.sendPacket(buildIcmpEcho({ src: me, dst: ip4('192.0.2.9'), id: 1, seq: 1 })), true); // ICMP always
  assert.equal(s.sendPacket(udp4(me, ip4('198.51.100.1'), 5000, 9)), false); // not advertised: client drops
  assert.equal(s.stats.dropsByRoute, 1);
  const tcp = udp4(me, ip4('192.0.2.9'), 5000, 9);
  tcp[9] = 6; setIpv4HeaderChecksum(tcp);
  h.cli.conn.sendDatagram(s.streamId, Uint8Array.of(0, ...tcp)); // protocol out of scope, forced past the client
  h.cli.conn.sendDatagram(s.streamId, Uint8Array.of(0, ...udp4(me, ip4('198.51.100.1'), 1, 2))); // target out of scope
  await h.settle();
  assert.equal(h.ip.counters.dropsByScope, 2);
  assert.equal(h.ip.counters.prohibitedSent, 2);
  assert.equal(icmpBack.filter((p) => p[20] === 3 && p[21] === 13).length, 2); // Dest Unreachable, admin prohibited
  // network → client: a source outside the scope is dropped too
  assert.equal(h.network.inject(udp4(ip4('198.51.100.1'), me, 9, 5000)), true);
  await h.settle();
  assert.equal(h.ip.counters.dropsByScope, 3);
});

test('policy: destinations the TargetPolicy refuses are dropped with ICMP prohibited', async () => {
  const h = setup();
  const s = await h.pump(openConnectIp(h.cli, { template: IP_TEMPLATE, requestAddresses: ['v4'] }));
  s.sendPacket(buildIcmpEcho({ src: s.addresses[0].bytes, dst: ip4('10.1.2.3'), id: 1, seq: 1 }));
  await h.settle();
  assert.equal(h.ip.counters.dropsByPolicy, 1);
  assert.equal(h.network.sent.length, 0);
});

test('policy: TCP to a denied port (25) is dropped with ICMP prohibited, IPv4 and IPv6, tiny first fragments too; other ports pass', async () => {
  const h = setup({ policy: new TargetPolicy({ allow: ['192.0.2.0/24', '2001:db8::/32'], denyTcpPorts: [25] }) });
  const s = await h.pump(openConnectIp(h.cli, { template: IP_TEMPLATE, requestAddresses: ['v4', 'v6'] }));
  await h.settle();
  const [me4, me6] = [s.addresses[0].bytes, s.addresses[1].bytes];
  const back: Uint8Array[] = [];
  s.onPacket = (p) => back.push(p.slice());
  const tcp4 = (dport: number) => {
    const p = udp4(me4, ip4('192.0.2.9'), 40000, dport, new Uint8Array(12)); // ports where TCP has them
    p[9] = 6;
    setIpv4HeaderChecksum(p);
    return p;
  };
  const tcp6 = (dport: number) => {
    const p = new Uint8Array(60);
    p.set([0x60, 0, 0, 0, 0, 20, 6, 64]);
    p.set(me6, 8);
    p.set(ip6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 9]), 24);
    p.set([0x9c, 0x40, dport >> 8, dport & 0xff], 40);
    return p;
  };
  // A first fragment (MF set) that ends 2 bytes into the TCP header: no port to judge by.
  const tiny = new Uint8Array(22);
  tiny.set([0x45, 0, 0, 22, 0, 1, 0x20, 0, 64, 6]);
  tiny.set(me4, 12);
  tiny.set(ip4('192.0.2.9'), 16);
  tiny.set([0x9c, 0x40], 20);
  setIpv4HeaderChecksum(tiny);
  for (const p of [tcp4(25), tcp6(25), tiny, tcp4(443), tcp6(443), udp4(me4, ip4('192.0.2.9'), 40000, 25)]) {
    h.cli.conn.sendDatagram(s.streamId, Uint8Array.of(0, ...p));
  }
  await h.settle();
  assert.equal(h.ip.counters.dropsByPolicy, 3);
  assert.equal(h.ip.counters.prohibitedSent, 3);
  assert.deepEqual(back.map((p) => (p[0] >> 4 === 6 ? [6, p[40], p[41]] : [4, p[20], p[21]])), [[4, 3, 13], [6, 1, 1], [4, 3, 13]]);
  // Port 443 both ways, and UDP to port 25 (the rule is about TCP), reached the network.
  assert.equal(h.network.sent.length, 3);
});

test('oversized packet from the network → ICMPv6 Packet Too Big toward its sender (checksum, MTU field)', async () => {
  const h = setup({ capsuleMtu: 1300 });
  const s = await h.pump(openConnectIp(h.cli, { template: IP_TEMPLATE, requestAddresses: ['v6'], capsuleMtu: 1300 }));
  await h.settle();
  const big = buildIcmpEcho({ src: ip6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 7]), dst: s.addresses[0].bytes, id: 1, seq: 1, payload: new Uint8Array(1400) });
  h.network.isEchoing = false;
  assert.equal(h.network.inject(big), true);
  const ptb = h.network.sent.at(-1)!;
  assert.equal(ptb[6], 58); // ICMPv6
  assert.deepEqual([ptb[40], ptb[41]], [2, 0]); // Packet Too Big
  assert.equal((ptb[44] << 24) | (ptb[45] << 16) | (ptb[46] << 8) | ptb[47], 1300);
  assert.equal(internetChecksum(ptb, 40, ptb.length - 40, pseudoHeaderSum(ptb, 0, 58, ptb.length - 40)), 0);
  assert.equal(ptb.length, 1280, 'quotes as much as fits the IPv6 minimum MTU');
  assert.equal(h.ip.counters.ptbSent, 1);
  // and the client side: a too-big IPv6 packet gets a PTB locally
  const local: Uint8Array[] = [];
  s.onPacket = (p) => local.push(p.slice());
  assert.equal(s.sendPacket(buildIcmpEcho({ src: s.addresses[0].bytes, dst: ip6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 7]), id: 1, seq: 1, payload: new Uint8Array(1400) })), false);
  assert.equal(local[0][40], 2);
});

test('hop limit exhausted on encapsulation → Time Exceeded to the sender', async () => {
  const h = setup();
  const s = await h.pump(openConnectIp(h.cli, { template: IP_TEMPLATE, requestAddresses: ['v4'] }));
  h.network.isEchoing = false;
  h.network.inject(udp4(ip4('192.0.2.1'), s.addresses[0].bytes, 9, 9, undefined, 1));
  const te = h.network.sent.at(-1)!;
  assert.deepEqual([te[20], te[21]], [11, 0]);
  assert.equal(h.ip.counters.dropsTtl, 1);
  assert.equal(h.network.inject(udp4(ip4('192.0.2.1'), ip4('100.64.9.9'), 9, 9)), false, 'no session owns it');
});

const proxyViolations: Array<[string, number, string]> = [
  ['empty ADDRESS_REQUEST', 0x02, ''],
  ['ADDRESS_REQUEST with request id 0', 0x02, '00 04 00000000 20'],
  ['ADDRESS_REQUEST with IP version 7', 0x02, '01 07 00000000 20'],
  ['ADDRESS_ASSIGN truncated', 0x01, '01 04 0000'],
  ['ROUTE_ADVERTISEMENT overlapping', 0x03, '04 0a000000 0affffff 00 04 0a000000 0a0000ff 00'],
];
for (const [name, type, value] of proxyViolations) {
  test(`proxy aborts with H3_MESSAGE_ERROR: ${name}`, async () => {
    const h = setup();
    const s = await h.pump(openConnectIp(h.cli, { template: IP_TEMPLATE, requestAddresses: ['v4'] }));
    h.cli.conn.sendCapsule(s.streamId, type, value ? hex(value) : new Uint8Array(0));
    await h.settle();
    assert.equal(h.ip.counters.capsuleErrors, 1);
    assert.deepEqual(await s.closed, { code: H3_MESSAGE_ERROR });
    assert.equal(h.pool4.size, 0);
  });
}

test('proxy: reused request id aborts; unknown capsule and unknown Context ID are ignored', async () => {
  const h = setup();
  const s = await h.pump(openConnectIp(h.cli, { template: IP_TEMPLATE, requestAddresses: ['v4'] }));
  h.cli.conn.sendCapsule(s.streamId, 0x4242, hex('00'));
  h.cli.conn.sendDatagram(s.streamId, hex('0645'));
  await h.settle();
  assert.equal(s.isOpen, true);
  assert.equal(h.ip.counters.dropsUnknownContext, 1);
  h.cli.conn.sendCapsule(s.streamId, 0x02, hex('01 06' + '00'.repeat(16) + '80')); // id 1 again
  await h.settle();
  assert.equal(s.isOpen, false);
});

test('second request for the same family is refused with the all-zero form (RFC 9484 §4.7.2)', async () => {
  const h = setup();
  // Two IPv4 requests (ids 1 and 2): one address per family per session, so id 2 gets 0.0.0.0/32.
  const s = await h.pump(openConnectIp(h.cli, { template: IP_TEMPLATE, requestAddresses: ['v4', 'v4'] }));
  assert.equal(s.isOpen, true);
  assert.deepEqual(s.addresses.map(formatIpPrefix), ['100.64.0.1/32']);
  assert.equal(h.pool4.size, 1);
});

test('DNS target: resolved before replying, routes for every allowed address; failures → Proxy-Status', async () => {
  const h = setup({ resolve: async (n) => (n === 'target.test' ? ['2001:db8::b', '192.0.2.3', '10.0.0.1'] : Promise.reject(Object.assign(new Error(), { code: 'ENOTFOUND' }))) });
  const s = await h.pump(openConnectIp(h.cli, { template: IP_TEMPLATE, target: 'target.test', ipproto: 17 }));
  await h.settle();
  assert.deepEqual(s.routes.map((r) => `${r.version}/${r.ipProtocol}`), ['4/17', '6/17']);
  const err = await h.pump(openConnectIp(h.cli, { template: IP_TEMPLATE, target: 'nx.test' })).catch((e) => e);
  assert.equal(err.httpStatus, 502);
  assert.match(err.proxyStatus, /dns_error/);
});

test('routes configuration is validated (RFC 9484 §4.7.3 MUST NOT send overlapping routes)', () => {
  assert.throws(() => setup({
    routes: [
      { version: 4, start: ip4('10.0.0.0'), end: ip4('10.255.255.255'), ipProtocol: 0 },
      { version: 4, start: ip4('10.0.0.0'), end: ip4('10.0.0.255'), ipProtocol: 6 },
    ],
  }), { code: 'ERR_MASQUE_CONFIG' });
});

test('§7.2 link echo: an Echo Request to ff02::1 is answered by the proxy from fe80::1, before scope and policy', async () => {
  const h = setup();
  // Scoped to IPv4 UDP: neither scope nor policy would let ff02::1 through.
  const s = await h.pump(openConnectIp(h.cli, { template: IP_TEMPLATE, target: '192.0.2.0/24', ipproto: 17, requestAddresses: ['v6'] }));
  await h.settle();
  const me = s.addresses[0].bytes;
  const allNodes = hex('ff020000000000000000000000000001');
  const got: Uint8Array[] = [];
  s.onPacket = (p) => got.push(p.slice());
  const send = (p: Uint8Array) => h.cli.conn.sendDatagram(s.streamId, Uint8Array.of(0, ...p));
  const data = Uint8Array.from({ length: 40 }, (_, i) => i);
  send(buildIcmpEcho({ src: me, dst: allNodes, id: 0xbeef, seq: 3, payload: data }));
  await h.settle();
  assert.equal(got.length, 1);
  const r = got[0];
  assert.equal(Buffer.from(r.subarray(8, 24)).toString('hex'), 'fe800000000000000000000000000001');
  assert.deepEqual(r.subarray(24, 40), me);
  assert.deepEqual([r[40], r[41], (r[44] << 8) | r[45], (r[46] << 8) | r[47]], [129, 0, 0xbeef, 3]); // Echo Reply, same id and seq
  assert.deepEqual(r.subarray(48), data);
  assert.equal(internetChecksum(r, 40, r.length - 40, pseudoHeaderSum(r, 0, 58, r.length - 40)), 0);
  assert.equal(h.ip.counters.linkEchoAnswered, 1);
  // Not answered: a forged source (dropped first), another multicast group, a bad checksum.
  send(buildIcmpEcho({ src: ip6([0xfd00, 0x6d61, 0x7371, 0, 0, 0, 0, 0x99]), dst: allNodes, id: 1, seq: 1 }));
  send(buildIcmpEcho({ src: me, dst: hex('ff020000000000000000000000000002'), id: 1, seq: 2 }));
  const bad = buildIcmpEcho({ src: me, dst: allNodes, id: 1, seq: 3 });
  bad[42] ^= 0xff;
  send(bad);
  await h.settle();
  assert.equal(got.length, 1);
  assert.equal(h.ip.counters.linkEchoAnswered, 1);
  assert.equal(h.ip.counters.dropsBySrc, 1);
  assert.equal(h.network.sent.length, 0, 'nothing reached the network');
});
