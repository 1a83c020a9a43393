import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readVarintAt, varintLen, writeVarint, varintLenFromFirstByte } from '../../../src/wire/varint.js';
import { Reader } from '../../../src/wire/reader.js';
import { Writer } from '../../../src/wire/writer.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

test('RFC 9000 Appendix A.1 published varints decode', () => {
  assert.equal(readVarintAt(hex('c2197c5eff14e88c'), 0), 151288809941952652);
  assert.equal(readVarintAt(hex('9d7f3e7d'), 0), 494878333);
  assert.equal(readVarintAt(hex('7bbd'), 0), 15293);
  assert.equal(readVarintAt(hex('25'), 0), 37);
  assert.equal(readVarintAt(hex('4025'), 0), 37, 'non-minimal encoding is legal to receive');
});

test('minimal encodings at the length boundaries (WIRE-VECTORS §1)', () => {
  const cases: [number, string][] = [
    [0, '00'], [63, '3f'], [64, '4040'], [16383, '7fff'], [16384, '80004000'],
    [1073741823, 'bfffffff'], [1073741824, 'c000000040000000'],
  ];
  for (const [v, h] of cases) {
    const w = new Writer();
    w.varint(v);
    assert.equal(Buffer.from(w.finish()).toString('hex'), h, `encode ${v}`);
    assert.equal(new Reader(hex(h)).varint(), v, `decode ${h}`);
  }
});

test('2^62 and negatives cannot be encoded', () => {
  assert.throws(() => varintLen(2 ** 62), { code: 'ERR_WIRE_VARINT_RANGE' });
  assert.throws(() => varintLen(-1), { code: 'ERR_WIRE_VARINT_RANGE' });
});

test('truncated input: -1 from readVarintAt, ERR_WIRE_TRUNCATED from Reader', () => {
  assert.equal(readVarintAt(hex('80 00 40'), 0), -1);
  assert.equal(readVarintAt(new Uint8Array(0), 0), -1);
  assert.throws(() => new Reader(hex('c0 00')).varint(), { code: 'ERR_WIRE_TRUNCATED' });
  assert.throws(() => new Reader(hex('01')).bytes(2), { code: 'ERR_WIRE_TRUNCATED' });
});

test('writeVarint returns the length written and length helpers agree', () => {
  const buf = new Uint8Array(8);
  for (const v of [5, 300, 70000, 2 ** 40]) {
    const n = writeVarint(buf, 0, v);
    assert.equal(n, varintLen(v));
    assert.equal(varintLenFromFirstByte(buf[0]), n);
    assert.equal(readVarintAt(buf, 0), v);
  }
});
