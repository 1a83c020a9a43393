// QPACK property tests (STYLE.md §7): decode(encode(x)) ≡ x for every codec, and random
// bytes into each parser give a value or an H3Error (MasqueError for the bare codecs),
// never anything else. Each property runs under a time budget, like undici's fuzzing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Writer } from '../../src/wire/writer.js';
import { isMasqueError } from '../../src/core/errors.js';
import { H3Error } from '../../src/h3/errors.js';
import { QPACK_INT_MAX, readPrefixedInt, writePrefixedInt } from '../../src/h3/qpack/integer.js';
import { readStringLiteral, writeStringLiteral } from '../../src/h3/qpack/string.js';
import { huffmanDecode, huffmanEncode } from '../../src/h3/qpack/huffman.js';
import {
  type DecoderInstruction,
  type EncoderInstruction,
  encodeDecoderInstruction,
  encodeEncoderInstruction,
  parseDecoderInstruction,
  parseEncoderInstruction,
} from '../../src/h3/qpack/instructions.js';
import { STATIC_TABLE } from '../../src/h3/qpack/static-table.js';
import { QpackDecoder } from '../../src/h3/qpack/decoder.js';
import { QpackEncoder } from '../../src/h3/qpack/encoder.js';
import type { FieldLine } from '../../src/h3/qpack/types.js';

const BUDGET = { numRuns: 1_000_000, interruptAfterTimeLimit: 400 };
const FUZZ_BUDGET = { numRuns: 1_000_000, interruptAfterTimeLimit: 750 };

const latin1 = (maxLength = 64) =>
  fc.uint8Array({ maxLength }).map((b) => Buffer.from(b).toString('latin1'));
const cursor = (buf: Uint8Array) => ({ buf, off: 0, end: buf.length });

/** Runs fn; passes if it returns or throws an error accepted by `isOk`. */
function valueOrError(fn: () => unknown, isOk: (e: unknown) => boolean): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    if (isOk(e)) return true;
    throw e;
  }
}

test('prefixed integers round-trip', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: QPACK_INT_MAX }), (bits, v) => {
      const w = new Writer(4);
      writePrefixedInt(w, 0, bits, v);
      const c = cursor(w.finish());
      assert.equal(readPrefixedInt(c, bits), v);
      assert.equal(c.off, c.end);
    }),
    BUDGET,
  );
});

test('Huffman round-trips any latin1 string', () => {
  fc.assert(
    fc.property(latin1(200), (s) => {
      const w = new Writer();
      huffmanEncode(w, s);
      assert.equal(huffmanDecode(w.finish()), s);
    }),
    BUDGET,
  );
});

test('string literals round-trip with any prefix size', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 7 }), latin1(200), (bits, s) => {
      const w = new Writer();
      writeStringLiteral(w, 0, bits, s);
      const c = cursor(w.finish());
      assert.equal(readStringLiteral(c, bits), s);
      assert.equal(c.off, c.end);
    }),
    BUDGET,
  );
});

const encoderInstruction: fc.Arbitrary<EncoderInstruction> = fc.oneof(
  fc.record({ type: fc.constant('set-capacity' as const), capacity: fc.nat() }),
  fc.record({
    type: fc.constant('insert-name-ref' as const),
    isStatic: fc.boolean(),
    index: fc.nat({ max: 98 }),
    value: latin1(),
  }),
  fc.record({ type: fc.constant('insert-literal-name' as const), name: latin1(), value: latin1() }),
  fc.record({ type: fc.constant('duplicate' as const), index: fc.nat() }),
).map((r) => ({ ...r })); // fc.record objects have a null prototype; deepEqual checks it

test('encoder-stream instructions round-trip, also when cut short', () => {
  fc.assert(
    fc.property(fc.array(encoderInstruction, { maxLength: 8 }), (list) => {
      const w = new Writer();
      for (const ins of list) encodeEncoderInstruction(w, ins);
      const bytes = w.finish();
      const c = cursor(bytes);
      const got: EncoderInstruction[] = [];
      for (let ins; (ins = parseEncoderInstruction(c, Infinity)) !== null; ) got.push(ins);
      assert.deepEqual(got, list);
      // any strict prefix parses to fewer instructions and stops cleanly (null)
      if (bytes.length > 0) {
        const cut = cursor(bytes.subarray(0, bytes.length - 1));
        let n = 0;
        while (parseEncoderInstruction(cut, Infinity) !== null) n++;
        assert.ok(n < list.length);
      }
    }),
    BUDGET,
  );
});

const decoderInstruction: fc.Arbitrary<DecoderInstruction> = fc.oneof(
  fc.record({ type: fc.constant('section-ack' as const), streamId: fc.nat() }),
  fc.record({ type: fc.constant('stream-cancel' as const), streamId: fc.nat() }),
  fc.record({ type: fc.constant('insert-count-increment' as const), increment: fc.nat() }),
).map((r) => ({ ...r }));

test('decoder-stream instructions round-trip', () => {
  fc.assert(
    fc.property(fc.array(decoderInstruction, { maxLength: 8 }), (list) => {
      const w = new Writer();
      for (const ins of list) encodeDecoderInstruction(w, ins);
      const c = cursor(w.finish());
      const got: DecoderInstruction[] = [];
      for (let ins; (ins = parseDecoderInstruction(c)) !== null; ) got.push(ins);
      assert.deepEqual(got, list);
    }),
    BUDGET,
  );
});

// Field lines: static exact matches, static names with other values, and free names.
const fieldLine: fc.Arbitrary<FieldLine> = fc.oneof(
  fc.constantFrom(...STATIC_TABLE).map(([n, v]): FieldLine => [n, v]),
  fc.tuple(fc.constantFrom(...STATIC_TABLE.map(([n]) => n)), latin1()),
  fc.tuple(latin1(32), latin1()),
);

test('field sections: decode(encode(x)) = x', () => {
  const enc = new QpackEncoder();
  const dec = new QpackDecoder({ maxTableCapacity: 0, maxBlockedStreams: 0 });
  fc.assert(
    fc.property(fc.array(fieldLine, { maxLength: 20 }), (fields) => {
      assert.deepEqual(dec.decodeFieldSection(0, enc.encode(fields)), fields);
    }),
    BUDGET,
  );
});

const isH3 = (e: unknown) => e instanceof H3Error;

test('fuzz: random encoder-stream chunks → ok or H3Error', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 6 }), (chunks) => {
      const d = new QpackDecoder({ maxTableCapacity: 256, maxBlockedStreams: 4 });
      d.presetCapacity(256);
      return valueOrError(() => {
        for (const ch of chunks) {
          d.feedEncoderStream(ch);
          d.takeUnblocked();
          d.takeDecoderStreamBytes();
        }
      }, isH3);
    }),
    FUZZ_BUDGET,
  );
});

/** A decoder with a few dynamic entries, so random references sometimes resolve. */
function populated(): QpackDecoder {
  const d = new QpackDecoder({ maxTableCapacity: 256, maxBlockedStreams: 2, maxFieldSectionSize: 400 });
  d.presetCapacity(256);
  const w = new Writer();
  encodeEncoderInstruction(w, { type: 'insert-name-ref', isStatic: true, index: 0, value: 'a.example' });
  encodeEncoderInstruction(w, { type: 'insert-literal-name', name: 'x-k', value: 'v' });
  encodeEncoderInstruction(w, { type: 'duplicate', index: 1 });
  d.feedEncoderStream(w.finish());
  return d;
}

test('fuzz: random field sections → fields, null or H3Error', () => {
  // Three shapes: fully random; a valid static prefix; a prefix with RIC 1–3 (MaxEntries 8)
  const block = fc.oneof(
    fc.uint8Array({ maxLength: 48 }),
    fc.uint8Array({ maxLength: 48 }).map((b) => Uint8Array.of(0, 0, ...b)),
    fc
      .tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 48 }))
      .map(([ric, base, b]) => Uint8Array.of(ric, base, ...b)),
  );
  fc.assert(
    fc.property(fc.array(block, { minLength: 1, maxLength: 4 }), (blocks) => {
      const d = populated();
      return valueOrError(() => {
        blocks.forEach((b, i) => {
          const r = d.decodeFieldSection(4 * i, b);
          assert.ok(r === null || Array.isArray(r));
        });
        d.feedEncoderStream(Uint8Array.of(0x00)); // duplicate: may unblock or fail
        d.takeUnblocked();
        d.takeDecoderStreamBytes();
      }, isH3);
    }),
    FUZZ_BUDGET,
  );
});

test('fuzz: random decoder-stream bytes into the encoder → ok or H3Error', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 24 }), { maxLength: 4 }), (chunks) => {
      const e = new QpackEncoder();
      return valueOrError(() => chunks.forEach((ch) => e.feedDecoderStream(ch)), isH3);
    }),
    FUZZ_BUDGET,
  );
});

test('fuzz: bare codecs on random bytes → value, null or MasqueError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 32 }), fc.integer({ min: 1, max: 7 }), (b, bits) =>
      valueOrError(() => {
        huffmanDecode(b);
        readStringLiteral(cursor(b), bits, 64);
        readPrefixedInt(cursor(b), bits);
      }, isMasqueError),
    ),
    FUZZ_BUDGET,
  );
});
