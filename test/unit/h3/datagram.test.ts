import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writer } from '../../../src/wire/writer.js';
import {
  MAX_QUARTER_STREAM_ID, datagramHeadroom, encodeContextPayload, encodeDatagramPrefix, maxContextPayloadBytes, parseContextPayload,
  parseH3Datagram, quarterStreamId, writeDatagramHeader,
} from '../../../src/h3/datagram.js';
import { H3Error, H3_DATAGRAM_ERROR } from '../../../src/h3/errors.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('WIRE-VECTORS §6: quarter stream id prefix for streams 0, 4, 44, 256', () => {
  const cases: [number, string][] = [[0, '00'], [4, '01'], [44, '0b'], [256, '4040']];
  for (const [sid, h] of cases) {
    const w = new Writer();
    encodeDatagramPrefix(w, sid);
    assert.equal(toHex(w.finish()), h, `stream ${sid}`);
    assert.equal(parseH3Datagram(hex(h + 'ff')).streamId, sid);
  }
});

test('WIRE-VECTORS §7: CONNECT-UDP datagram on stream 0 and 44 with UDP payload 68 69', () => {
  // 00 = Quarter Stream ID 0, 00 = Context ID 0, 68 69 = UDP payload
  const d = parseH3Datagram(hex('00 00 6869'));
  assert.equal(d.streamId, 0);
  const c = parseContextPayload(d.payload)!;
  assert.equal(c.ctxId, 0);
  assert.equal(toHex(c.payload), '6869');
  // 0b = Quarter Stream ID 11 (stream 44), 00 = Context ID, 68 69
  const d44 = parseH3Datagram(hex('0b 00 6869'));
  assert.equal(d44.streamId, 44);
  const w = new Writer();
  encodeDatagramPrefix(w, 44);
  encodeContextPayload(w, 0, hex('6869'));
  assert.equal(toHex(w.finish()), '0b006869');
});

test('WIRE-VECTORS §8: CONNECT-IP datagram on stream 44 carrying an IPv4 packet', () => {
  // 0b = qsid 11, 00 = Context ID 0 (full IP packet), 45 = version/IHL of the packet
  const d = parseH3Datagram(hex('0b 00 45 00'));
  assert.equal(d.streamId, 44);
  assert.equal(toHex(parseContextPayload(d.payload)!.payload), '4500');
});

test('hot path: header written into headroom, payload untouched (no copy)', () => {
  const buf = new Uint8Array(16 + 2);
  buf.set(hex('6869'), 16);
  const start = writeDatagramHeader(buf, 16, 44);
  assert.equal(start, 14);
  assert.equal(toHex(buf.subarray(start)), '0b006869');
  assert.equal(datagramHeadroom(44), 2);
  assert.equal(datagramHeadroom(256, 64), 4); // 40 40 qsid 64, 40 40 ctx 64
  const b2 = new Uint8Array(5);
  assert.equal(writeDatagramHeader(b2, 4, 256, 64), 0);
  assert.equal(toHex(b2.subarray(0, 4)), '40404040');
  assert.throws(() => writeDatagramHeader(new Uint8Array(4), 1, 44), { code: 'ERR_DATAGRAM_HEADROOM' });
});

test('RFC 9297 §2.1: empty or truncated prefix, or qsid ≥ 2^60 → H3_DATAGRAM_ERROR', () => {
  for (const h of ['', '40', 'c0000000']) {
    assert.throws(() => parseH3Datagram(hex(h)), (e: unknown) =>
      e instanceof H3Error && e.h3Code === H3_DATAGRAM_ERROR && e.isConnectionError);
  }
  // d0 00.. = 8-byte varint 2^60 → too large
  assert.throws(() => parseH3Datagram(hex('d000000000000000')), { code: 'ERR_H3_DATAGRAM_ERROR' });
  // cf ff.. = 2^60−1, the largest legal value
  const d = parseH3Datagram(hex('cfffffffffffffff 00'));
  assert.equal(d.payload.length, 1);
  assert.equal(MAX_QUARTER_STREAM_ID, 2 ** 60 - 1);
});

test('context payload too short → null (dropped, not fatal)', () => {
  assert.equal(parseContextPayload(new Uint8Array(0)), null);
  assert.equal(parseContextPayload(hex('40')), null);
  assert.deepEqual(parseContextPayload(hex('02')), { ctxId: 2, payload: new Uint8Array(0) });
});

test('only client bidi streams have a quarter stream id', () => {
  assert.equal(quarterStreamId(8), 2);
  for (const bad of [1, 2, 3, -4, 0.5]) assert.throws(() => quarterStreamId(bad), { code: 'ERR_DATAGRAM_STREAM_ID' });
});

test('room for a Context ID 0 payload: one byte less than the HTTP Datagram Payload, capsules stay null', () => {
  assert.equal(maxContextPayloadBytes(1199), 1198);
  assert.equal(maxContextPayloadBytes(1), 0);
  assert.equal(maxContextPayloadBytes(0), 0);
  assert.equal(maxContextPayloadBytes(null), null);
});
