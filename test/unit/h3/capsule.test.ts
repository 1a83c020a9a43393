import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writer } from '../../../src/wire/writer.js';
import {
  CAPSULE_DATAGRAM, CapsuleParser, capsuleHeaderLen, encodeCapsule, encodeCapsuleHeader, encodeDatagramCapsule,
} from '../../../src/h3/capsule.js';
import { CapsuleError } from '../../../src/masque/errors.js';
import { H3_MESSAGE_ERROR } from '../../../src/h3/errors.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const enc = (f: (w: Writer) => void) => {
  const w = new Writer();
  f(w);
  return toHex(w.finish());
};

test('WIRE-VECTORS §6: DATAGRAM capsules encode', () => {
  // 00 = Type DATAGRAM, 03 = Length, 61 62 63 = HTTP Datagram Payload
  assert.equal(enc((w) => encodeDatagramCapsule(w, hex('616263'))), '0003616263');
  // 00 = Type, 00 = Length (empty payload)
  assert.equal(enc((w) => encodeDatagramCapsule(w, new Uint8Array(0))), '0000');
  // WIRE-VECTORS §7: 00 Type, 03 Length, 00 Context ID 0, 68 69 UDP payload
  assert.equal(enc((w) => encodeCapsule(w, CAPSULE_DATAGRAM, hex('006869'))), '0003006869');
});

test('WIRE-VECTORS §6: DATAGRAM capsules decode', () => {
  const p = new CapsuleParser();
  const got = p.feed(hex('0003616263 0000 0003006869'));
  assert.deepEqual(got.map((c) => [c.type, toHex(c.value)]), [[0, '616263'], [0, ''], [0, '006869']]);
  p.finish();
});

test('capsule split at every byte boundary, one byte per chunk', () => {
  // 40 40 = Type 64 (2-byte varint, an unknown type), 03 = Length, value; then 00 01 ff
  const bytes = hex('4040 03 aabbcc 00 01 ff');
  for (let cut = 0; cut <= bytes.length; cut++) {
    const p = new CapsuleParser();
    const got = [...p.feed(bytes.subarray(0, cut)), ...p.feed(bytes.subarray(cut))];
    assert.deepEqual(got.map((c) => [c.type, toHex(c.value)]), [[64, 'aabbcc'], [0, 'ff']], `cut ${cut}`);
    p.finish();
  }
  const p = new CapsuleParser();
  const got = [];
  for (const b of bytes) got.push(...p.feed(Uint8Array.of(b)));
  assert.equal(got.length, 2);
  assert.equal(toHex(got[0].value), 'aabbcc');
});

test('unknown capsule types are yielded for the caller to skip (RFC 9297 §3.2)', () => {
  // 17 = Type 0x17 (unknown), 02 = Length, 01 02
  const [c] = new CapsuleParser().feed(hex('17 02 0102'));
  assert.equal(c.type, 0x17);
  assert.equal(toHex(c.value), '0102');
});

test('value inside one chunk is a view, not a copy', () => {
  const chunk = hex('00 02 abcd');
  const [c] = new CapsuleParser().feed(chunk);
  assert.equal(c.value.buffer, chunk.buffer);
});

test('capsule cut by FIN → ERR_CAPSULE_TRUNCATED mapped to H3_MESSAGE_ERROR (RFC 9297 §3.3)', () => {
  for (const partial of ['00', '00 05', '00 05 0102', '40']) {
    const p = new CapsuleParser();
    assert.deepEqual(p.feed(hex(partial)), []);
    assert.throws(() => p.finish(), (e: unknown) => {
      assert.ok(e instanceof CapsuleError);
      assert.equal(e.code, 'ERR_CAPSULE_TRUNCATED');
      assert.equal(e.h3Code, H3_MESSAGE_ERROR);
      const h3 = e.toH3Error();
      assert.equal(h3.h3Code, H3_MESSAGE_ERROR);
      assert.equal(h3.isConnectionError, false);
      return true;
    });
  }
  new CapsuleParser().finish(); // empty stream is fine
});

test('length above the limit is refused at the header (ERR_CAPSULE_TOO_LARGE)', () => {
  // 00 = Type, 80 01 00 01 = Length 65537 (4-byte varint) > default 65536
  assert.throws(() => new CapsuleParser().feed(hex('00 80010001')), { code: 'ERR_CAPSULE_TOO_LARGE' });
  // exactly at the limit is fine (value not yet there → null)
  assert.deepEqual(new CapsuleParser().feed(hex('00 80010000')), []);
  // configurable: 10 bytes max; 0b = Length 11
  assert.throws(() => new CapsuleParser({ maxCapsuleBytes: 10 }).feed(hex('00 0b')), { code: 'ERR_CAPSULE_TOO_LARGE' });
});

test('header helpers', () => {
  assert.equal(capsuleHeaderLen(0, 3), 2);
  assert.equal(capsuleHeaderLen(64, 16384), 6);
  assert.equal(enc((w) => encodeCapsuleHeader(w, 1, 7)), '0107');
});

test('bufferedBytes tracks unconsumed input', () => {
  const p = new CapsuleParser();
  p.push(hex('00 03 61'));
  assert.equal(p.next(), null);
  assert.equal(p.bufferedBytes, 1);
  p.push(hex('6263 00'));
  assert.equal(toHex(p.next()!.value), '616263');
  assert.equal(p.bufferedBytes, 1);
});
