/**
 * Property tests for the MASQUE codecs (STYLE.md §7): decode(encode(x)) ≡ x; random bytes into
 * every parser give a value or a MasqueError, nothing else; template expand → match round trip.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isMasqueError } from '../../src/core/errors.js';
import { Writer } from '../../src/wire/writer.js';
import { CapsuleParser, encodeCapsule } from '../../src/h3/capsule.js';
import {
  encodeAddressAssign, encodeAddressRequest, encodeRouteAdvertisement, parseAddressAssign, parseAddressRequest,
  parseRouteAdvertisement, type AddressEntry, type IpAddressRange,
} from '../../src/masque/connect-ip-capsules.js';
import { parseContextPayload, parseH3Datagram, writeDatagramHeader } from '../../src/h3/datagram.js';
import { compareIpBytes, formatIpPrefix, maskBytes, parseIpPrefix, type IpPrefix } from '../../src/masque/ip-prefix.js';
import { parseCapsuleProtocol, parseProxyRequest } from '../../src/masque/proxy-request.js';
import {
  defaultIpTemplate, defaultUdpTemplate, expandTemplatePath, matchTemplatePath, parseUriTemplate,
} from '../../src/masque/template.js';
import type { FieldLine } from '../../src/h3/qpack/types.js';

const RUNS = { numRuns: 300 };
const varint = fc.oneof(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 0, max: 2 ** 30 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));

const prefixArb: fc.Arbitrary<IpPrefix> = fc.oneof(
  fc.tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 32 }))
    .map(([b, l]) => ({ version: 4 as const, bytes: maskBytes(b, l), prefixLen: l })),
  fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 }))
    .map(([b, l]) => ({ version: 6 as const, bytes: maskBytes(b, l), prefixLen: l })),
);
const entryArb = (minId: number): fc.Arbitrary<AddressEntry> =>
  fc.record({ requestId: fc.oneof(fc.integer({ min: minId, max: 1000 }), fc.integer({ min: Math.max(minId, 1), max: 2 ** 53 - 1 })), prefix: prefixArb });

/** Parsers must return or throw a MasqueError — never a TypeError/RangeError. */
const onlyMasqueErrors = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    if (!isMasqueError(e)) throw e;
  }
};

const roundTripCapsule = (bytes: Uint8Array) => {
  const cs = new CapsuleParser().feed(bytes);
  assert.equal(cs.length, 1);
  return cs[0].value;
};

test('capsules: decode(encode(x)) = x, in any chunking', () => {
  fc.assert(fc.property(
    fc.array(fc.record({ type: varint, value: fc.uint8Array({ maxLength: 300 }) }), { maxLength: 8 }),
    fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 10 }),
    (caps, cuts) => {
      const w = new Writer();
      for (const c of caps) encodeCapsule(w, c.type, c.value);
      const bytes = w.finish();
      const p = new CapsuleParser();
      const got = [];
      for (let off = 0, i = 0; off < bytes.length; i++) {
        const n = cuts[i % cuts.length];
        got.push(...p.feed(bytes.subarray(off, off + n)));
        off += n;
      }
      p.finish();
      assert.deepEqual(got.map((c) => [c.type, [...c.value]]), caps.map((c) => [c.type, [...c.value]]));
    }), RUNS);
});

test('ADDRESS_ASSIGN / ADDRESS_REQUEST: decode(encode(x)) = x', () => {
  const show = (es: AddressEntry[]) => es.map((e) => [e.requestId, formatIpPrefix(e.prefix)]);
  fc.assert(fc.property(fc.array(entryArb(0), { maxLength: 6 }), (es) => {
    const w = new Writer();
    encodeAddressAssign(w, es);
    assert.deepEqual(show(parseAddressAssign(roundTripCapsule(w.finish()))), show(es));
  }), RUNS);
  fc.assert(fc.property(fc.array(entryArb(1), { minLength: 1, maxLength: 6 }), (es) => {
    const w = new Writer();
    encodeAddressRequest(w, es);
    assert.deepEqual(show(parseAddressRequest(roundTripCapsule(w.finish()))), show(es));
  }), RUNS);
});

test('ROUTE_ADVERTISEMENT: decode(encode(x)) = x for sorted, disjoint ranges', () => {
  const rangeArb = fc.record({
    version: fc.constantFrom(4 as const, 6 as const),
    a: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    b: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    ipProtocol: fc.constantFrom(0, 6, 17),
  }).map(({ version, a, b, ipProtocol }) => {
    const n = version === 4 ? 4 : 16;
    const [s, e] = compareIpBytes(a.subarray(0, n), b.subarray(0, n)) <= 0 ? [a, b] : [b, a];
    return { version, start: Uint8Array.from(s.subarray(0, n)), end: Uint8Array.from(e.subarray(0, n)), ipProtocol };
  });
  fc.assert(fc.property(fc.array(rangeArb, { maxLength: 6 }), (raw) => {
    // Keep a valid set: sort by version, protocol, start; drop ranges overlapping their predecessor.
    const sorted = [...raw].sort((x, y) => x.version - y.version || x.ipProtocol - y.ipProtocol || compareIpBytes(x.start, y.start));
    const ranges: IpAddressRange[] = [];
    for (const r of sorted) {
      const prev = ranges[ranges.length - 1];
      if (prev && prev.version === r.version && prev.ipProtocol === r.ipProtocol && compareIpBytes(prev.end, r.start) >= 0) continue;
      ranges.push(r);
    }
    const w = new Writer();
    encodeRouteAdvertisement(w, ranges);
    const got = parseRouteAdvertisement(roundTripCapsule(w.finish()));
    assert.deepEqual(got.map((r) => [r.version, [...r.start], [...r.end], r.ipProtocol]),
      ranges.map((r) => [r.version, [...r.start], [...r.end], r.ipProtocol]));
  }), RUNS);
});

test('IP prefixes: parse(format(p)) = p', () => {
  fc.assert(fc.property(prefixArb, (p) => {
    const q = parseIpPrefix(formatIpPrefix(p));
    assert.ok(q);
    assert.deepEqual([q.version, [...q.bytes], q.prefixLen], [p.version, [...p.bytes], p.prefixLen]);
  }), RUNS);
});

test('datagram prefix: parse(write(stream, ctx, payload)) = (stream, ctx, payload)', () => {
  fc.assert(fc.property(
    fc.integer({ min: 0, max: 2 ** 40 }).map((q) => q * 4), fc.oneof(fc.constant(0), varint), fc.uint8Array({ maxLength: 64 }),
    (streamId, ctxId, payload) => {
      const buf = new Uint8Array(16 + payload.length);
      buf.set(payload, 16);
      const start = writeDatagramHeader(buf, 16, streamId, ctxId);
      const d = parseH3Datagram(buf.subarray(start));
      assert.equal(d.streamId, streamId);
      const c = parseContextPayload(d.payload);
      assert.ok(c);
      assert.equal(c.ctxId, ctxId);
      assert.deepEqual([...c.payload], [...payload]);
    }), RUNS);
});

test('random bytes into every parser: a value or a MasqueError', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), fc.integer({ min: 1, max: 100 }), (bytes, max) => {
    onlyMasqueErrors(() => parseAddressAssign(bytes));
    onlyMasqueErrors(() => parseAddressRequest(bytes));
    onlyMasqueErrors(() => parseRouteAdvertisement(bytes));
    onlyMasqueErrors(() => parseH3Datagram(bytes));
    onlyMasqueErrors(() => parseContextPayload(bytes));
    onlyMasqueErrors(() => {
      const p = new CapsuleParser({ maxCapsuleBytes: max });
      p.feed(bytes);
      p.finish();
    });
  }), { numRuns: 2000 });
});

test('random strings into the text parsers: a value or a MasqueError', () => {
  const udp = parseUriTemplate(defaultUdpTemplate('example.org'), 'udp');
  const ip = parseUriTemplate('https://example.org/ip{?target,ipproto}', 'ip');
  const str = fc.oneof(fc.string({ maxLength: 40 }), fc.stringMatching(/^[%0-9a-fA-F:./*?=&,\[\]a-z-]{0,40}$/));
  fc.assert(fc.property(str, str, (a, b) => {
    onlyMasqueErrors(() => parseUriTemplate(a, 'ip'));
    onlyMasqueErrors(() => parseUriTemplate(`https://x/${a}{target_host}{target_port}`, 'udp'));
    parseCapsuleProtocol(a);
    const fields = (path: string, proto: string): FieldLine[] => [
      [':method', 'CONNECT'], [':protocol', proto], [':scheme', 'https'], [':authority', 'example.org'],
      [':path', path], ['capsule-protocol', '?1'],
    ];
    onlyMasqueErrors(() => parseProxyRequest(fields(`/.well-known/masque/udp/${a}/${b}/`, 'connect-udp'), { udpTemplate: udp }));
    onlyMasqueErrors(() => parseProxyRequest(fields(`/ip?target=${a}&ipproto=${b}`, 'connect-ip'), { ipTemplate: ip }));
  }), { numRuns: 1000 });
});

test('templates: expand → match round trip for any values', () => {
  const templates = [
    parseUriTemplate(defaultUdpTemplate('example.org'), 'udp'),
    parseUriTemplate('https://proxy.example.org:4443/masque?h={target_host}&p={target_port}', 'udp'),
    parseUriTemplate('https://proxy.example.org:4443/masque{?target_host,target_port}', 'udp'),
    parseUriTemplate(defaultIpTemplate('example.org'), 'ip'),
    parseUriTemplate('https://p.example/u?x=1{&target_host,target_port}', 'udp'),
  ];
  fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 30 }), fc.string({ minLength: 1, maxLength: 10 }), (h, p) => {
    for (const t of templates) {
      const vars = t.variables.includes('target') ? { target: h, ipproto: p } : { target_host: h, target_port: p };
      assert.deepEqual(matchTemplatePath(t, expandTemplatePath(t, vars)), vars, t.raw);
    }
  }), RUNS);
});
