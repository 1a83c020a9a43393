// RFC 9204 Appendix B: one encoder → one decoder, SETTINGS_QPACK_MAX_TABLE_CAPACITY 220
// (MaxEntries = floor(220/32) = 6, so Required Insert Count is encoded mod 12, plus 1).
// Byte tables are WIRE-VECTORS §4; comments give each field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QpackDecoder } from '../../../../src/h3/qpack/decoder.js';
import { QPACK_DECOMPRESSION_FAILED } from '../../../../src/h3/errors.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array | null): string | null => (b === null ? null : Buffer.from(b).toString('hex'));

// B.1: request stream 0
const B1_SECTION = hex(
  '00' + // Required Insert Count 0
    '00' + // Base 0 (sign 0, delta 0)
    '51' + // 01 N=0 T=1 index 1: Literal with static name ref → :path
    '0b' + // H=0, value length 11
    '2f696e6465782e68746d6c', // "/index.html"
);
// B.2: encoder stream
const B2_ENCODER = hex(
  '3fbd01' + // 001 11111 + 0xbd,0x01: Set Dynamic Table Capacity 31 + 61 + 128 = 220
    'c0' + // 1 T=1 index 0: Insert with static name ref :authority
    '0f' + // H=0 length 15
    '7777772e6578616d706c652e636f6d' + // "www.example.com" → abs 0
    'c1' + // Insert with static name ref 1 (:path)
    '0c' + // H=0 length 12
    '2f73616d706c652f70617468', // "/sample/path" → abs 1; table size 106
);
// B.2: request stream 4
const B2_SECTION = hex(
  '03' + // encoded RIC 3 → RIC 2
    '81' + // sign 1, delta 1 → Base = 2 − 1 − 1 = 0
    '10' + // 0001 index 0: post-base → abs 0 (:authority www.example.com)
    '11', // post-base index 1 → abs 1 (:path /sample/path)
);
// B.3: encoder stream
const B3_ENCODER = hex(
  '4a' + // 01 H=0 name length 10: Insert with Literal Name
    '637573746f6d2d6b6579' + // "custom-key"
    '0c' + // H=0 value length 12
    '637573746f6d2d76616c7565', // "custom-value" → abs 2; size 160
);
// B.4: encoder stream
const B4_ENCODER = hex('02'); // 000 index 2: Duplicate relative 2 → abs 0, copied as abs 3; size 217
// B.4: request stream 8
const B4_SECTION = hex(
  '05' + // encoded RIC 5 → RIC 4
    '00' + // sign 0, delta 0 → Base 4
    '80' + // 1 T=0 index 0: dynamic relative 0 → abs 3 (:authority www.example.com)
    'c1' + // 1 T=1 index 1: static :path /
    '81', // dynamic relative 1 → abs 2 (custom-key custom-value)
);
// B.5: encoder stream
const B5_ENCODER = hex(
  '81' + // 1 T=0 index 1: Insert with dynamic name ref, relative 1 → abs 2 (custom-key)
    '0d' + // H=0 length 13
    '637573746f6d2d76616c756532', // "custom-value2" → abs 4; evicts abs 0; size 215
);

const newDecoder = () => new QpackDecoder({ maxTableCapacity: 220, maxBlockedStreams: 100 });

test('Appendix B as published: B.1–B.5, including the decoder stream bytes', () => {
  const d = newDecoder();
  // B.1: static-only section, RIC 0 → nothing to acknowledge
  assert.deepEqual(d.decodeFieldSection(0, B1_SECTION), [[':path', '/index.html']]);
  assert.equal(d.takeDecoderStreamBytes(), null);

  // B.2
  d.feedEncoderStream(B2_ENCODER);
  assert.equal(d.insertCount, 2);
  assert.deepEqual(d.decodeFieldSection(4, B2_SECTION), [
    [':authority', 'www.example.com'],
    [':path', '/sample/path'],
  ]);
  // 84 = Section Acknowledgment, stream 4. It also tells the encoder of both inserts
  // (Known Received Count := RIC 2), so no Insert Count Increment follows.
  assert.equal(toHex(d.takeDecoderStreamBytes()), '84');

  // B.3: one more insert the encoder cannot know about yet
  d.feedEncoderStream(B3_ENCODER);
  assert.equal(toHex(d.takeDecoderStreamBytes()), '01'); // Insert Count Increment 1

  // B.4: the encoder-stream packet carrying the Duplicate is delayed; the section for
  // stream 8 (RIC 4) arrives first and blocks, then the stream is cancelled.
  assert.equal(d.decodeFieldSection(8, B4_SECTION), null);
  assert.equal(d.blockedStreamCount, 1);
  d.cancelStream(8);
  assert.equal(d.blockedStreamCount, 0);
  assert.equal(toHex(d.takeDecoderStreamBytes()), '48'); // Stream Cancellation, stream 8
  d.feedEncoderStream(B4_ENCODER); // the delayed packet
  assert.deepEqual(d.takeUnblocked(), []); // the cancelled section is gone

  // B.5
  d.feedEncoderStream(B5_ENCODER);
  assert.equal(d.insertCount, 5);
  // Appendix B stops here; our policy reports the two new inserts (abs 3, 4) at once.
  assert.equal(toHex(d.takeDecoderStreamBytes()), '02'); // Insert Count Increment 2

  // Final table: abs 1–4 live, abs 0 evicted (size 215 ≤ 220).
  // RIC 5 → encoded 5 % 12 + 1 = 06; Base 5; relative 0 → abs 4, relative 1 → abs 3
  assert.deepEqual(d.decodeFieldSection(12, hex('06 00 80 81')), [
    ['custom-key', 'custom-value2'],
    [':authority', 'www.example.com'],
  ]);
  // relative 4 → abs 0: evicted by B.5
  assert.throws(() => d.decodeFieldSection(16, hex('06 00 84 80')), { h3Code: QPACK_DECOMPRESSION_FAILED });
});

test('Appendix B with the B.4 encoder data on time: stream 8 decodes and is acknowledged', () => {
  const d = newDecoder();
  d.decodeFieldSection(0, B1_SECTION);
  d.feedEncoderStream(B2_ENCODER);
  d.decodeFieldSection(4, B2_SECTION);
  d.feedEncoderStream(B3_ENCODER);
  assert.equal(toHex(d.takeDecoderStreamBytes()), '8401'); // ack 4, increment 1
  d.feedEncoderStream(B4_ENCODER);
  assert.deepEqual(d.decodeFieldSection(8, B4_SECTION), [
    [':authority', 'www.example.com'],
    [':path', '/'],
    ['custom-key', 'custom-value'],
  ]);
  d.feedEncoderStream(B5_ENCODER);
  // 88 = Section Acknowledgment stream 8 (Known Received Count → 4), then 01 for abs 4
  assert.equal(toHex(d.takeDecoderStreamBytes()), '8801');
});

test('Appendix B with sections before their inserts: unblocked by the encoder stream', () => {
  const d = newDecoder();
  assert.equal(d.decodeFieldSection(4, B2_SECTION), null); // RIC 2 > 0 inserts
  assert.equal(d.takeDecoderStreamBytes(), null);
  d.feedEncoderStream(B2_ENCODER);
  assert.deepEqual(d.takeUnblocked(), [
    { streamId: 4, fields: [[':authority', 'www.example.com'], [':path', '/sample/path']] },
  ]);
  assert.deepEqual(d.takeUnblocked(), []);
  assert.equal(toHex(d.takeDecoderStreamBytes()), '84');
});

test('Appendix B encoder stream fed one byte at a time', () => {
  const d = newDecoder();
  assert.equal(d.decodeFieldSection(8, B4_SECTION), null);
  for (const part of [B2_ENCODER, B3_ENCODER, B4_ENCODER, B5_ENCODER]) {
    for (const byte of part) d.feedEncoderStream(Uint8Array.of(byte));
  }
  assert.equal(d.hasPartialEncoderInstruction, false);
  assert.equal(d.insertCount, 5);
  // stream 8 was unblocked by the Duplicate (4th insert), before B.5 evicted abs 0
  assert.deepEqual(d.takeUnblocked(), [
    { streamId: 8, fields: [[':authority', 'www.example.com'], [':path', '/'], ['custom-key', 'custom-value']] },
  ]);
  assert.equal(toHex(d.takeDecoderStreamBytes()), '8801');
});
