import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writer } from '../../../src/wire/writer.js';
import {
  encodeFrame, parseFramePayload, isGreaseCodepoint, greaseCodepoint, isHttp2OnlyFrameType, H3_FRAME_GOAWAY,
} from '../../../src/h3/frame.js';
import {
  parseSettingsPayload, settingsFromEntries, settingsToEntries, DEFAULT_SETTINGS,
} from '../../../src/h3/settings.js';
import { StreamParser, type StreamItem } from '../../../src/h3/stream.js';
import { H3Error } from '../../../src/h3/errors.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function parseAll(bytes: Uint8Array, kind: 'uni' | 'request' = 'uni', step = bytes.length): StreamItem[] {
  const p = new StreamParser({ kind, isServer: true, maxHeadersBytes: 1 << 16 });
  const out: StreamItem[] = [];
  for (let i = 0; i < bytes.length; i += step) {
    p.feed(bytes.subarray(i, i + step));
    for (let it = p.next(); it; it = p.next()) out.push(it);
  }
  return out;
}

function codeOf(fn: () => unknown): string {
  try { fn(); } catch (e) { assert.ok(e instanceof H3Error, `not an H3Error: ${String(e)}`); return e.code; }
  assert.fail('did not throw');
}

test('WIRE-VECTORS §3: control stream announcing extended CONNECT and datagrams', () => {
  const w = new Writer();
  w.varint(0x00); // stream type: control
  encodeFrame(w, { type: 'settings', settings: settingsToEntries({ ...DEFAULT_SETTINGS, enableConnectProtocol: true, h3Datagram: true }) });
  assert.equal(toHex(w.finish()), '00040408013301');
});

test('WIRE-VECTORS §3: observed ngtcp2 control stream (8-byte and 2-byte varints)', () => {
  const items = parseAll(hex('00 04 0f 06 ffffffffffffffff 01 5000 07 4064'), 'uni', 1);
  assert.deepEqual(items[0], { kind: 'streamType', streamType: 0 });
  const f = items[1];
  assert.ok(f.kind === 'frame' && f.frame.type === 'settings');
  const s = settingsFromEntries(f.frame.settings);
  assert.equal(s.maxFieldSectionSize, Infinity, '2^62-1 clamps to unlimited');
  assert.equal(s.qpackMaxTableCapacity, 4096);
  assert.equal(s.qpackBlockedStreams, 100);
});

test('WIRE-VECTORS §3: quic-go SETTINGS with a pre-RFC datagram id (ignored as unknown)', () => {
  const items = parseAll(hex('00 04 09 80ffd277 01 08 01 33 01'));
  const f = items[1];
  assert.ok(f.kind === 'frame' && f.frame.type === 'settings');
  const s = settingsFromEntries(f.frame.settings);
  assert.equal(s.enableConnectProtocol, true);
  assert.equal(s.h3Datagram, true);
});

test('SETTINGS errors (RFC 9114 §7.2.4.1, RFC 9220 §3, RFC 9297 §2.1.1)', () => {
  for (const id of [2, 3, 4, 5]) assert.equal(codeOf(() => parseSettingsPayload(Uint8Array.of(id, 0))), 'ERR_H3_SETTINGS_ERROR');
  assert.equal(codeOf(() => parseSettingsPayload(hex('3302'))), 'ERR_H3_SETTINGS_ERROR', 'H3_DATAGRAM=2');
  assert.equal(codeOf(() => parseSettingsPayload(hex('0802'))), 'ERR_H3_SETTINGS_ERROR', 'ENABLE_CONNECT_PROTOCOL=2');
  assert.equal(codeOf(() => parseSettingsPayload(hex('0101 0102'))), 'ERR_H3_SETTINGS_ERROR', 'duplicate');
  assert.equal(codeOf(() => parseSettingsPayload(hex('01'))), 'ERR_H3_FRAME_ERROR', 'cut entry');
  // Grease and 0x00 are ignored.
  assert.deepEqual(settingsFromEntries(parseSettingsPayload(hex('21 05 00 00'))), DEFAULT_SETTINGS);
});

test('grease codepoints 0x1f*N+0x21', () => {
  assert.equal(greaseCodepoint(0), 0x21);
  assert.equal(greaseCodepoint(1), 0x40);
  assert.ok(isGreaseCodepoint(0x21) && isGreaseCodepoint(0x40) && !isGreaseCodepoint(0x33));
  assert.ok([2, 6, 8, 9].every(isHttp2OnlyFrameType) && !isHttp2OnlyFrameType(7));
});

test('GOAWAY / CANCEL_PUSH / MAX_PUSH_ID bytes', () => {
  const w = new Writer();
  encodeFrame(w, { type: 'goaway', id: 4 });
  encodeFrame(w, { type: 'max_push_id', pushId: 64 });
  encodeFrame(w, { type: 'cancel_push', pushId: 1 });
  assert.equal(toHex(w.finish()), '070104' + '0d024040' + '030101');
  assert.deepEqual(parseFramePayload(H3_FRAME_GOAWAY, hex('4004')), { type: 'goaway', id: 4 }, 'non-minimal id');
  assert.equal(codeOf(() => parseFramePayload(H3_FRAME_GOAWAY, hex('0400'))), 'ERR_H3_FRAME_ERROR', 'trailing byte');
  assert.equal(codeOf(() => parseFramePayload(H3_FRAME_GOAWAY, hex(''))), 'ERR_H3_FRAME_ERROR', 'empty');
});

test('request stream: HEADERS, DATA streamed, unknown/grease frames skipped, byte by byte', () => {
  // HEADERS(2 bytes) | grease 0x21 len 3 | DATA "hello" | unknown 0x1234 len 0
  const bytes = hex('01 02 0000  21 03 aabbcc  00 05 68656c6c6f  5234 00');
  const items = parseAll(bytes, 'request', 1);
  assert.equal(items[0].kind, 'frame');
  const data = items.filter((i) => i.kind === 'data').map((i) => (i.kind === 'data' ? toHex(i.bytes) : '')).join('');
  assert.equal(data, '68656c6c6f');
  assert.equal(items.length, 6, 'one HEADERS + five 1-byte DATA pieces');
});

test('parser placement errors', () => {
  const req = (h: string) => () => parseAll(hex(h), 'request');
  const ctl = (h: string) => () => parseAll(hex(h), 'uni');
  for (const t of ['02', '06', '08', '09']) {
    assert.equal(codeOf(req(`${t} 00`)), 'ERR_H3_FRAME_UNEXPECTED', `HTTP/2 frame ${t} on request stream`);
    assert.equal(codeOf(ctl(`00 0400 ${t} 00`)), 'ERR_H3_FRAME_UNEXPECTED', `HTTP/2 frame ${t} on control stream`);
  }
  assert.equal(codeOf(ctl('00 07 01 00')), 'ERR_H3_MISSING_SETTINGS');
  assert.equal(codeOf(ctl('00 0400 0400')), 'ERR_H3_FRAME_UNEXPECTED', 'second SETTINGS');
  assert.equal(codeOf(ctl('00 0400 00 00')), 'ERR_H3_FRAME_UNEXPECTED', 'DATA on control');
  assert.equal(codeOf(ctl('00 0400 01 00')), 'ERR_H3_FRAME_UNEXPECTED', 'HEADERS on control');
  assert.equal(codeOf(req('04 00')), 'ERR_H3_FRAME_UNEXPECTED', 'SETTINGS on request');
  assert.equal(codeOf(req('07 01 00')), 'ERR_H3_FRAME_UNEXPECTED', 'GOAWAY on request');
  assert.equal(codeOf(req('05 01 00')), 'ERR_H3_FRAME_UNEXPECTED', 'PUSH_PROMISE to a server');
});

test('a frame cut by FIN is H3_FRAME_ERROR (RFC 9114 §7.1)', () => {
  for (const h of ['00 05 6869', '01', '01 03 00', '21 05 00']) {
    const p = new StreamParser({ kind: 'request', isServer: true, maxHeadersBytes: 100 });
    p.feed(hex(h));
    while (p.next()) { /* drain */ }
    assert.equal(codeOf(() => p.finish()), 'ERR_H3_FRAME_ERROR', h);
  }
  const ok = new StreamParser({ kind: 'request', isServer: true, maxHeadersBytes: 100 });
  ok.feed(hex('00 02 6869'));
  while (ok.next()) { /* drain */ }
  ok.finish();
});

test('oversized HEADERS is a stream error H3_EXCESSIVE_LOAD', () => {
  const p = new StreamParser({ kind: 'request', isServer: true, maxHeadersBytes: 10 });
  p.feed(hex('01 0b'));
  try { p.next(); assert.fail(); } catch (e) {
    assert.ok(e instanceof H3Error);
    assert.equal(e.code, 'ERR_H3_EXCESSIVE_LOAD');
    assert.equal(e.isConnectionError, false);
  }
});
