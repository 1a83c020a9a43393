// Property tests for the HTTP/3 codecs and parsers (STYLE.md §7).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Writer } from '../../src/wire/writer.js';
import { isMasqueError } from '../../src/core/errors.js';
import { encodeFrame, parseFramePayload, frameTypeOf, type H3Frame, isHttp2OnlyFrameType } from '../../src/h3/frame.js';
import { parseSettingsPayload, encodeSettingsPayload, type SettingsEntry } from '../../src/h3/settings.js';
import { StreamParser } from '../../src/h3/stream.js';
import { H3Conn } from '../../src/h3/conn.js';
import { validateRequest, validateResponse } from '../../src/h3/message.js';
import { FakeQuic } from '../helpers/h3-pipe.js';

const RUNS = { numRuns: 300 };
const varint = fc.integer({ min: 0, max: 2 ** 30 });
const bytes = fc.uint8Array({ maxLength: 64 });

const settingsArb = fc.uniqueArray(
  fc.tuple(fc.integer({ min: 0, max: 2 ** 20 }).filter((id) => !(id >= 2 && id <= 5)), varint),
  { selector: ([id]) => id, maxLength: 8 },
).map((es) => es.map(([id, v]): SettingsEntry => [id, id === 0x08 || id === 0x33 ? v % 2 : v]));

const frameArb: fc.Arbitrary<H3Frame> = fc.oneof(
  bytes.map((block): H3Frame => ({ type: 'headers', block })),
  settingsArb.map((settings): H3Frame => ({ type: 'settings', settings })),
  varint.map((id): H3Frame => ({ type: 'goaway', id })),
  varint.map((pushId): H3Frame => ({ type: 'cancel_push', pushId })),
  varint.map((pushId): H3Frame => ({ type: 'max_push_id', pushId })),
  fc.tuple(varint, bytes).map(([pushId, block]): H3Frame => ({ type: 'push_promise', pushId, block })),
  fc.tuple(fc.integer({ min: 0x0e, max: 2 ** 30 }), bytes).map(([frameType, payload]): H3Frame => ({ type: 'unknown', frameType, payload })),
);

test('decode(encode(frame)) = frame', () => {
  fc.assert(fc.property(frameArb, (f) => {
    const w = new Writer();
    encodeFrame(w, f);
    const b = w.finish();
    // Split header/payload by hand (the framing is stream.ts's job; tested below).
    const t = frameTypeOf(f);
    const hdr = new Writer();
    hdr.varint(t);
    const rest = b.subarray(hdr.length);
    const lenW = rest[0] >> 6;
    const lenBytes = 1 << lenW;
    const payload = rest.subarray(lenBytes);
    assert.deepEqual(parseFramePayload(t, payload), f);
  }), RUNS);
});

test('decode(encode(settings)) = settings', () => {
  fc.assert(fc.property(settingsArb, (es) => {
    const w = new Writer();
    encodeSettingsPayload(w, es);
    assert.deepEqual(parseSettingsPayload(w.finish()), es);
  }), RUNS);
});

test('request-stream parser: any chunking yields the same DATA bytes and HEADERS blocks', () => {
  const reqFrame = fc.oneof(
    bytes.map((block): H3Frame | { data: Uint8Array } => ({ type: 'headers', block })),
    bytes.map((data) => ({ data })),
    fc.tuple(fc.integer({ min: 0x21, max: 0x400 }).filter((t) => !isHttp2OnlyFrameType(t)), bytes)
      .map(([frameType, payload]): H3Frame => ({ type: 'unknown', frameType, payload })),
  );
  fc.assert(fc.property(fc.array(reqFrame, { maxLength: 8 }), fc.integer({ min: 1, max: 17 }), (frames, step) => {
    const w = new Writer();
    let want = '';
    for (const f of frames) {
      if ('data' in f) { w.varint(0).varint(f.data.length).bytes(f.data); want += `D${Buffer.from(f.data).toString('hex')}`; } else {
        encodeFrame(w, f);
        if (f.type === 'headers') want += `H${Buffer.from(f.block).toString('hex')}|`;
      }
    }
    const all = w.finish();
    const p = new StreamParser({ kind: 'request', isServer: true, maxHeadersBytes: 1 << 20 });
    let got = '';
    for (let i = 0; i < all.length; i += step) {
      p.feed(all.subarray(i, i + step));
      for (let it = p.next(); it; it = p.next()) {
        if (it.kind === 'data') got += `D${Buffer.from(it.bytes).toString('hex')}`;
        else if (it.kind === 'frame' && it.frame.type === 'headers') got += `H${Buffer.from(it.frame.block).toString('hex')}|`;
      }
    }
    p.finish();
    // Adjacent DATA pieces concatenate; compare with DATA markers collapsed.
    const norm = (s: string) => s.replace(/D/g, '');
    assert.equal(norm(got), norm(want));
  }), RUNS);
});

/** Random bytes must give a value or a typed (Masque) error, nothing else. */
function valueOrTyped(fn: () => unknown): void {
  try { fn(); } catch (e) { assert.ok(isMasqueError(e), `untyped error: ${String(e)}`); }
}

test('random bytes into every parser: a value or a typed error', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 0x40 }), fc.uint8Array({ maxLength: 80 }), (t, b) => {
    valueOrTyped(() => parseFramePayload(t, b));
    valueOrTyped(() => parseSettingsPayload(b));
    for (const kind of ['uni', 'request'] as const) {
      valueOrTyped(() => {
        const p = new StreamParser({ kind, isServer: t % 2 === 0, maxHeadersBytes: 64 });
        p.feed(b);
        while (p.next()) { /* drain */ }
        p.finish();
      });
    }
  }), RUNS);
});

test('random bytes into H3Conn (streams and datagrams): never throws; closes with an RFC code', () => {
  fc.assert(fc.property(fc.boolean(), fc.array(fc.tuple(fc.constantFrom(0, 2, 3, 4, 6, 7), fc.uint8Array({ maxLength: 40 }), fc.boolean()), { maxLength: 6 }),
    fc.array(fc.uint8Array({ maxLength: 12 }), { maxLength: 3 }), (isServer, chunks, dgrams) => {
      const [c, s] = FakeQuic.pair();
      const q = isServer ? s : c;
      const h3 = new H3Conn(q, { isServer, settings: { h3Datagram: true } });
      h3.start();
      for (const [id, b, fin] of chunks) h3.feedStream(id, b, fin);
      for (const d of dgrams) h3.routeDatagram(d);
      for (let e = h3.poll(); e; e = h3.poll()) { /* drain */ }
      if (q.closeInfo) {
        const code = q.closeInfo.code;
        assert.ok((code >= 0x100 && code <= 0x110) || (code >= 0x200 && code <= 0x202) || code === 0x33, `code 0x${code.toString(16)}`);
        assert.notEqual(code, 0x102, 'no internal errors from peer input');
      }
    }), RUNS);
});

test('random field lists into message validation: a head or H3_MESSAGE_ERROR', () => {
  const name = fc.constantFrom(':method', ':scheme', ':path', ':authority', ':protocol', ':status', 'host', 'te', 'Foo', 'content-length', 'x');
  const value = fc.constantFrom('GET', 'CONNECT', 'https', '/', '', 'x', '200', 'trailers', '12');
  fc.assert(fc.property(fc.array(fc.tuple(name, value), { maxLength: 7 }), fc.boolean(), (fields, enabled) => {
    for (const fn of [() => validateRequest(fields, enabled), () => validateResponse(fields)]) {
      try { fn(); } catch (e) { assert.ok(isMasqueError(e) && e.code === 'ERR_H3_MESSAGE_ERROR', String(e)); }
    }
  }), RUNS);
});
