// Prefixed integers (RFC 7541 §5.1) and string literals (RFC 9204 §4.1.2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writer } from '../../../../src/wire/writer.js';
import {
  QPACK_INT_MAX,
  prefixedIntLen,
  readPrefixedInt,
  writePrefixedInt,
} from '../../../../src/h3/qpack/integer.js';
import { readStringLiteral, writeStringLiteral } from '../../../../src/h3/qpack/string.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const cur = (buf: Uint8Array) => ({ buf, off: 0, end: buf.length });

function enc(prefixBits: number, v: number, flags = 0): string {
  const w = new Writer(4);
  writePrefixedInt(w, flags, prefixBits, v);
  return toHex(w.finish());
}

test('RFC 7541 C.1.1: 10 with a 5-bit prefix', () => {
  assert.equal(enc(5, 10), '0a'); // 01010 fits in the prefix
  assert.equal(readPrefixedInt(cur(hex('0a')), 5), 10);
});

test('RFC 7541 C.1.2: 1337 with a 5-bit prefix', () => {
  // 1f = prefix all ones (31); 9a = 1306 % 128 = 26 | continuation; 0a = 1306 >> 7 = 10
  assert.equal(enc(5, 1337), '1f9a0a');
  const c = cur(hex('1f9a0a'));
  assert.equal(readPrefixedInt(c, 5), 1337);
  assert.equal(c.off, 3);
});

test('RFC 7541 C.1.3: 42 at an octet boundary (8-bit prefix)', () => {
  assert.equal(enc(8, 42), '2a');
});

test('flags above the prefix are kept on write and ignored on read', () => {
  assert.equal(enc(6, 5, 0xc0), 'c5'); // 11 000101
  assert.equal(readPrefixedInt(cur(hex('c5')), 6), 5);
  assert.equal(enc(6, 63, 0xc0), 'ff00'); // exactly 2^6-1 needs a zero continuation
});

test('prefix boundary values and prefixedIntLen agree with the writer', () => {
  for (const bits of [3, 4, 5, 6, 7, 8]) {
    for (const v of [0, (1 << bits) - 2, (1 << bits) - 1, (1 << bits) + 126, (1 << bits) + 127, 2 ** 32, QPACK_INT_MAX]) {
      const w = new Writer(4);
      writePrefixedInt(w, 0, bits, v);
      const b = w.finish();
      assert.equal(b.length, prefixedIntLen(bits, v), `len bits=${bits} v=${v}`);
      assert.equal(readPrefixedInt(cur(b), bits), v, `value bits=${bits} v=${v}`);
    }
  }
});

test('truncated integers return -1 and leave the offset alone', () => {
  for (const s of ['', '1f', '1f9a', '1fff80']) {
    const c = cur(hex(s));
    assert.equal(readPrefixedInt(c, 5), -1, s);
    assert.equal(c.off, 0);
  }
});

test('values above 2^53-1 and over-long encodings are rejected', () => {
  // 2^53 with an 8-bit prefix: 0xff then 2^53 - 255 in 7-bit groups
  const w = new Writer();
  w.u8(0xff);
  let rest = 2 ** 53 - 255;
  while (rest >= 128) {
    w.u8((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  w.u8(rest);
  assert.throws(() => readPrefixedInt(cur(w.finish()), 8), { code: 'ERR_QPACK_INT_OVERFLOW' });
  // 11 continuation bytes encoding 0: non-minimal beyond our octet-length limit
  assert.throws(() => readPrefixedInt(cur(hex('1f' + '80'.repeat(10) + '00')), 5), { code: 'ERR_QPACK_INT_OVERFLOW' });
  // 10 are still accepted
  assert.equal(readPrefixedInt(cur(hex('1f' + '80'.repeat(9) + '00')), 5), 31);
  assert.throws(() => writePrefixedInt(new Writer(), 0, 5, -1), { code: 'ERR_QPACK_INT_OVERFLOW' });
  assert.throws(() => writePrefixedInt(new Writer(), 0, 5, 2 ** 53), { code: 'ERR_QPACK_INT_OVERFLOW' });
});

test('string literal: raw when Huffman is not shorter, Huffman otherwise', () => {
  const w = new Writer();
  writeStringLiteral(w, 0, 7, '?1'); // Huffman would be 2 bytes too → raw
  assert.equal(toHex(w.finish()), '023f31'); // H=0 len 2, '?', '1'
  const w2 = new Writer();
  writeStringLiteral(w2, 0, 7, 'www.example.com');
  // H=1 len 12 (0x8c), then RFC 7541 C.4.1 Huffman bytes
  assert.equal(toHex(w2.finish()), '8cf1e3c2e5f23a6ba0ab90f4ff');
  assert.equal(readStringLiteral(cur(hex('8cf1e3c2e5f23a6ba0ab90f4ff')), 7), 'www.example.com');
});

test('string literal: truncated → null with offset unchanged; limit → error', () => {
  const c = cur(hex('0b2f696e646578')); // claims 11 bytes, has 6
  assert.equal(readStringLiteral(c, 7), null);
  assert.equal(c.off, 0);
  assert.throws(() => readStringLiteral(cur(hex('0b')), 7, 10), { code: 'ERR_QPACK_STRING_TOO_LONG' });
  // 3-bit prefix, H at bit 3 (a literal name): 03 = H=0 len 3; 0b would set H
  assert.equal(readStringLiteral(cur(hex('03616263')), 3), 'abc');
});

test('string literal: all 256 byte values round-trip as latin1', () => {
  const s = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join('');
  const w = new Writer();
  writeStringLiteral(w, 0, 7, s);
  assert.equal(readStringLiteral(cur(w.finish()), 7), s);
});
