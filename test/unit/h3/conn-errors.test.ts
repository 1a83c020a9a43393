// Connection and stream errors of H3Conn, each asserting the RFC wire code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { H3Conn, type H3ConnOptions } from '../../../src/h3/conn.js';
import { QpackEncoder } from '../../../src/h3/qpack/encoder.js';
import type { FieldLine } from '../../../src/h3/qpack/types.js';
import { FakeQuic } from '../../helpers/h3-pipe.js';
import type { H3Event } from '../../../src/h3/events.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

/** One H3Conn on a FakeQuic; `q` is its transport (inject = what the peer sent). */
function setup(isServer: boolean, opts: Partial<H3ConnOptions> = {}): { h3: H3Conn; q: FakeQuic; events: () => H3Event[] } {
  const [c, s] = FakeQuic.pair();
  const q = isServer ? s : c;
  const h3 = new H3Conn(q, { isServer, isGreaseEnabled: false, ...opts });
  h3.start();
  const events = () => { const out: H3Event[] = []; for (let e = h3.poll(); e; e = h3.poll()) out.push(e); return out; };
  return { h3, q, events };
}


function closeCode(h3: H3Conn, q: FakeQuic): number | undefined {
  assert.equal(h3.isClosed, true, 'connection should be closed');
  return q.closeInfo?.code;
}

const settingsOk = '00 04 00';

test('missing SETTINGS → H3_MISSING_SETTINGS (RFC 9114 §6.2.1)', () => {
  const { h3, q } = setup(true);
  h3.feedStream(2, hex('00 07 01 00'), false); // control stream, first frame GOAWAY
  assert.equal(closeCode(h3, q), 0x10a);
});

test('repeated SETTINGS → H3_FRAME_UNEXPECTED (§7.2.4)', () => {
  const { h3, q } = setup(true);
  h3.feedStream(2, hex(`${settingsOk} 04 00`), false);
  assert.equal(closeCode(h3, q), 0x105);
});

test('reserved HTTP/2 frame types → H3_FRAME_UNEXPECTED (§7.2.8)', () => {
  for (const t of ['02', '06', '08', '09']) {
    const a = setup(true);
    a.h3.feedStream(2, hex(`${settingsOk} ${t} 00`), false);
    assert.equal(closeCode(a.h3, a.q), 0x105, `control ${t}`);
    const b = setup(true);
    b.h3.feedStream(0, hex(`${t} 00`), false);
    assert.equal(closeCode(b.h3, b.q), 0x105, `request ${t}`);
  }
});

test('DATA on the control stream → H3_FRAME_UNEXPECTED (§7.2.1)', () => {
  const { h3, q } = setup(false);
  h3.feedStream(3, hex(`${settingsOk} 00 01 aa`), false);
  assert.equal(closeCode(h3, q), 0x105);
});

test('closed critical streams → H3_CLOSED_CRITICAL_STREAM (§6.2.1, RFC 9204 §4.2)', () => {
  const a = setup(true);
  a.h3.feedStream(2, hex(settingsOk), true);
  assert.equal(closeCode(a.h3, a.q), 0x104, 'control FIN');
  const b = setup(true);
  b.h3.feedStream(6, hex('02'), false);
  b.h3.feedReset(6, 0x100);
  assert.equal(closeCode(b.h3, b.q), 0x104, 'encoder stream reset');
  const c = setup(false);
  c.h3.feedStream(11, hex('03'), true);
  assert.equal(closeCode(c.h3, c.q), 0x104, 'decoder stream FIN');
});

test('HTTP/2 setting ids and bad boolean values → H3_SETTINGS_ERROR', () => {
  for (const p of ['02 00', '03 00', '04 00', '05 00', '33 02', '08 05']) {
    const { h3, q } = setup(true);
    h3.feedStream(2, hex(`00 04 02 ${p}`), false);
    assert.equal(closeCode(h3, q), 0x109, p);
  }
});

test('a second control stream → H3_STREAM_CREATION_ERROR; push streams refused', () => {
  const a = setup(true);
  a.h3.feedStream(2, hex(settingsOk), false);
  a.h3.feedStream(6, hex(settingsOk), false);
  assert.equal(closeCode(a.h3, a.q), 0x103);
  const b = setup(true);
  b.h3.feedStream(2, hex('01 00'), false);
  assert.equal(closeCode(b.h3, b.q), 0x103, 'push stream from a client');
  const c = setup(false);
  c.h3.feedStream(3, hex('01 00'), false);
  assert.equal(closeCode(c.h3, c.q), 0x108, 'push stream without MAX_PUSH_ID');
});

test('unknown and grease stream types are ignored with STOP_SENDING H3_STREAM_CREATION_ERROR (§6.2)', () => {
  const { h3, q } = setup(true);
  h3.feedStream(2, hex('21 ffffff'), false);
  h3.feedStream(6, hex('4040 00'), false);
  assert.equal(h3.isClosed, false);
  assert.ok(q.shutdowns.includes(`2:read:${0x103}`) && q.shutdowns.includes(`6:read:${0x103}`));
});

test('server-initiated bidirectional stream → H3_STREAM_CREATION_ERROR (§6.1)', () => {
  const { h3, q } = setup(false);
  h3.feedStream(1, hex('01 00'), false);
  assert.equal(closeCode(h3, q), 0x103);
});

test('push-related frames → H3_ID_ERROR / H3_FRAME_UNEXPECTED (§7.2.3, §7.2.5, §7.2.7)', () => {
  const a = setup(false);
  a.h3.feedStream(3, hex(`${settingsOk} 03 01 00`), false);
  assert.equal(closeCode(a.h3, a.q), 0x108, 'CANCEL_PUSH to client');
  const b = setup(false);
  b.h3.feedStream(3, hex(`${settingsOk} 0d 01 00`), false);
  assert.equal(closeCode(b.h3, b.q), 0x105, 'MAX_PUSH_ID to client');
  const c = setup(true);
  c.h3.feedStream(2, hex(`${settingsOk} 0d 01 00`), false);
  assert.equal(c.h3.isClosed, false, 'MAX_PUSH_ID to server is fine');
  const d = setup(false);
  d.h3.feedStream(3, hex(settingsOk), false);
  const id = d.h3.request([[':method', 'GET'], [':scheme', 'https'], [':authority', 'a'], [':path', '/']], true);
  d.h3.feedStream(id, hex('05 02 00 00'), false);
  assert.equal(closeCode(d.h3, d.q), 0x108, 'PUSH_PROMISE to client');
});

test('GOAWAY rules: non-request id and increasing id → H3_ID_ERROR (§5.2)', () => {
  const a = setup(false);
  a.h3.feedStream(3, hex(`${settingsOk} 07 01 02`), false);
  assert.equal(closeCode(a.h3, a.q), 0x108);
  const b = setup(false);
  b.h3.feedStream(3, hex(`${settingsOk} 07 01 04 07 01 08`), false);
  assert.equal(closeCode(b.h3, b.q), 0x108);
});

test('bad Quarter Stream ID → H3_DATAGRAM_ERROR (RFC 9297 §2.1)', () => {
  for (const d of ['ffffffffffffffff', 'd000000000000000', '40', '']) {
    const { h3, q } = setup(true, { settings: { h3Datagram: true } });
    assert.equal(h3.routeDatagram(hex(d)), -1);
    assert.equal(closeCode(h3, q), 0x33, d);
  }
  // 2^60-1 itself is legal: dropped (no such stream), not an error.
  const { h3 } = setup(true, { settings: { h3Datagram: true } });
  assert.equal(h3.routeDatagram(hex('cfffffffffffffff 00')), -1);
  assert.equal(h3.isClosed, false);
  assert.equal(h3.stats.dgramsDroppedUnknownStream, 1);
});

const enc = new QpackEncoder();
function headersFrame(fields: FieldLine[]): string {
  const block = enc.encode(fields);
  return Buffer.from([0x01, block.length]).toString('hex') + Buffer.from(block).toString('hex');
}

const GET: FieldLine[] = [[':method', 'GET'], [':scheme', 'https'], [':authority', 'x'], [':path', '/']];

test('pseudo-header violations → stream error H3_MESSAGE_ERROR (§4.3, §4.1.2)', () => {
  const bad: [string, FieldLine[]][] = [
    ['missing :path', [[':method', 'GET'], [':scheme', 'https'], [':authority', 'x']]],
    ['pseudo after regular', [[':method', 'GET'], ['a', 'b'], [':scheme', 'https'], [':authority', 'x'], [':path', '/']]],
    ['duplicate', [[':method', 'GET'], [':method', 'GET'], [':scheme', 'https'], [':authority', 'x'], [':path', '/']]],
    ['upper-case name', [...GET, ['Foo', 'b']]],
    ['unknown pseudo', [[':foo', 'x'], ...GET]],
    ['response pseudo in request', [[':status', '200'], ...GET]],
    ['connection-specific', [...GET, ['connection', 'close']]],
    ['CONNECT with :path', [[':method', 'CONNECT'], [':authority', 'x:1'], [':path', '/']]],
  ];
  for (const [what, fields] of bad) {
    const { h3, q, events } = setup(true);
    h3.feedStream(0, hex(headersFrame(fields)), false);
    assert.equal(h3.isClosed, false, what);
    assert.ok(q.shutdowns.includes(`0:write:${0x10e}`), `${what}: ${q.shutdowns.join()}`);
    assert.deepEqual(events().filter((e) => e.type === 'reset'), [{ type: 'reset', streamId: 0, code: 0x10e, isLocal: true }]);
  }
});

test('extended CONNECT: server refuses :protocol unless enabled (RFC 9220 §3)', () => {
  const req: FieldLine[] = [[':method', 'CONNECT'], [':protocol', 'connect-udp'], [':scheme', 'https'], [':authority', 'x'], [':path', '/p']];
  const off = setup(true);
  off.h3.feedStream(0, hex(headersFrame(req)), false);
  assert.ok(off.q.shutdowns.includes(`0:write:${0x10e}`));
  const on = setup(true, { settings: { enableConnectProtocol: true } });
  on.h3.feedStream(0, hex(headersFrame(req)), false);
  assert.equal(on.events().find((e) => e.type === 'request')?.type, 'request');
});

test('extended CONNECT: client refuses to send :protocol before the server enabled it', () => {
  const req: FieldLine[] = [[':method', 'CONNECT'], [':protocol', 'connect-ip'], [':scheme', 'https'], [':authority', 'x'], [':path', '/p']];
  const { h3 } = setup(false);
  assert.throws(() => h3.request(req), { code: 'ERR_H3_MESSAGE_ERROR' });
  h3.feedStream(3, hex('00 04 00'), false); // SETTINGS without ENABLE_CONNECT_PROTOCOL
  assert.throws(() => h3.request(req), { code: 'ERR_H3_MESSAGE_ERROR' });
  const b = setup(false);
  b.h3.feedStream(3, hex('00 04 02 08 01'), false);
  assert.equal(b.h3.request(req), 0);
});

test('frame sequence on a request stream (§4.1): DATA before HEADERS → H3_FRAME_UNEXPECTED', () => {
  const { h3, q } = setup(true);
  h3.feedStream(0, hex('00 01 aa'), false);
  assert.equal(closeCode(h3, q), 0x105);
});

test('request stream ending inside a frame → H3_FRAME_ERROR; before HEADERS → H3_REQUEST_INCOMPLETE', () => {
  const a = setup(true);
  a.h3.feedStream(0, hex(headersFrame(GET) + '00 05 aa'), true);
  assert.equal(closeCode(a.h3, a.q), 0x106);
  const b = setup(true);
  b.h3.feedStream(0, hex('21 00'), true);
  assert.ok(b.q.shutdowns.includes(`0:write:${0x10d}`));
});

test('content-length mismatch → H3_MESSAGE_ERROR (§4.1.2)', () => {
  const { h3, q } = setup(true);
  h3.feedStream(0, hex(headersFrame([...GET, ['content-length', '3']]) + '00 02 6869'), true);
  assert.ok(q.shutdowns.includes(`0:write:${0x10e}`));
});
