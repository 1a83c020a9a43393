// QpackDecoder: derived static-only vectors (WIRE-VECTORS §4), limits and error codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QpackDecoder } from '../../../../src/h3/qpack/decoder.js';
import {
  H3_MESSAGE_ERROR,
  QPACK_DECOMPRESSION_FAILED,
  QPACK_ENCODER_STREAM_ERROR,
} from '../../../../src/h3/errors.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array | null): string | null => (b === null ? null : Buffer.from(b).toString('hex'));
const DECOMPRESSION = { h3Code: QPACK_DECOMPRESSION_FAILED, isConnectionError: true };
const ENCODER_STREAM = { h3Code: QPACK_ENCODER_STREAM_ERROR, isConnectionError: true };

const staticOnly = () => new QpackDecoder({ maxTableCapacity: 0, maxBlockedStreams: 0 });

// Derived with libnghttp3 0.8 at capacity 0 (WIRE-VECTORS §4).
const CONNECT_UDP_REQUEST =
  '0000' + // RIC 0, Base 0
  'cf' + // indexed static 15 :method CONNECT
  '2f00b95d8749c87a3f' + // literal name, H=1, len 7+0: ":protocol"
  '8821eaa8a44ad6c95f' + // value H=1 len 8: "connect-udp"
  'd7' + // indexed static 23 :scheme https
  '519c617f05a285bad47f153148d1dad2b16c95b017c4b81712ee30d34cb1' + // static name 1 :path, H=1 len 28
  '50882f91d35d055cf64d' + // static name 0 :authority, H=1 len 8: "example.org"
  '2f0420eb45b4156aec3a4e43d1' + // literal name H=1 len 7+4: "capsule-protocol"
  '023f31'; // value H=0 len 2: "?1"

test('WIRE-VECTORS §4: RFC 9298 CONNECT-UDP request', () => {
  assert.deepEqual(staticOnly().decodeFieldSection(0, hex(CONNECT_UDP_REQUEST)), [
    [':method', 'CONNECT'],
    [':protocol', 'connect-udp'],
    [':scheme', 'https'],
    [':path', '/.well-known/masque/udp/192.0.2.6/443/'],
    [':authority', 'example.org'],
    ['capsule-protocol', '?1'],
  ]);
});

test('WIRE-VECTORS §4: response :status 200 + capsule-protocol', () => {
  // 0000 prefix; d9 = static 25 :status 200; 2f04… capsule-protocol; 023f31 "?1"
  assert.deepEqual(staticOnly().decodeFieldSection(0, hex('0000d92f0420eb45b4156aec3a4e43d1023f31')), [
    [':status', '200'],
    ['capsule-protocol', '?1'],
  ]);
});

test('WIRE-VECTORS §4: RFC 9484 CONNECT-IP request', () => {
  const v =
    '0000cf2f00b95d8749c87a3f8721eaa8a44ac6afd75195617f05a285bad47f153148d1dad2b06ad8f963e58f50882f91d35d055cf64d2f0420eb45b4156aec3a4e43d1023f31';
  assert.deepEqual(staticOnly().decodeFieldSection(0, hex(v)), [
    [':method', 'CONNECT'],
    [':protocol', 'connect-ip'],
    [':scheme', 'https'],
    [':path', '/.well-known/masque/ip/*/*/'],
    [':authority', 'example.org'],
    ['capsule-protocol', '?1'],
  ]);
});

test('WIRE-VECTORS §4: GET https://127.0.0.1:4433/', () => {
  // d1 static 17 GET; d7 static 23 https; 50 8a … :authority Huffman; c1 static 1 :path /
  assert.deepEqual(staticOnly().decodeFieldSection(0, hex('0000d1d7508a089d5c0b8170dc69a659c1')), [
    [':method', 'GET'],
    [':scheme', 'https'],
    [':authority', '127.0.0.1:4433'],
    [':path', '/'],
  ]);
});

test('a static-only decoder rejects any dynamic reference or non-zero RIC', () => {
  const d = staticOnly();
  assert.throws(() => d.decodeFieldSection(0, hex('0100')), DECOMPRESSION); // RIC ≠ 0 with MaxEntries 0
  assert.throws(() => d.decodeFieldSection(0, hex('000080')), DECOMPRESSION); // dynamic relative 0, RIC 0
  assert.throws(() => d.decodeFieldSection(0, hex('000010')), DECOMPRESSION); // post-base 0, RIC 0
  assert.throws(() => d.decodeFieldSection(0, hex('0000ff24')), DECOMPRESSION); // static index 99
  assert.deepEqual(d.decodeFieldSection(0, hex('0000')), []); // empty section is fine
  assert.equal(d.takeDecoderStreamBytes(), null);
  d.cancelStream(0); // capacity 0: Stream Cancellation may be omitted (§4.4.2)
  assert.equal(d.takeDecoderStreamBytes(), null);
});

test('the corpus trap: inserting before Set Dynamic Table Capacity fails (§3.2.3)', () => {
  const insert = hex('c0 03 616263'); // insert static name 0 (:authority) value "abc"
  const d = new QpackDecoder({ maxTableCapacity: 4096, maxBlockedStreams: 0 });
  assert.throws(() => d.feedEncoderStream(insert), ENCODER_STREAM);
  const preset = new QpackDecoder({ maxTableCapacity: 4096, maxBlockedStreams: 0 });
  preset.presetCapacity(4096);
  preset.feedEncoderStream(insert);
  assert.equal(preset.insertCount, 1);
  // with the instruction instead of the preset: 3f e1 1f = capacity 31 + 97 + 31·128 = 4096
  const rfc = new QpackDecoder({ maxTableCapacity: 4096, maxBlockedStreams: 0 });
  rfc.feedEncoderStream(hex('3fe11f c003616263'));
  assert.equal(rfc.insertCount, 1);
});

test('encoder stream errors', () => {
  const fresh = (cap = 100) => {
    const d = new QpackDecoder({ maxTableCapacity: cap, maxBlockedStreams: 1 });
    d.presetCapacity(cap);
    return d;
  };
  assert.throws(() => fresh().feedEncoderStream(hex('3f46')), ENCODER_STREAM); // capacity 101 > 100
  assert.throws(() => fresh().presetCapacity(101), ENCODER_STREAM);
  // entry 32 + 10 + 59 = 101 > 100: insert literal name "aaaaaaaaaa", 59-byte value
  assert.throws(() => fresh().feedEncoderStream(hex('4a' + '61'.repeat(10) + '3b' + '62'.repeat(59))), ENCODER_STREAM);
  // insert with static name ref 99: rejected before the value arrives
  assert.throws(() => fresh().feedEncoderStream(hex('ff24')), ENCODER_STREAM);
  // insert with dynamic name ref relative 0 on an empty table, value still missing
  assert.throws(() => fresh().feedEncoderStream(hex('80')), ENCODER_STREAM);
  assert.throws(() => fresh().feedEncoderStream(hex('00')), ENCODER_STREAM); // duplicate, empty table
  // Huffman value with EOS inside
  assert.throws(() => fresh().feedEncoderStream(hex('c0 84 ffffffff')), ENCODER_STREAM);
  // string length far beyond 4·capacity + 8 fails without waiting for the bytes
  assert.throws(() => fresh().feedEncoderStream(hex('c0 7f ff 0f')), ENCODER_STREAM);
  // integer overflow
  assert.throws(() => fresh().feedEncoderStream(hex('3f' + 'ff'.repeat(10) + '01')), ENCODER_STREAM);
});

test('duplicate and dynamic name refs copy names; eviction keeps sizes', () => {
  const d = new QpackDecoder({ maxTableCapacity: 100, maxBlockedStreams: 0 });
  d.feedEncoderStream(hex('3f45')); // capacity 31 + 69 = 100
  d.feedEncoderStream(hex('c0 02 6161')); // abs 0 :authority "aa" (size 44)
  d.feedEncoderStream(hex('80 02 6262')); // abs 1 name of relative 0 (:authority) "bb" (size 44)
  d.feedEncoderStream(hex('01')); // duplicate relative 1 → abs 0 copied as abs 2; evicts abs 0
  assert.equal(d.insertCount, 3);
  // RIC 3 → 3 % 6 + 1 = 04; Base 3; relative 0 → abs 2 ("aa"), relative 1 → abs 1 ("bb")
  assert.deepEqual(d.decodeFieldSection(0, hex('04 00 80 81')), [
    [':authority', 'aa'],
    [':authority', 'bb'],
  ]);
  assert.throws(() => d.decodeFieldSection(4, hex('04 00 82 80')), DECOMPRESSION); // abs 0 evicted
});

function tableDecoder(blocked = 2, maxFieldSectionSize?: number) {
  const d = new QpackDecoder({ maxTableCapacity: 4096, maxBlockedStreams: blocked, maxFieldSectionSize });
  d.feedEncoderStream(hex('3fe11f')); // capacity 4096 (MaxEntries 128, RIC mod 256)
  d.feedEncoderStream(hex('c0 03 616263')); // abs 0 :authority abc
  return d;
}

test('field section reference checks (§2.2.3, §4.5.1)', () => {
  const d = tableDecoder();
  assert.deepEqual(d.decodeFieldSection(0, hex('02 00 80')), [[':authority', 'abc']]); // RIC 1, rel 0
  assert.deepEqual(d.decodeFieldSection(4, hex('02 80 10')), [[':authority', 'abc']]); // Base 0, post-base 0
  // literal with dynamic name ref relative 0, value "x"; and post-base name ref
  assert.deepEqual(d.decodeFieldSection(8, hex('02 00 40 01 78')), [[':authority', 'x']]);
  assert.deepEqual(d.decodeFieldSection(12, hex('02 80 00 01 78')), [[':authority', 'x']]);
  assert.throws(() => tableDecoder().decodeFieldSection(0, hex('02 00 81')), DECOMPRESSION); // abs −1
  assert.throws(() => tableDecoder().decodeFieldSection(0, hex('02 80 11')), DECOMPRESSION); // abs 1 ≥ RIC
  assert.throws(() => tableDecoder().decodeFieldSection(0, hex('02 01 80')), DECOMPRESSION); // Base 2: abs 1 ≥ RIC
  // RIC 1 but no dynamic reference: larger than needed
  assert.throws(() => tableDecoder().decodeFieldSection(0, hex('02 00 c1')), DECOMPRESSION);
  // encoded RIC 257 > 2·MaxEntries
  assert.throws(() => tableDecoder().decodeFieldSection(0, hex('ff 82 01 00')), DECOMPRESSION);
  // truncated representations
  assert.throws(() => tableDecoder().decodeFieldSection(0, hex('0000 51 05 6162')), DECOMPRESSION);
  assert.throws(() => tableDecoder().decodeFieldSection(0, hex('0000 2f')), DECOMPRESSION);
});

test('blocked streams: limit, per-stream order, cancellation', () => {
  const d = tableDecoder(2);
  const ric2 = hex('03 00 80'); // RIC 2, Base 2, relative 0 → abs 1
  assert.equal(d.decodeFieldSection(4, ric2), null);
  assert.equal(d.decodeFieldSection(4, hex('0000 c1')), null); // RIC 0 but behind stream 4's blocked section
  assert.equal(d.decodeFieldSection(8, ric2), null);
  assert.equal(d.blockedStreamCount, 2);
  assert.throws(() => d.decodeFieldSection(12, ric2), DECOMPRESSION); // a third blocked stream
  d.cancelStream(8);
  // Stream Cancellation 8, then Insert Count Increment 1 for tableDecoder's abs 0
  assert.equal(toHex(d.takeDecoderStreamBytes()), '4801');
  d.feedEncoderStream(hex('c1 01 78')); // abs 1 :path x
  assert.deepEqual(d.takeUnblocked(), [
    { streamId: 4, fields: [[':path', 'x']] },
    { streamId: 4, fields: [[':path', '/']] },
  ]);
  assert.equal(d.blockedStreamCount, 0);
  // ack stream 4 (RIC 2 covers both inserts): no Insert Count Increment
  assert.equal(toHex(d.takeDecoderStreamBytes()), '84');
});

test('maxBlockedStreams 0: any blocking section is a connection error', () => {
  const d = tableDecoder(0);
  assert.throws(() => d.decodeFieldSection(0, hex('03 00 80')), DECOMPRESSION);
});

test('field section size limit (RFC 9114 §4.2.2): stream error H3_MESSAGE_ERROR', () => {
  // ":path" "/index.html" → 5 + 11 + 32 = 48 bytes
  const section = hex('0000 51 0b 2f696e6465782e68746d6c');
  const ok = new QpackDecoder({ maxTableCapacity: 0, maxBlockedStreams: 0, maxFieldSectionSize: 48 });
  assert.deepEqual(ok.decodeFieldSection(0, section), [[':path', '/index.html']]);
  const small = new QpackDecoder({ maxTableCapacity: 0, maxBlockedStreams: 0, maxFieldSectionSize: 47 });
  assert.throws(() => small.decodeFieldSection(0, section), { h3Code: H3_MESSAGE_ERROR, isConnectionError: false });
  // the decoder stays usable after a stream error
  assert.deepEqual(small.decodeFieldSection(4, hex('0000')), []);
});

test('oversize sections are still acknowledged; unblocked ones carry the error', () => {
  const d = tableDecoder(2, 40); // ":authority" "abc" = 10 + 3 + 32 = 45 > 40
  assert.throws(() => d.decodeFieldSection(0, hex('02 00 80')), { h3Code: H3_MESSAGE_ERROR });
  assert.equal(toHex(d.takeDecoderStreamBytes()), '80'); // Section Acknowledgment stream 0
  assert.equal(d.decodeFieldSection(4, hex('03 00 80')), null);
  d.feedEncoderStream(hex('c0 03 646566')); // abs 1 :authority def
  const [u] = d.takeUnblocked();
  assert.equal(u.streamId, 4);
  assert.deepEqual(u.fields, []);
  assert.equal(u.error?.h3Code, H3_MESSAGE_ERROR);
  assert.equal(u.error?.isConnectionError, false);
  assert.equal(toHex(d.takeDecoderStreamBytes()), '84');
});

test('a malformed section found on unblock is a connection error from feedEncoderStream', () => {
  const d = tableDecoder(1);
  assert.equal(d.decodeFieldSection(4, hex('03 00 80 ff24')), null); // static 99 after a valid ref
  assert.throws(() => d.feedEncoderStream(hex('c0 01 78')), DECOMPRESSION);
});

test('Required Insert Count wraps modulo 2·MaxEntries (§4.5.1.1)', () => {
  // capacity 64 → MaxEntries 2, FullRange 4. Insert 5 entries of 43 bytes, each
  // evicting the previous; RIC 5 encodes as 5 % 4 + 1 = 2.
  const d = new QpackDecoder({ maxTableCapacity: 64, maxBlockedStreams: 0 });
  d.feedEncoderStream(hex('3f21')); // capacity 31 + 33 = 64
  for (let i = 0; i < 5; i++) d.feedEncoderStream(hex('c0 01 61')); // :authority "a" (43 bytes)
  assert.deepEqual(d.decodeFieldSection(0, hex('02 00 80')), [[':authority', 'a']]);
  assert.throws(() => d.decodeFieldSection(0, hex('05 00 80')), DECOMPRESSION); // 5 > FullRange 4
});

test('constructor rejects bad options', () => {
  assert.throws(() => new QpackDecoder({ maxTableCapacity: -1, maxBlockedStreams: 0 }), { code: 'ERR_QPACK_INVALID_OPTION' });
  assert.throws(() => new QpackDecoder({ maxTableCapacity: 0, maxBlockedStreams: 1.5 }), { code: 'ERR_QPACK_INVALID_OPTION' });
});
