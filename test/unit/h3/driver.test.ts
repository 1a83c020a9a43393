// Client and server drivers over the in-memory FakeQuic pipe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClientH3Driver } from '../../../src/h3/client.js';
import { ServerH3Driver, type ServerH3DriverOptions } from '../../../src/h3/server.js';
import type { H3Stream, H3StreamHandler } from '../../../src/h3/h3-stream.js';
import type { FieldLine } from '../../../src/h3/qpack/types.js';
import { H3Pipe } from '../../helpers/h3-pipe.js';
import type { H3DriverOptions } from '../../../src/h3/driver.js';

const te = new TextEncoder();
const td = new TextDecoder();
const GET = (path: string): FieldLine[] => [[':method', 'GET'], [':scheme', 'https'], [':authority', 'test'], [':path', path]];
const UDP: FieldLine[] = [[':method', 'CONNECT'], [':protocol', 'connect-udp'], [':scheme', 'https'], [':authority', 'test'],
  [':path', '/.well-known/masque/udp/192.0.2.6/443/'], ['capsule-protocol', '?1']];

/** Records everything a handler sees. */
class Recorder implements H3StreamHandler {
  log: string[] = [];
  body = '';
  status = 0;
  dgrams: string[] = [];
  capsules: [number, string][] = [];
  resetCode = -1;
  onResponse(_s: H3Stream, head: { status: number }): void { this.status = head.status; this.log.push('response'); }
  onData(_s: H3Stream, b: Uint8Array): void { this.body += td.decode(b); }
  onCapsule(_s: H3Stream, t: number, v: Uint8Array): void { this.capsules.push([t, td.decode(v)]); }
  onDatagram(_s: H3Stream, p: Uint8Array): void { this.dgrams.push(td.decode(p)); }
  onTrailers(_s: H3Stream, f: FieldLine[]): void { this.log.push(`trailers:${f.map((x) => x.join('=')).join(',')}`); }
  onEnd(): void { this.log.push('end'); }
  onWritable(): void { this.log.push('writable'); }
  onReset(_s: H3Stream, code: number): void { this.resetCode = code; this.log.push('reset'); }
}

function makePipe(server: Partial<ServerH3DriverOptions> & H3DriverOptions, client: H3DriverOptions = {}, pipeOpts = {}) {
  const srv = new ServerH3Driver({ onRequest: () => undefined, ...server });
  const cli = new ClientH3Driver(client);
  return new H3Pipe(cli, srv, pipeOpts).start();
}

test('GET, POST with body and trailers, 404 (client ↔ server)', async () => {
  const seen: string[] = [];
  const pipe = makePipe({
    onRequest(s) {
      seen.push(`${s.request.method} ${s.request.path}`);
      if (s.request.method === 'POST') {
        const rec = new Recorder();
        s.handler = { ...rec, onData: (_x, b) => { rec.body += td.decode(b); }, onEnd: () => {
          s.respond([[':status', '200']]);
          s.write(te.encode(`got ${rec.body}`));
          s.writeTrailers([['x-sum', String(rec.body.length)]]);
        } };
        return;
      }
      if (s.request.path === '/') { s.respond([[':status', '200'], ['content-type', 'text/plain']]); s.write(te.encode('hello'), true); }
      else s.respond([[':status', '404']], { endStream: true });
    },
  });
  const cli = pipe.client;
  const settings = await cli.ready;
  assert.equal(settings.qpackMaxTableCapacity, 4096);
  const a = new Recorder(); const b = new Recorder(); const c = new Recorder();
  cli.request(GET('/'), { endStream: true, handler: a });
  cli.request(GET('/nope'), { endStream: true, handler: b });
  const post = cli.request([[':method', 'POST'], [':scheme', 'https'], [':authority', 'test'], [':path', '/up']], { handler: c });
  post.write(te.encode('abc'));
  post.write(te.encode('def'), true);
  pipe.advance();
  assert.deepEqual(seen, ['GET /', 'GET /nope', 'POST /up']);
  assert.equal(a.status, 200); assert.equal(a.body, 'hello'); assert.deepEqual(a.log, ['response', 'end']);
  assert.equal(b.status, 404); assert.deepEqual(b.log, ['response', 'end']);
  assert.equal(c.body, 'got abcdef'); assert.deepEqual(c.log, ['response', 'trailers:x-sum=6', 'end']);
});

function connectUdpPipe(opts: { dgram: boolean }) {
  let srvStream: H3Stream | null = null;
  const srvRec = new Recorder();
  const pipe = makePipe({
    settings: { enableConnectProtocol: true, h3Datagram: true },
    onRequest(s) { srvStream = s; s.handler = srvRec; s.respond([[':status', '200'], ['capsule-protocol', '?1']]); },
  }, { settings: { h3Datagram: true } }, { serverDgram: opts.dgram, clientDgram: opts.dgram });
  return { pipe, srvRec, srv: () => srvStream! };
}

test('extended CONNECT with HTTP Datagrams over QUIC DATAGRAM frames (RFC 9297 §2)', async () => {
  const { pipe, srvRec, srv } = connectUdpPipe({ dgram: true });
  const s = await pipe.client.ready;
  assert.equal(s.enableConnectProtocol, true);
  const rec = new Recorder();
  const st = pipe.client.request(UDP, { handler: rec });
  pipe.advance();
  assert.equal(rec.status, 200);
  assert.equal(pipe.client.isDatagramEnabled, true);
  assert.equal(st.sendDatagram(te.encode('ping')), true);
  assert.equal(pipe.cq.other.dgramsIn[0][0], 0x00, 'Quarter Stream ID 0 for stream 0');
  pipe.advance();
  assert.deepEqual(srvRec.dgrams, ['ping']);
  srv().sendDatagram(te.encode('pong'));
  srv().writeCapsule(0x1234, te.encode('x')); // unknown capsule type: delivered for skipping
  pipe.advance();
  assert.deepEqual(rec.dgrams, ['pong']);
  assert.deepEqual(rec.capsules, [[0x1234, 'x']]);
});

/** Counts calls of `name` on `obj` from now on. */
function countCalls(obj: object, name: string): { n: number } {
  const o = obj as Record<string, (...a: unknown[]) => unknown>;
  const f = o[name]!.bind(obj);
  const c = { n: 0 };
  o[name] = (...a: unknown[]) => {
    c.n++;
    return f(...a);
  };
  return c;
}

/** A connect-udp request answered 200 over QUIC DATAGRAMs: the pipe, the client's stream, the server's recorder. */
async function openUdpStream() {
  const { pipe, srvRec } = connectUdpPipe({ dgram: true });
  await pipe.client.ready;
  const st = pipe.client.request(UDP, { handler: new Recorder() });
  pipe.advance();
  return { pipe, srvRec, st };
}

test('whether DATAGRAMs can go as QUIC DATAGRAM frames is asked of the transport once, not per datagram', async () => {
  const { pipe, srvRec, st } = await openUdpStream();
  const asked = countCalls(pipe.cq, 'dgramMaxWritableLen');
  for (let i = 0; i < 5; i++) assert.equal(st.sendDatagram(te.encode(`d${i}`)), true);
  pipe.advance();
  assert.deepEqual(srvRec.dgrams, ['d0', 'd1', 'd2', 'd3', 'd4']);
  // SETTINGS and the peer's max_datagram_frame_size cannot change (RFC 9114 §7.2.4.2, RFC 9221 §3).
  assert.ok(asked.n <= 1, `asked ${asked.n} times for 5 datagrams`);
});

test('a read pass takes queued datagrams until the transport has none, and asks no more', async () => {
  const { pipe, srvRec, st } = await openUdpStream();
  const taken = countCalls(pipe.sq, 'dgramRecv');
  for (let i = 0; i < 3; i++) st.sendDatagram(te.encode(`q${i}`));
  pipe.server.processReads(pipe.sq);
  assert.deepEqual(srvRec.dgrams, ['q0', 'q1', 'q2']);
  assert.equal(taken.n, 4, 'three datagrams and the one answer "none"');
});

test('DATAGRAM capsule is the path when QUIC datagrams are unavailable (RFC 9297 §3.5)', async () => {
  const { pipe, srvRec, srv } = connectUdpPipe({ dgram: false });
  await pipe.client.ready;
  const rec = new Recorder();
  const st = pipe.client.request(UDP, { handler: rec });
  assert.equal(pipe.client.isDatagramEnabled, false);
  assert.equal(st.sendDatagram(te.encode('ping')), true);
  pipe.advance();
  assert.deepEqual(srvRec.dgrams, ['ping']);
  srv().sendDatagram(te.encode('pong'));
  pipe.advance();
  assert.deepEqual(rec.dgrams, ['pong']);
});

test('maxDatagramPayloadBytes: QUIC DATAGRAM limit minus the Quarter Stream ID (RFC 9297 §2.1); null for capsules', async () => {
  const { pipe } = connectUdpPipe({ dgram: true });
  await pipe.client.ready;
  const st = pipe.client.request(UDP, { handler: new Recorder() });
  pipe.advance();
  // FakeQuic carries 1200-byte DATAGRAM payloads; stream 0 has the 1-byte Quarter Stream ID 0.
  assert.equal(st.maxDatagramPayloadBytes(), 1199);
  assert.equal(st.sendDatagram(new Uint8Array(1199)), true, 'exactly the limit fits');
  assert.equal(st.sendDatagram(new Uint8Array(1200)), false, 'one more byte is dropped');
  assert.equal(pipe.client.conn.maxDatagramPayloadBytes(252), 1199, 'Quarter Stream ID 63: 1-byte varint');
  assert.equal(pipe.client.conn.maxDatagramPayloadBytes(256), 1198, 'Quarter Stream ID 64: 2-byte varint');
  const c = connectUdpPipe({ dgram: false });
  await c.pipe.client.ready;
  const capsuleStream = c.pipe.client.request(UDP, { handler: new Recorder() });
  c.pipe.advance();
  assert.equal(capsuleStream.maxDatagramPayloadBytes(), null, 'no QUIC DATAGRAMs: DATAGRAM capsules');
});

test('datagrams without negotiation are not sent; for closed streams dropped and counted', async () => {
  const pipe = makePipe({ onRequest: (s) => s.respond([[':status', '200']], { endStream: true }) });
  await pipe.client.ready;
  const st = pipe.client.request(GET('/'), { endStream: true, handler: new Recorder() });
  assert.equal(st.sendDatagram(te.encode('x')), false, 'H3_DATAGRAM not negotiated, no capsule protocol');
  pipe.advance();
  const { pipe: p2, srv } = connectUdpPipe({ dgram: true });
  await p2.client.ready;
  const st2 = p2.client.request(UDP, { handler: new Recorder() });
  p2.advance();
  srv().reset(0x10c);
  p2.advance();
  p2.cq.other.dgramsIn.push(Uint8Array.of(0x00, 0x61)); // to the server, for closed stream 0
  p2.advance();
  assert.equal(p2.server.stats?.dgramsDroppedUnknownStream, 1);
  assert.equal(st2.sendDatagram(te.encode('late')), false);
});

test('capsule cut by FIN → H3_MESSAGE_ERROR (RFC 9297 §3.3)', async () => {
  const { pipe, srvRec } = connectUdpPipe({ dgram: true });
  await pipe.client.ready;
  const st = pipe.client.request(UDP, { handler: new Recorder() });
  pipe.advance();
  st.write(Uint8Array.of(0x00, 0x05, 0x61), true); // DATAGRAM capsule claiming 5 bytes, 1 given
  pipe.advance();
  assert.equal(srvRec.resetCode, 0x10e);
});

test('back-pressure: writes beyond flow control are buffered, write() returns false, onWritable follows', async () => {
  let srvStream: H3Stream | null = null;
  const pipe = makePipe({ onRequest(s) { srvStream = s; s.handler = new Recorder(); } }, { highWaterBytes: 1000 }, { streamWindow: 500 });
  await pipe.client.ready;
  const rec = new Recorder();
  const st = pipe.client.request([[':method', 'POST'], [':scheme', 'https'], [':authority', 't'], [':path', '/']], { handler: rec });
  assert.equal(st.write(new Uint8Array(3000)), false);
  assert.ok(st.bufferedBytes > 1000);
  pipe.advance();
  assert.ok(srvStream);
  pipe.cq.credit(0); pipe.cq.credit(0);
  for (let i = 0; i < 10 && st.bufferedBytes > 0; i++) { pipe.cq.credit(0); pipe.advance(); }
  assert.equal(st.bufferedBytes, 0);
  assert.ok(rec.log.includes('writable'));
});

test('GOAWAY: server shutdown lets open requests finish, rejects new ones, then closes H3_NO_ERROR', async () => {
  let pending: H3Stream | null = null;
  const pipe = makePipe({ onRequest(s) { pending = s; } });
  await pipe.client.ready;
  const rec = new Recorder();
  pipe.client.request(GET('/slow'), { endStream: true, handler: rec });
  pipe.advance();
  pipe.server.shutdown();
  pipe.advance();
  assert.throws(() => pipe.client.request(GET('/'), { endStream: true }), { code: 'ERR_H3_REQUEST_REJECTED' });
  pending!.respond([[':status', '200']], { endStream: true });
  pipe.advance();
  assert.equal(rec.status, 200);
  assert.equal(pipe.sq.closeInfo?.code, 0x100);
  const closed = await pipe.server.closed;
  assert.equal(closed.error, null);
});

test('peer reset reaches the handler with its code', async () => {
  let srv: H3Stream | null = null;
  const srvRec = new Recorder();
  const pipe = makePipe({ onRequest(s) { srv = s; s.handler = srvRec; } });
  await pipe.client.ready;
  const st = pipe.client.request(GET('/'), { handler: new Recorder() });
  pipe.advance();
  st.reset(0x10c);
  pipe.advance();
  assert.ok(srv);
  assert.equal(srvRec.resetCode, 0x10c);
});
