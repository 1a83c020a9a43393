/**
 * Child script (runs inside a test namespace) for native/tun/gro.c: opens a TUN with
 * IFF_VNET_HDR, routes two fake prefixes through it with forwarding on, writes runs of TCP
 * segments with writePackets() and reads back what the kernel forwards out again. The kernel
 * cuts each super-segment itself (the TUN offers no TSO), so what comes back shows whether
 * the merged header we wrote was right: every segment, in order, checksums valid.
 * rx_packets counts skbs, so it tells how many writes a run took.
 * With {"tso": true} the TUN also offers TSO (native/tun/tso.c): the kernel then hands the
 * forwarded super-segment back whole and the addon cuts it, so the same checks test our cut.
 * Emits one line: {"event":"result","cases":{name: {rx, back: [{seq, len, ttl, ipOk, tcpOk, psh, same}]}},
 * "tso": {segs, error, stats}, "udp": [{v6, ok}]}. With TSO the TUN also offers checksum offload, so
 * datagrams from a local socket reach us with the checksum left to us ("udp" checks it).
 */
import dgram from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { LinuxTun } from '../../src/tun/linux.js';
import { loadUdpBatchAddon, socketFd } from '../../src/quic/udp-batch.js';
import { configureInterface } from '../../src/tun/config.js';

const NAME = 'gro0';
const emit = (e: Record<string, unknown>) => process.stdout.write(JSON.stringify(e) + '\n');

for (const [k, v] of [['ipv4/ip_forward', '1'], ['ipv4/conf/all/send_redirects', '0'], ['ipv4/conf/all/rp_filter', '0'],
  ['ipv4/conf/default/rp_filter', '0'], ['ipv6/conf/all/forwarding', '1']]) writeFileSync(`/proc/sys/net/${k}`, v);
const arg = JSON.parse(process.argv[2] ?? '{}') as { tso?: boolean };
const tun = LinuxTun.open({ name: NAME, vnetHdr: true, tso: arg.tso === true });
await configureInterface({ name: NAME, mtu: 1500, addresses: ['10.77.0.1/24', 'fd77::1/64'], routes: ['10.88.0.0/24', 'fd88::/64'] });
tun.refreshMtu();
writeFileSync(`/proc/sys/net/ipv4/conf/${NAME}/rp_filter`, '0');

const back: Uint8Array[] = [];
const udpBack: Uint8Array[] = [];
tun.onRead((b) => {
  for (let i = 0; i < b.count; i++) {
    // A copy: Buffer#slice is a view, and the next read rewrites the slot (a later packet,
    // such as the kernel's own MLD report, could then stand where ours was).
    const p = Uint8Array.prototype.slice.call(b.bufs[i], b.offset, b.offset + b.sizes[i]);
    const v6 = p[0]! >> 4 === 6;
    if (p[v6 ? 6 : 9] === 17 && (v6 ? p[24] === 0xfd && p[25] === 0x88 : p[16] === 10 && p[17] === 88)) udpBack.push(p);
    // Only TCP: the kernel also sends its own IPv6 router solicitations and MLD reports out of
    // a fresh interface, and counting those ended run()'s wait before every segment was back.
    if (p[v6 ? 6 : 9] === 6) back.push(p);
  }
});

function sum16(b: Uint8Array, s = 0): number {
  for (let i = 0; i + 1 < b.length; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if (b.length & 1) s += b[b.length - 1]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** The IP header's length field matches the packet (total length, or IPv6 payload length). */
function ipLenOk(p: Uint8Array): boolean {
  const v6 = p[0]! >> 4 === 6;
  return (v6 ? ((p[4]! << 8) | p[5]!) + 40 : (p[2]! << 8) | p[3]!) === p.length;
}

/** The sum of the pseudo-header (RFC 9293 §3.1, RFC 8200 §8.1) for p's addresses, proto, len. */
function pseudoSum(p: Uint8Array, proto: number, len: number): number {
  const v6 = p[0]! >> 4 === 6;
  const pseudo = new Uint8Array(v6 ? 40 : 12);
  const pl = new DataView(pseudo.buffer);
  if (v6) {
    pseudo.set(p.subarray(8, 40));
    pl.setUint32(32, len);
    pseudo[39] = proto;
  } else {
    pseudo.set(p.subarray(12, 20));
    pseudo[9] = proto;
    pl.setUint16(10, len);
  }
  return sum16(pseudo);
}

/** A TCP segment with valid checksums (IPv4 or IPv6, 12-byte timestamp option). */
function segment(v6: boolean, seq: number, payload: Uint8Array, flags = 0x10): Uint8Array {
  const ipHl = v6 ? 40 : 20;
  const tcp = new Uint8Array(32 + payload.length);
  const dv = new DataView(tcp.buffer);
  dv.setUint16(0, 40000);
  dv.setUint16(2, 5201);
  dv.setUint32(4, seq >>> 0);
  dv.setUint32(8, 12345);
  tcp[12] = 8 << 4;
  tcp[13] = flags;
  dv.setUint16(14, 502);
  tcp.set([1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9], 20); // NOP NOP TS 7/9
  tcp.set(payload, 32);
  const p = new Uint8Array(ipHl + tcp.length);
  const pv = new DataView(p.buffer);
  if (!v6) {
    p[0] = 0x45;
    pv.setUint16(2, p.length);
    pv.setUint16(6, 0x4000);
    p[8] = 64;
    p[9] = 6;
    p.set([10, 88, 0, 5, 10, 88, 0, 9], 12);
    pv.setUint16(10, ~sum16(p.subarray(0, 20)) & 0xffff);
  } else {
    p[0] = 0x60;
    pv.setUint16(4, tcp.length);
    p[6] = 6;
    p[7] = 64;
    p.set([0xfd, 0x88, ...new Array(13).fill(0), 5], 8);
    p.set([0xfd, 0x88, ...new Array(13).fill(0), 9], 24);
  }
  dv.setUint16(16, ~sum16(tcp, pseudoSum(p, 6, tcp.length)) & 0xffff);
  p.set(tcp, ipHl);
  return p;
}

function check(p: Uint8Array, sent: Map<number, Uint8Array>) {
  const v6 = p[0]! >> 4 === 6;
  const ipHl = v6 ? 40 : 20;
  const dv = new DataView(p.buffer, p.byteOffset);
  const tcp = p.subarray(ipHl);
  const seq = dv.getUint32(ipHl + 4);
  const payload = tcp.subarray(32);
  const want = sent.get(seq);
  return {
    seq, len: payload.length, ttl: v6 ? p[7] : p[8],
    ipOk: ipLenOk(p) && (v6 || sum16(p.subarray(0, 20)) === 0xffff),
    tcpOk: sum16(tcp, pseudoSum(p, 6, tcp.length)) === 0xffff,
    psh: (tcp[13]! & 0x08) !== 0,
    same: want !== undefined && Buffer.compare(Buffer.from(want), Buffer.from(payload)) === 0,
  };
}

const rx = () => Number(readFileSync(`/sys/class/net/${NAME}/statistics/rx_packets`, 'utf8'));

async function run(name: string, pkts: Array<{ v6: boolean; seq: number; payload: Uint8Array; flags?: number }>, garbageFirst = false) {
  back.length = 0;
  const sent = new Map(pkts.map((p) => [p.seq, p.payload]));
  const bufs = pkts.map((p) => segment(p.v6, p.seq, p.payload, p.flags));
  // Not IPv4 or IPv6 (version nibble 0): the kernel refuses it with EINVAL.
  if (garbageFirst) bufs.unshift(new Uint8Array(40));
  const arena = new Uint8Array(bufs.reduce((n, b) => n + b.length, 0));
  const lens = new Int32Array(bufs.map((b) => b.length));
  let off = 0;
  for (const b of bufs) {
    arena.set(b, off);
    off += b.length;
  }
  const before = rx();
  const consumed = tun.writePackets(arena, lens, bufs.length);
  const end = Date.now() + 2000;
  while (back.length < pkts.length && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  return { consumed, rx: rx() - before, back: back.map((p) => check(p, sent)) };
}

const data = (n: number, k: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + k) & 0xff);
const BASE = 1_000_000;
const cases: Record<string, unknown> = {};
// 20 full-size segments, PSH on the last: one write.
cases.v4run = await run('v4run', Array.from({ length: 20 }, (_, i) => ({ v6: false, seq: BASE + i * 1000, payload: data(1000, i), flags: i === 19 ? 0x18 : 0x10 })));
// A hole in the sequence after the third: two runs.
cases.v4gap = await run('v4gap', [0, 1, 2, 4, 5, 6].map((i) => ({ v6: false, seq: 2 * BASE + i * 1000, payload: data(1000, i) })));
// A short segment ends the run it is in; the next starts a new one.
let at = 3 * BASE;
cases.v4short = await run('v4short', [1000, 1000, 400, 1000, 1000].map((n, i) => {
  const seq = at;
  at += n;
  return { v6: false, seq, payload: data(n, i) };
}));
cases.v6run = await run('v6run', Array.from({ length: 10 }, (_, i) => ({ v6: true, seq: 4 * BASE + i * 1200, payload: data(1200, i) })));
// A packet the kernel refuses is not counted as taken; the next one still goes out.
cases.refused = await run('refused', [{ v6: false, seq: 5 * BASE, payload: data(500, 1) }], true);
/** A local socket's datagram through the TUN: is its UDP checksum right? (RFC 768 pseudo-header) */
async function udpThrough(v6: boolean): Promise<{ v6: boolean; ok: boolean }> {
  udpBack.length = 0;
  const sock = dgram.createSocket(v6 ? 'udp6' : 'udp4');
  await new Promise<void>((r) => sock.send(data(333, 3), 5353, v6 ? 'fd88::9' : '10.88.0.9', () => r()));
  const end = Date.now() + 2000;
  while (udpBack.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  sock.close();
  const p = udpBack[0];
  if (!p) return { v6, ok: false };
  const udp = p.subarray(v6 ? 40 : 20);
  return { v6, ok: sum16(udp, pseudoSum(p, 17, udp.length)) === 0xffff };
}
const udp = [await udpThrough(false), await udpThrough(true)];

/**
 * Ten 1000-byte datagrams sent as one UDP_SEGMENT super-datagram (native/udp's GSO send) from
 * a local socket through the TUN: with USO the kernel hands it to us whole and the addon cuts
 * it. What came back: each datagram's payload length, checksum, and whether it is the one sent.
 */
async function udpGsoThrough(v6: boolean) {
  udpBack.length = 0;
  const a = loadUdpBatchAddon();
  if (!a) throw new Error('native/udp not built');
  const sock = dgram.createSocket(v6 ? 'udp6' : 'udp4');
  await new Promise<void>((r) => sock.bind(0, () => r()));
  await new Promise<void>((r) => sock.connect(5354, v6 ? 'fd88::9' : '10.88.0.9', () => r()));
  const sent = Array.from({ length: 10 }, (_, i) => data(1000, 20 + i));
  const buf = new Uint8Array(10_000);
  sent.forEach((d, i) => buf.set(d, i * 1000));
  const state = new Int32Array(3);
  const taken = a.send(socketFd(sock)!, buf, new Int32Array(10).fill(1000), 10, null, true, state);
  const end = Date.now() + 2000;
  while (udpBack.length < 10 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  sock.close();
  const back = udpBack.map((p, i) => {
    const dgramPart = p.subarray(v6 ? 40 : 20);
    return {
      len: dgramPart.length - 8,
      // the IP length and header checksum, the UDP length, and the UDP checksum
      ok: ipLenOk(p) && (v6 || sum16(p.subarray(0, 20)) === 0xffff) && ((dgramPart[4]! << 8) | dgramPart[5]!) === dgramPart.length && sum16(dgramPart, pseudoSum(p, 17, dgramPart.length)) === 0xffff,
      same: Buffer.compare(Buffer.from(dgramPart.subarray(8)), Buffer.from(sent[i]!)) === 0,
    };
  });
  return { v6, taken, back };
}
const udpGso = arg.tso ? [await udpGsoThrough(false), await udpGsoThrough(true)] : [];

emit({ event: 'result', cases, udp, udpGso, tso: { segs: tun.tsoSegs, uso: tun.uso, error: tun.tsoError, stats: tun.tsoStats() } });
tun.close();
process.exit(0);
