// QpackEncoder: static-only output against the WIRE-VECTORS §4 bytes, and decoder-stream
// validation (RFC 9204 §4.4).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QpackEncoder } from '../../../../src/h3/qpack/encoder.js';
import { QpackDecoder } from '../../../../src/h3/qpack/decoder.js';
import { QPACK_DECODER_STREAM_ERROR } from '../../../../src/h3/errors.js';
import type { FieldLine } from '../../../../src/h3/qpack/types.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const DECODER_STREAM = { h3Code: QPACK_DECODER_STREAM_ERROR, isConnectionError: true };

// libnghttp3 0.8's static-only output (WIRE-VECTORS §4) uses the same choices we make
// (exact static → indexed; static name → name ref; Huffman only when shorter), so our
// bytes match exactly. Another valid encoder could differ.
const VECTORS: Array<[string, FieldLine[], string]> = [
  [
    'RFC 9298 CONNECT-UDP request',
    [
      [':method', 'CONNECT'],
      [':protocol', 'connect-udp'],
      [':scheme', 'https'],
      [':path', '/.well-known/masque/udp/192.0.2.6/443/'],
      [':authority', 'example.org'],
      ['capsule-protocol', '?1'],
    ],
    '0000cf2f00b95d8749c87a3f8821eaa8a44ad6c95fd7519c617f05a285bad47f153148d1dad2b16c95b017c4b81712ee30d34cb150882f91d35d055cf64d2f0420eb45b4156aec3a4e43d1023f31',
  ],
  ['response 200', [[':status', '200'], ['capsule-protocol', '?1']], '0000d92f0420eb45b4156aec3a4e43d1023f31'],
  [
    'RFC 9484 CONNECT-IP request',
    [
      [':method', 'CONNECT'],
      [':protocol', 'connect-ip'],
      [':scheme', 'https'],
      [':path', '/.well-known/masque/ip/*/*/'],
      [':authority', 'example.org'],
      ['capsule-protocol', '?1'],
    ],
    '0000cf2f00b95d8749c87a3f8721eaa8a44ac6afd75195617f05a285bad47f153148d1dad2b06ad8f963e58f50882f91d35d055cf64d2f0420eb45b4156aec3a4e43d1023f31',
  ],
  [
    'GET https://127.0.0.1:4433/',
    [[':method', 'GET'], [':scheme', 'https'], [':authority', '127.0.0.1:4433'], [':path', '/']],
    '0000d1d7508a089d5c0b8170dc69a659c1',
  ],
];

for (const [name, fields, bytes] of VECTORS) {
  test(`encode: ${name} matches WIRE-VECTORS §4 and decodes back`, () => {
    const out = new QpackEncoder().encode(fields);
    assert.equal(toHex(out), bytes);
    const d = new QpackDecoder({ maxTableCapacity: 0, maxBlockedStreams: 0 });
    assert.deepEqual(d.decodeFieldSection(0, out), fields);
  });
}

test('encode: representation choice per field line', () => {
  const e = new QpackEncoder();
  assert.equal(toHex(e.encode([])), '0000'); // RIC 0, Base 0
  assert.equal(toHex(e.encode([[':status', '404']])), '0000db'); // 11 011011: indexed static 27
  assert.equal(toHex(e.encode([['x-frame-options', 'sameorigin']])), '0000ff23'); // static 98 = 63 + 35
  // static name 4 (content-length), raw value "12" (Huffman "12" is 10 bits = 2 bytes, not shorter)
  assert.equal(toHex(e.encode([['content-length', '12']])), '000054023132');
  // literal name "x", value "y": 001 0 H=0 len 1 'x', H=0 len 1 'y'
  assert.equal(toHex(e.encode([['x', 'y']])), '0000217801' + '79');
});

test('encode: empty and binary values round-trip', () => {
  const fields: FieldLine[] = [
    ['x-empty', ''],
    ['x-bin', '\u0000\u00ff\t\r'],
    [':authority', ''],
  ];
  const d = new QpackDecoder({ maxTableCapacity: 0, maxBlockedStreams: 0 });
  assert.deepEqual(d.decodeFieldSection(0, new QpackEncoder().encode(fields)), fields);
});

test('feedDecoderStream: Stream Cancellation is accepted, also split across calls', () => {
  const e = new QpackEncoder();
  e.feedDecoderStream(hex('48')); // Stream Cancellation, stream 8
  e.feedDecoderStream(hex('7f')); // 01 111111: stream id ≥ 63 continues …
  e.feedDecoderStream(hex('81')); // … 63 + 1 …
  e.feedDecoderStream(hex('01')); // … + 128 = 192
  e.feedDecoderStream(new Uint8Array(0));
});

test('feedDecoderStream: impossible instructions are QPACK_DECODER_STREAM_ERROR', () => {
  // Section Acknowledgment: we never send a section with RIC > 0 (§4.4.1)
  assert.throws(() => new QpackEncoder().feedDecoderStream(hex('84')), DECODER_STREAM);
  // Insert Count Increment 0 (§4.4.3)
  assert.throws(() => new QpackEncoder().feedDecoderStream(hex('00')), DECODER_STREAM);
  // Insert Count Increment 1 beyond the 0 inserts we made (§4.4.3)
  assert.throws(() => new QpackEncoder().feedDecoderStream(hex('01')), DECODER_STREAM);
  // integer overflow in a Stream Cancellation
  assert.throws(() => new QpackEncoder().feedDecoderStream(hex('7f' + 'ff'.repeat(12))), DECODER_STREAM);
  // a valid cancellation followed by a bad ack in one chunk
  assert.throws(() => new QpackEncoder().feedDecoderStream(hex('48 80')), DECODER_STREAM);
});

test('a decoder with a dynamic table talks to our encoder: cancellations only', () => {
  const d = new QpackDecoder({ maxTableCapacity: 4096, maxBlockedStreams: 16 });
  const e = new QpackEncoder();
  assert.deepEqual(d.decodeFieldSection(0, e.encode([[':method', 'GET']])), [[':method', 'GET']]);
  d.cancelStream(4);
  const bytes = d.takeDecoderStreamBytes();
  assert.ok(bytes !== null);
  e.feedDecoderStream(bytes);
});
