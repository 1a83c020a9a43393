// qifs interop corpus (test/fixtures/qifs, see its README.md and FORMAT.md): every qpack-05
// file decodes to exactly its QIF input; the error vectors fail with the right code; our
// encoder's output for every QIF header list decodes back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeQifs, formatQif, parseQif } from '../../../../tools/qifs.js';
import { QpackDecoder } from '../../../../src/h3/qpack/decoder.js';
import { QpackEncoder } from '../../../../src/h3/qpack/encoder.js';
import { QPACK_DECOMPRESSION_FAILED, QPACK_ENCODER_STREAM_ERROR } from '../../../../src/h3/errors.js';

/** test/fixtures/qifs of the repository: walk up from the compiled file to package.json. */
function fixtures(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    assert.notEqual(up, dir, 'package.json not found above the test file');
    dir = up;
  }
  return join(dir, 'test', 'fixtures', 'qifs');
}
const ROOT = fixtures();
const ENCODED = join(ROOT, 'encoded', 'qpack-05');
const qif = (base: string) => parseQif(readFileSync(join(ROOT, 'qifs', `${base}.qif`), 'latin1'));

const IMPLS = readdirSync(ENCODED, { withFileTypes: true })
  .filter((e) => e.isDirectory() && e.name !== 'examples')
  .map((e) => e.name)
  .sort();

test('fixtures cover three implementations and every T/B/A combination', () => {
  assert.deepEqual(IMPLS, ['ls-qpack', 'nghttp3', 'quinn']);
  for (const impl of IMPLS) {
    const combos = new Set(readdirSync(join(ENCODED, impl)).map((f) => f.replace(/^.*\.out\./, '')));
    assert.equal(combos.size, 16, impl);
  }
});

for (const impl of IMPLS) {
  test(`corpus ${impl}: every file decodes to its QIF`, () => {
    const files = readdirSync(join(ENCODED, impl)).sort();
    let n = 0;
    for (const f of files) {
      const m = /^(.+)\.out\.(\d+)\.(\d+)\.(\d+)$/.exec(f);
      assert.ok(m, f);
      const got = decodeQifs(readFileSync(join(ENCODED, impl, f)), Number(m[2]), Number(m[3]));
      // compare as QIF text: one readable diff line on mismatch
      assert.equal(formatQif(got.map((g) => g.fields)), formatQif(qif(m[1])), `${impl}/${f}`);
      n++;
    }
    assert.ok(n >= 40, `${impl}: only ${n} files`);
  });
}

test('corpus examples.out.220.100.1 (RFC 9204 Appendix B)', () => {
  const got = decodeQifs(readFileSync(join(ENCODED, 'examples', 'examples.out.220.100.1')), 220, 100);
  assert.deepEqual(got, [
    { streamId: 4, fields: [[':path', '/index.html']] },
    { streamId: 8, fields: [[':authority', 'www.example.com'], [':path', '/sample/path']] },
    {
      streamId: 12,
      fields: [[':authority', 'www.example.com'], [':path', '/'], ['custom-key', 'custom-value']],
    },
  ]);
});

test('corpus draft-examples.out decodes to draft-examples.qif', () => {
  const got = decodeQifs(readFileSync(join(ENCODED, 'draft-examples.out')), 220, 100);
  assert.deepEqual(got.map((g) => g.fields), qif('draft-examples'));
});

const errFile = (n: number) => readFileSync(join(ROOT, 'encoded', 'errors', `err${n}`));

for (const [T, B] of [[0, 0], [256, 100], [4096, 100]]) {
  test(`error vectors at T=${T} B=${B}`, () => {
    for (const n of [1, 2, 3, 4, 5, 6, 7, 8]) {
      assert.throws(() => decodeQifs(errFile(n), T, B), { h3Code: QPACK_DECOMPRESSION_FAILED, isConnectionError: true }, `err${n}`);
    }
    for (const n of [11, 12]) {
      assert.throws(() => decodeQifs(errFile(n), T, B), { h3Code: QPACK_ENCODER_STREAM_ERROR, isConnectionError: true }, `err${n}`);
    }
    // valid under the RFC 9204 static table
    assert.deepEqual(decodeQifs(errFile(9), T, B), [{ streamId: 1, fields: [[':authority', '']] }]);
    assert.deepEqual(decodeQifs(errFile(10), T, B), [{ streamId: 1, fields: [['x-xss-protection', '1; mode=block']] }]);
  });
}

test('encoder round trip: every QIF header list', () => {
  const enc = new QpackEncoder();
  const dec = new QpackDecoder({ maxTableCapacity: 0, maxBlockedStreams: 0 });
  let lists = 0;
  let raw = 0;
  let encoded = 0;
  for (const f of readdirSync(join(ROOT, 'qifs')).filter((f) => f.endsWith('.qif'))) {
    for (const fields of qif(f.slice(0, -4))) {
      const block = enc.encode(fields);
      assert.deepEqual(dec.decodeFieldSection(4 * lists, block), fields, f);
      lists++;
      raw += fields.reduce((s, [n, v]) => s + n.length + v.length, 0);
      encoded += block.length;
    }
  }
  assert.equal(lists, 18 + 18 + 383 * 4 + 3);
  assert.ok(encoded < raw, `static-only encoding should still compress (${encoded} vs ${raw})`);
  assert.equal(dec.takeDecoderStreamBytes(), null);
});
