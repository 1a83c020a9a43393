// HPACK Huffman code (RFC 7541 Appendix B) against the RFC 7541 Appendix C vectors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writer } from '../../../../src/wire/writer.js';
import {
  HUFFMAN_EOS,
  huffmanCode,
  huffmanDecode,
  huffmanEncode,
  huffmanEncodedLength,
} from '../../../../src/h3/qpack/huffman.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// [plain text, Huffman bytes] from RFC 7541 C.4 (requests) and C.6 (responses).
const VECTORS: Array<[string, string]> = [
  ['www.example.com', 'f1e3 c2e5 f23a 6ba0 ab90 f4ff'], // C.4.1 :authority
  ['no-cache', 'a8eb 1064 9cbf'], // C.4.2 cache-control
  ['custom-key', '25a8 49e9 5ba9 7d7f'], // C.4.3 name
  ['custom-value', '25a8 49e9 5bb8 e8b4 bf'], // C.4.3 value
  ['302', '6402'], // C.6.1 :status
  ['private', 'aec3 771a 4b'], // C.6.1 cache-control
  ['Mon, 21 Oct 2013 20:13:21 GMT', 'd07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff'], // C.6.1 date
  ['https://www.example.com', '9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3'], // C.6.1 location
  ['307', '640e ff'], // C.6.2 :status
  ['Mon, 21 Oct 2013 20:13:22 GMT', 'd07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff'], // C.6.3 date
  ['gzip', '9bd9 ab'], // C.6.3 content-encoding
  [
    'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1',
    '94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
  ], // C.6.3 set-cookie
  ['127.0.0.1:4433', '089d 5c0b 8170 dc69 a659'], // WIRE-VECTORS §4 GET: after '50 8a' (libnghttp3)
];

for (const [plain, coded] of VECTORS) {
  test(`RFC 7541 Appendix C: ${JSON.stringify(plain)}`, () => {
    const w = new Writer();
    huffmanEncode(w, plain);
    assert.equal(toHex(w.finish()), coded.replace(/\s+/g, ''));
    assert.equal(huffmanEncodedLength(plain), hex(coded).length);
    assert.equal(huffmanDecode(hex(coded)), plain);
  });
}

test('code table spot checks (RFC 7541 Appendix B)', () => {
  assert.deepEqual(huffmanCode(0x30), { code: 0x0, bits: 5 }); // '0' 00000
  assert.deepEqual(huffmanCode(0x61), { code: 0x3, bits: 5 }); // 'a' 00011
  assert.deepEqual(huffmanCode(0x20), { code: 0x14, bits: 6 }); // ' ' 010100
  assert.deepEqual(huffmanCode(0), { code: 0x1ff8, bits: 13 });
  assert.deepEqual(huffmanCode(HUFFMAN_EOS), { code: 0x3fffffff, bits: 30 });
});

test('empty input decodes to the empty string', () => {
  assert.equal(huffmanDecode(new Uint8Array(0)), '');
});

test('rejects the EOS symbol inside the data', () => {
  // 30 one-bits = EOS, then 2 one-bits of padding: ff ff ff ff
  assert.throws(() => huffmanDecode(hex('ffffffff')), { code: 'ERR_QPACK_HUFFMAN' });
});

test('rejects padding longer than 7 bits', () => {
  // 'a' = 00011, then 11 one-bits: 00011111 11111111
  assert.throws(() => huffmanDecode(hex('1fff')), { code: 'ERR_QPACK_HUFFMAN' });
  // a whole byte of ones alone is 8 bits of padding
  assert.throws(() => huffmanDecode(hex('ff')), { code: 'ERR_QPACK_HUFFMAN' });
});

test('rejects padding that is not a prefix of EOS', () => {
  // 'a' = 00011 then 000: the 3 padding bits would start '0' (00000) — not ones
  assert.throws(() => huffmanDecode(hex('18')), { code: 'ERR_QPACK_HUFFMAN' });
  // 'a' then 110
  assert.throws(() => huffmanDecode(hex('1e')), { code: 'ERR_QPACK_HUFFMAN' });
  // valid: 'a' then 111
  assert.equal(huffmanDecode(hex('1f')), 'a');
});

test('every byte value round-trips', () => {
  for (let b = 0; b < 256; b++) {
    const s = String.fromCharCode(b, b, b);
    const w = new Writer();
    huffmanEncode(w, s);
    assert.equal(huffmanDecode(w.finish()), s, `byte ${b}`);
  }
});
