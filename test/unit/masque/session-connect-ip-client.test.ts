// CONNECT-IP client session (RFC 9484) against a scripted HTTP/3 server over the in-memory pipe:
// exact request fields and capsule bytes, and every capsule rule that must abort the stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServerH3Driver } from '../../../src/h3/server.js';
import { ClientH3Driver } from '../../../src/h3/client.js';
import type { H3Stream } from '../../../src/h3/h3-stream.js';
import type { FieldLine } from '../../../src/h3/qpack/types.js';
import { H3_MESSAGE_ERROR, H3_REQUEST_CANCELLED } from '../../../src/h3/errors.js';
import { H3Pipe } from '../../helpers/h3-pipe.js';
import { openConnectIp, type ConnectIpSession } from '../../../src/masque/connect-ip-client.js';
import { formatIpPrefix } from '../../../src/masque/ip-prefix.js';
import { buildIcmpEcho } from '../../../src/wire/icmp.js';
import { IP_TEMPLATE } from '../../helpers/masque-harness.js';

const hex = (s: string) => Uint8Array.from(s.replace(/\s+/g, '').match(/../g)!.map((x) => parseInt(x, 16)));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * A server that answers 200 and lets the test script capsules; records what the client sends.
 * `maxDgram`: the DATAGRAM size both sides carry (FakeQuic's default 1200 is below §7.2's 1280);
 * `answer`: the server's reply to each IP packet in a datagram (null: none).
 */
function scripted(o: { dgram?: boolean; status?: number; maxDgram?: number; answer?: (pkt: Uint8Array) => Uint8Array | null } = {}) {
  const got: { fields: FieldLine[][]; capsules: string[]; dgrams: string[]; stream: H3Stream | null } = { fields: [], capsules: [], dgrams: [], stream: null };
  const srv = new ServerH3Driver({
    settings: { enableConnectProtocol: true, h3Datagram: true },
    onRequest(s, f) {
      got.fields.push(f);
      got.stream = s;
      s.handler = {
        onCapsule: (_s, t, v) => got.capsules.push(`${t.toString(16).padStart(2, '0')}:${toHex(v)}`),
        onDatagram: (_s, p) => {
          got.dgrams.push(toHex(p));
          const reply = o.answer?.(p.subarray(1));
          if (reply) s.sendDatagram(Uint8Array.of(0, ...reply));
        },
      };
      s.respond([[':status', String(o.status ?? 200)], ['capsule-protocol', '?1']]);
    },
  });
  const cli = new ClientH3Driver({ settings: { h3Datagram: true } });
  const isDgram = o.dgram ?? false;
  const pipe = new H3Pipe(cli, srv, { clientDgram: isDgram, serverDgram: isDgram });
  if (o.maxDgram) pipe.cq.maxDgramBytes = pipe.sq.maxDgramBytes = o.maxDgram;
  pipe.start();
  const turn = async () => { await new Promise((r) => setImmediate(r)); pipe.advance(); };
  const pump = async <T>(p: Promise<T>): Promise<T> => {
    let isDone = false;
    const q = p.finally(() => { isDone = true; });
    q.catch(() => undefined);
    for (let i = 0; i < 100 && !isDone; i++) await turn();
    return q;
  };
  return { got, cli, pipe, turn, pump };
}

/** Opens a full-tunnel session with ADDRESS_REQUEST v4, answered by the WIRE-VECTORS §8 ADDRESS_ASSIGN. */
async function opened(): Promise<ReturnType<typeof scripted> & { s: ConnectIpSession }> {
  const h = scripted();
  const p = openConnectIp(h.cli, { template: IP_TEMPLATE, requestAddresses: ['v4'] });
  for (let i = 0; i < 10 && !h.got.capsules.length; i++) await h.turn();
  h.got.stream!.writeCapsule(0x01, hex('01 04 c0 00 02 0b 20')); // ADDRESS_ASSIGN id 1, 192.0.2.11/32
  h.got.stream!.writeCapsule(0x03, hex('04 00000000 ffffffff 00')); // ROUTE_ADVERTISEMENT 0.0.0.0–255.255.255.255
  const s = await h.pump(p);
  await h.turn();
  return { ...h, s };
}

test('full tunnel request: RFC 9484 §4.4 fields, bare wildcards; ADDRESS_REQUEST bytes (WIRE-VECTORS §8)', async () => {
  const h = await opened();
  assert.deepEqual(h.got.fields[0], [
    [':method', 'CONNECT'], [':protocol', 'connect-ip'], [':scheme', 'https'], [':authority', 'localhost'],
    [':path', '/.well-known/masque/ip/*/*/'], ['capsule-protocol', '?1'],
  ]);
  // 02 07 | 01 04 00000000 20: Request ID 1, IPv4, 0.0.0.0 (no preference), /32
  assert.deepEqual(h.got.capsules, ['02:0104' + '00000000' + '20']);
  assert.deepEqual(h.s.addresses.map(formatIpPrefix), ['192.0.2.11/32']);
  assert.equal(h.s.routes.length, 1);
  assert.equal(h.s.mtu, 1500); // capsule mode
});

test('scoped forms: prefix target %2F, IPv6 prefix colons, ipproto, DNS name, query template', async () => {
  const cases: Array<[string, { target?: string; ipproto?: number }, string]> = [
    [IP_TEMPLATE, { target: '192.0.2.0/24', ipproto: 17 }, '/.well-known/masque/ip/192.0.2.0%2F24/17/'],
    [IP_TEMPLATE, { target: '2001:db8::/32' }, '/.well-known/masque/ip/2001%3Adb8%3A%3A%2F32/*/'],
    [IP_TEMPLATE, { target: 'target.example.com', ipproto: 6 }, '/.well-known/masque/ip/target.example.com/6/'],
    ['https://localhost/proxy{?target,ipproto}', { target: 'target.example.com', ipproto: 17 }, '/proxy?target=target.example.com&ipproto=17'],
    ['https://localhost/vpn', {}, '/vpn'],
  ];
  for (const [template, scope, path] of cases) {
    const h = scripted();
    const s = await h.pump(openConnectIp(h.cli, { template, ...scope }));
    assert.equal(h.got.fields[0].find(([n]) => n === ':path')![1], path);
    s.close();
  }
});

test('non-2xx → ERR_MASQUE_REFUSED with the status; the request is aborted', async () => {
  const h = scripted({ status: 403 });
  const err = await h.pump(openConnectIp(h.cli, { template: IP_TEMPLATE })).catch((e) => e);
  assert.equal(err.code, 'ERR_MASQUE_REFUSED');
  assert.equal(err.httpStatus, 403);
});

test('QUIC DATAGRAMs that cannot carry 1280 bytes → stream aborted (RFC 9484 §7.2)', async () => {
  const h = scripted({ dgram: true }); // FakeQuic carries 1200-byte datagrams
  const err = await h.pump(openConnectIp(h.cli, { template: IP_TEMPLATE })).catch((e) => e);
  assert.equal(err.code, 'ERR_MASQUE_MTU');
  await h.turn();
  assert.ok(h.pipe.cq.shutdowns.some((x) => x.endsWith(`:${H3_REQUEST_CANCELLED}`)));
});

test('ADDRESS_REQUEST from the proxy is answered with refusals (RFC 9484 §4.7.2)', async () => {
  const h = await opened();
  h.got.stream!.writeCapsule(0x02, hex('05 06' + '00'.repeat(16) + '80')); // id 5, IPv6 ::/128
  await h.turn();
  assert.equal(h.got.capsules.at(-1), '01:0506' + '00'.repeat(16) + '80');
  assert.equal(h.s.isOpen, true);
});

test('unknown capsule types are skipped; unknown Context IDs dropped', async () => {
  const h = await opened();
  h.got.stream!.writeCapsule(0x17, hex('deadbeef'));
  h.got.stream!.sendDatagram(hex('04 45')); // Context ID 4
  await h.turn();
  assert.equal(h.s.isOpen, true);
  assert.equal(h.s.stats.dropsUnknownContext, 1);
});

const violations: Array<[string, number, string, string]> = [
  ['ROUTE_ADVERTISEMENT out of order', 0x03, '04 0a000000 0affffff 00 04 01000000 01ffffff 00', 'ERR_CAPSULE_RANGE_ORDER'],
  ['ROUTE_ADVERTISEMENT start > end', 0x03, '04 0a000001 0a000000 00', 'ERR_CAPSULE_RANGE_START_END'],
  ['ROUTE_ADVERTISEMENT protocol-0 overlap', 0x03, '04 0a000000 0affffff 00 04 0a000005 0a000005 11', 'ERR_MASQUE_ROUTE_OVERLAP'],
  ['ROUTE_ADVERTISEMENT IP version 5', 0x03, '05 00000000 ffffffff 00', 'ERR_CAPSULE_IP_VERSION'],
  ['ROUTE_ADVERTISEMENT truncated', 0x03, '04 00000000 ffff', 'ERR_CAPSULE_MALFORMED'],
  ['ADDRESS_ASSIGN prefix length 33', 0x01, '00 04 c0000200 21', 'ERR_CAPSULE_PREFIX_LENGTH'],
  ['ADDRESS_ASSIGN host bits set', 0x01, '00 04 c0000201 18', 'ERR_CAPSULE_HOST_BITS'],
  ['ADDRESS_ASSIGN unknown request id', 0x01, '09 04 c000020b 20', 'ERR_MASQUE_UNKNOWN_REQUEST_ID'],
  ['ADDRESS_REQUEST empty', 0x02, '', 'ERR_CAPSULE_EMPTY_REQUEST'],
  ['ADDRESS_REQUEST request id 0', 0x02, '00 04 00000000 20', 'ERR_CAPSULE_REQUEST_ID'],
];
for (const [name, type, value, code] of violations) {
  test(`abort with H3_MESSAGE_ERROR: ${name}`, async () => {
    const h = await opened();
    h.got.stream!.writeCapsule(type, hex(value || '00').subarray(0, value ? undefined : 0));
    await h.turn();
    assert.equal(h.s.isOpen, false);
    assert.equal(h.s.closeReason, code);
    assert.deepEqual(await h.s.closed, { code: H3_MESSAGE_ERROR });
    assert.ok(h.pipe.cq.shutdowns.some((x) => x.endsWith(`:${H3_MESSAGE_ERROR}`)));
  });
}

test('reused request id from the proxy aborts the stream', async () => {
  const h = await opened();
  h.got.stream!.writeCapsule(0x02, hex('07 04 00000000 20'));
  await h.turn();
  h.got.stream!.writeCapsule(0x02, hex('07 04 00000000 20'));
  await h.turn();
  assert.equal(h.s.closeReason, 'ERR_MASQUE_REQUEST_ID_REUSED');
});

test('sendPacket: source, route and MTU checks; Packet Too Big to the local side', async () => {
  const h = await opened();
  const local: Uint8Array[] = [];
  h.s.onPacket = (p) => local.push(p.slice());
  const me = hex('c000020b');
  const ok = buildIcmpEcho({ src: me, dst: hex('01010101'), id: 1, seq: 1 });
  assert.equal(h.s.sendPacket(ok), true);
  assert.equal(h.s.sendPacket(buildIcmpEcho({ src: hex('c000020c'), dst: hex('01010101'), id: 1, seq: 2 })), false);
  assert.equal(h.s.stats.dropsBySrc, 1);
  assert.equal(h.s.sendPacket(Uint8Array.of(0x45, 0, 0)), false);
  assert.equal(h.s.stats.dropsMalformed, 1);
  // 1600-byte echo with DF set → ICMPv4 Fragmentation Needed, next-hop MTU 1500 (RFC 1191)
  const big = buildIcmpEcho({ src: me, dst: hex('01010101'), id: 1, seq: 3, payload: new Uint8Array(1572) });
  big[6] |= 0x40; // DF
  big[10] = 0; big[11] = 0;
  const { setIpv4HeaderChecksum } = await import('../../../src/wire/ip.js');
  setIpv4HeaderChecksum(big);
  assert.equal(h.s.sendPacket(big), false);
  assert.equal(local.length, 1);
  const icmp = local[0];
  assert.equal(icmp[9], 1); // ICMP
  assert.deepEqual([icmp[20], icmp[21]], [3, 4]); // Destination Unreachable, Fragmentation Needed
  assert.equal((icmp[26] << 8) | icmp[27], 1500);
  const { internetChecksum } = await import('../../../src/wire/checksum.js');
  assert.equal(internetChecksum(icmp, 20, icmp.length - 20), 0);
  assert.equal(h.s.stats.ptbSent, 1);
  await h.turn();
  assert.equal(h.got.dgrams.length, 1); // only the valid packet went out (as a DATAGRAM capsule)
  assert.equal(h.got.dgrams[0].slice(0, 4), '0045');
});

test('packets from the proxy to an address that is not ours are dropped', async () => {
  const h = await opened();
  const local: Uint8Array[] = [];
  h.s.onPacket = (p) => local.push(p.slice());
  const toMe = buildIcmpEcho({ src: hex('01010101'), dst: hex('c000020b'), id: 1, seq: 1, isReply: true });
  const notMe = buildIcmpEcho({ src: hex('01010101'), dst: hex('c000020c'), id: 1, seq: 1, isReply: true });
  for (const p of [toMe, notMe]) h.got.stream!.sendDatagram(Uint8Array.of(0, ...p));
  await h.turn();
  assert.equal(local.length, 1);
  assert.equal(h.s.stats.dropsByDst, 1);
});

test('ADDRESS_ASSIGN that never comes → ERR_MASQUE_TIMEOUT and the session closes', async () => {
  const h = scripted();
  const keepAlive = setInterval(() => h.pipe.advance(), 2); // the session's timers are unref'd
  const err = await h.pump(openConnectIp(h.cli, { template: IP_TEMPLATE, requestAddresses: ['v4', 'v6'], assignTimeoutMs: 20 })).catch((e) => e);
  clearInterval(keepAlive);
  assert.equal(err.code, 'ERR_MASQUE_TIMEOUT');
  await h.turn();
  assert.ok(h.pipe.sq.inStreams.get(0)?.fin, 'the session ended its side of the stream');
});

// ---- RFC 9484 §7.2: the 1280-byte echo probe to ff02::1 (src/masque/link-echo.ts) ----

/**
 * Opens a full tunnel over QUIC DATAGRAMs of 1400 bytes with a v4 and a v6 address
 * (192.0.2.11, 2001:db8::b); `answer` plays the proxy's side of the link. Runs the pipe on a
 * 2 ms interval: the probe waits on real timers.
 */
async function openProbed(answer: (pkt: Uint8Array) => Uint8Array | null, mtuProbeMs = 600, dgram = true) {
  const h = scripted({ dgram, maxDgram: 1400, answer });
  const keepAlive = setInterval(() => h.pipe.advance(), 2);
  const started = Date.now();
  const p = openConnectIp(h.cli, { template: IP_TEMPLATE, requestAddresses: ['v4', 'v6'], mtuProbeMs });
  p.catch(() => undefined);
  for (let i = 0; i < 10 && !h.got.capsules.length; i++) await h.turn();
  // ADDRESS_ASSIGN: id 1 → 192.0.2.11/32, id 2 → 2001:db8::b/128
  h.got.stream!.writeCapsule(0x01, hex('01 04 c000020b 20' + '02 06 20010db8 0000000000000000000000 0b 80'));
  const r = await p.then((s) => ({ s, err: null }), (err) => ({ s: null, err }));
  clearInterval(keepAlive);
  return { ...h, ...r, ms: Date.now() - started };
}

const ME6 = hex('20010db80000000000000000000000' + '0b');
const echoSizes = (dgrams: string[]) => dgrams.map((d) => d.length / 2 - 1).filter((n) => n !== 0);

test('§7.2 probe: small and 1280-byte echo requests to ff02::1; a full-size reply verifies the link at once', async () => {
  const { answerLinkEcho } = await import('../../../src/masque/link-echo.js');
  const h = await openProbed(answerLinkEcho);
  assert.equal(h.err, null);
  assert.equal(h.s!.mtuProbe, 'verified');
  // Only the first attempt went out (the probe ended at the reply, not at the 125 ms re-send):
  // the small request (8 bytes of data), then the 1280-byte one, both from our v6 address.
  const sent = h.got.dgrams.map((d) => hex(d).subarray(1));
  assert.deepEqual(sent.map((p) => p.length), [56, 1280]);
  for (const p of sent) {
    assert.deepEqual(p.subarray(8, 24), ME6);
    assert.equal(toHex(p.subarray(24, 40)), 'ff020000000000000000000000000001');
    assert.equal(p[40], 128); // Echo Request
  }
  assert.deepEqual([sent[0][46], sent[0][47], sent[1][46], sent[1][47]], [0, 0, 0, 1]); // sequence 0 small, 1 large
  // The replies are the session's own: counted, never handed to the host.
  const local: Uint8Array[] = [];
  h.s!.onPacket = (p) => local.push(p);
  assert.equal(h.s!.stats.rxPackets, 2);
  assert.equal(local.length, 0);
  assert.equal(h.s!.isOpen, true);
});

test('§7.2 probe: small echoes answered, 1280-byte ones lost → ERR_MASQUE_MTU, stream cancelled', async () => {
  const { answerLinkEcho } = await import('../../../src/masque/link-echo.js');
  const h = await openProbed((p) => (p.length < 1280 ? answerLinkEcho(p) : null));
  assert.equal(h.err?.code, 'ERR_MASQUE_MTU');
  assert.match(h.err.message, /1280-byte IPv6 packets do not cross the tunnel/);
  assert.ok(h.ms >= 550, `the whole probe time before giving up (${h.ms} ms)`);
  // Every 125 ms a new pair: 600 ms → attempts at 0, 125, 250, 375, 500.
  assert.deepEqual(echoSizes(h.got.dgrams), Array(5).fill([56, 1280]).flat());
  await h.turn();
  assert.ok(h.pipe.cq.shutdowns.some((x) => x.endsWith(`:${H3_REQUEST_CANCELLED}`)));
});

test('§7.2 probe: large answers lost twice (random loss), the third attempt verifies', async () => {
  const { answerLinkEcho } = await import('../../../src/masque/link-echo.js');
  let large = 0;
  const h = await openProbed((p) => (p.length === 1280 && ++large <= 2 ? null : answerLinkEcho(p)));
  assert.equal(h.err, null);
  assert.equal(h.s!.mtuProbe, 'verified');
  assert.deepEqual(echoSizes(h.got.dgrams), Array(3).fill([56, 1280]).flat());
});

test('§7.2 probe: a proxy that answers no echo keeps the tunnel (unanswered); capsules and probe off skip it', async () => {
  const h = await openProbed(() => null, 300);
  assert.equal(h.err, null);
  assert.equal(h.s!.mtuProbe, 'unanswered');
  assert.equal(h.s!.isOpen, true);
  assert.deepEqual(echoSizes(h.got.dgrams), Array(3).fill([56, 1280]).flat());
  const off = await openProbed(() => null, 0);
  assert.equal(off.s!.mtuProbe, null);
  assert.deepEqual(off.got.dgrams, []);
  // DATAGRAM capsules (no QUIC DATAGRAMs): no datagram size limit to verify.
  const c = await openProbed(() => null, 300, false);
  assert.equal(c.s!.mtuProbe, null);
  assert.deepEqual(c.got.dgrams, []);
});

test('§7.2 probe: a reply with another id, a short "large" reply or a bad checksum does not verify', async () => {
  const { MtuProbe, answerLinkEcho } = await import('../../../src/masque/link-echo.js');
  const probe = new MtuProbe(ME6, 0x1234);
  const [small, large] = probe.requests(0);
  const reply = (req: Uint8Array) => answerLinkEcho(req)!;
  const otherId = new MtuProbe(ME6, 0x4321).requests(0)[1];
  assert.equal(probe.take(reply(otherId)), false);
  const bad = reply(large);
  bad[100] ^= 1;
  assert.equal(probe.take(bad), false, 'bad checksum');
  const truncated = reply(buildIcmpEcho({ src: ME6, dst: hex('ff020000000000000000000000000001'), id: 0x1234, seq: 1, payload: new Uint8Array(100) }));
  assert.equal(probe.take(truncated), true, 'ours, consumed');
  assert.equal(probe.result(), 'unanswered', 'a short odd-sequence reply is not the 1280-byte one');
  assert.equal(probe.take(reply(small)), true);
  assert.equal(probe.take(reply(small)), true);
  assert.equal(probe.result(), 'unanswered', 'one attempt\'s small answer (even twice) is not enough to fail');
  assert.equal(probe.take(reply(probe.requests(1)[0])), true);
  assert.equal(probe.result(), 'failed', 'two attempts\' small answers and no large one');
  assert.equal(probe.take(reply(large)), true);
  assert.equal(probe.result(), 'verified');
});

test('§7.2 probe: every single-bit corruption and truncation of a request or reply is refused, never thrown', async () => {
  const { MtuProbe, answerLinkEcho } = await import('../../../src/masque/link-echo.js');
  const probe = new MtuProbe(ME6, 0x1234);
  const large = probe.requests(0)[1];
  const reply = answerLinkEcho(large)!;
  let refused = 0;
  for (const [pkt, check] of [[large, (p: Uint8Array) => answerLinkEcho(p) === null], [reply, (p: Uint8Array) => !probe.take(p)]] as const) {
    // Bytes 8 on (addresses and ICMPv6) are covered by the checksum with its pseudo-header.
    for (let i = 8; i < pkt.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const p = pkt.slice();
        p[i] ^= 1 << bit;
        assert.ok(check(p), `byte ${i} bit ${bit}`);
        refused++;
      }
    }
    for (let len = 0; len < pkt.length; len++) assert.ok(check(pkt.subarray(0, len)), `cut to ${len}`);
  }
  assert.equal(refused, 2 * (1280 - 8) * 8);
  assert.equal(probe.result(), 'unanswered', 'nothing corrupted counted as an answer');
});
