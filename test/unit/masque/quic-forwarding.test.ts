import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { Writer } from '../../../src/wire/writer.js';
import { CapsuleParser } from '../../../src/h3/capsule.js';
import { H3_DATAGRAM_ERROR, H3_MESSAGE_ERROR } from '../../../src/h3/errors.js';
import { isMasqueError } from '../../../src/core/errors.js';
import { CapsuleError } from '../../../src/masque/errors.js';
import {
  CAPSULE_ACK_CLIENT_CID, CAPSULE_ACK_CLIENT_VCID, CAPSULE_ACK_TARGET_CID, CAPSULE_CLOSE_CLIENT_CID, CAPSULE_CLOSE_TARGET_CID,
  CAPSULE_MAX_CONNECTION_IDS, CAPSULE_REGISTER_CLIENT_CID, CAPSULE_REGISTER_TARGET_CID, cidCapsuleErrorH3Code,
  encodeCidCapsule, isCidCapsuleType, parseCidCapsule, type CidCapsule,
} from '../../../src/masque/quic-forwarding/capsules.js';
import {
  SCRAMBLE_TRANSFORM, ScrambleTransform, newScrambleKey,
} from '../../../src/masque/quic-forwarding/scramble.js';
import {
  PROXY_QUIC_FORWARDING, formatForwardingRequest, formatForwardingResponse, parseForwardingHeader,
} from '../../../src/masque/quic-forwarding/header.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
const bytes = (n: number, fill = 0xab) => new Uint8Array(n).fill(fill);
const encode = (c: CidCapsule) => {
  const w = new Writer();
  encodeCidCapsule(w, c);
  return w.finish();
};
/** Encodes `c`, splits it with CapsuleParser and parses the value back. */
const roundTrip = (c: CidCapsule) => {
  const [cap, ...more] = new CapsuleParser().feed(encode(c));
  assert.equal(more.length, 0);
  return parseCidCapsule(cap.type, cap.value);
};
const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    assert.ok(isMasqueError(e), `not a MasqueError: ${String(e)}`);
    return e.code;
  }
  return 'no error';
};

// ---- capsules (draft-ietf-masque-quic-proxy-07 §5) ----

const TOKEN = hex('00112233445566778899aabbccddeeff');
const ALL: CidCapsule[] = [
  { type: 'register-client', cid: hex('31323334') },
  { type: 'register-target', cid: hex('61626364'), resetToken: TOKEN },
  { type: 'register-target', cid: hex('61626364'), resetToken: new Uint8Array(0) },
  { type: 'ack-client', cid: hex('31323334'), vcid: hex('62646668') },
  { type: 'ack-client', cid: hex('31323334'), vcid: new Uint8Array(0) },
  { type: 'ack-client-vcid', cid: hex('31323334'), vcid: hex('62646668'), resetToken: TOKEN },
  { type: 'ack-target', cid: hex('61626364'), vcid: hex('123412341234'), resetToken: TOKEN },
  { type: 'ack-target', cid: bytes(255), vcid: bytes(255, 1), resetToken: new Uint8Array(0) },
  { type: 'close-client', cid: hex('31323334') },
  { type: 'close-target', cid: bytes(255) },
  { type: 'register-client', cid: new Uint8Array(0) },
  { type: 'max-cids', maxSeq: 1 },
  { type: 'max-cids', maxSeq: 3 },
  { type: 'max-cids', maxSeq: 2 ** 40 },
];

test('capsules: every type round-trips through encode, CapsuleParser and parse', () => {
  for (const c of ALL) assert.deepEqual(roundTrip(c), c, c.type);
  const types = new Set(ALL.map((c) => c.type));
  assert.equal(types.size, 8);
});

test('capsules: exact bytes (§11.4 codepoints are 4-byte varints)', () => {
  assert.equal(toHex(encode({ type: 'register-client', cid: hex('31323334') })), '80ffe600' + '04' + '31323334');
  assert.equal(toHex(encode({ type: 'register-target', cid: hex('6162'), resetToken: TOKEN })),
    '80ffe601' + '14' + '02' + '6162' + '10' + toHex(TOKEN));
  assert.equal(toHex(encode({ type: 'ack-client', cid: hex('3132'), vcid: hex('626466') })), '80ffe602' + '07' + '023132' + '03626466');
  assert.equal(toHex(encode({ type: 'ack-client-vcid', cid: hex('31'), vcid: hex('62'), resetToken: new Uint8Array(0) })),
    '80ffe603' + '05' + '0131' + '0162' + '00');
  assert.equal(toHex(encode({ type: 'ack-target', cid: hex('61'), vcid: hex('12'), resetToken: new Uint8Array(0) })),
    '80ffe604' + '05' + '0161' + '0112' + '00');
  assert.equal(toHex(encode({ type: 'close-client', cid: hex('aa') })), '80ffe605' + '01' + 'aa');
  assert.equal(toHex(encode({ type: 'close-target', cid: hex('bb') })), '80ffe606' + '01' + 'bb');
  assert.equal(toHex(encode({ type: 'max-cids', maxSeq: 3 })), '80ffe607' + '01' + '03');
});

test('capsules: type helpers; unknown types give null; CID lengths 0..255', () => {
  for (const t of [CAPSULE_REGISTER_CLIENT_CID, CAPSULE_REGISTER_TARGET_CID, CAPSULE_ACK_CLIENT_CID, CAPSULE_ACK_CLIENT_VCID,
    CAPSULE_ACK_TARGET_CID, CAPSULE_CLOSE_CLIENT_CID, CAPSULE_CLOSE_TARGET_CID, CAPSULE_MAX_CONNECTION_IDS]) {
    assert.ok(isCidCapsuleType(t));
  }
  for (const t of [0x00, 0x01, 0xffe5ff, 0xffe608, 2 ** 62 - 1]) {
    assert.equal(isCidCapsuleType(t), false);
    assert.equal(parseCidCapsule(t, hex('00')), null);
  }
  assert.deepEqual(parseCidCapsule(CAPSULE_CLOSE_CLIENT_CID, new Uint8Array(0)), { type: 'close-client', cid: new Uint8Array(0) });
  // Non-minimal varints are valid (RFC 9000 §16): Maximum Sequence Number 1 as 2 bytes.
  assert.deepEqual(parseCidCapsule(CAPSULE_MAX_CONNECTION_IDS, hex('4001')), { type: 'max-cids', maxSeq: 1 });
});

test('capsules: parsed byte fields are copies, not views into the input', () => {
  const v = hex('04 31323334 04 62646668 10' + toHex(TOKEN));
  const c = parseCidCapsule(CAPSULE_ACK_CLIENT_VCID, v);
  const r = parseCidCapsule(CAPSULE_REGISTER_CLIENT_CID, hex('31323334'));
  v.fill(0);
  assert.deepEqual(c, { type: 'ack-client-vcid', cid: hex('31323334'), vcid: hex('62646668'), resetToken: TOKEN });
  assert.ok(r !== null && r.type === 'register-client' && r.cid.buffer.byteLength === 4);
});

test('capsules: truncated values are ERR_CAPSULE_MALFORMED', () => {
  for (const c of ALL) {
    if (c.type === 'register-client' || c.type === 'close-client' || c.type === 'close-target') continue; // no inner lengths
    const full = new CapsuleParser().feed(encode(c))[0];
    for (let n = 0; n < full.value.length; n++) {
      assert.equal(code(() => parseCidCapsule(full.type, full.value.subarray(0, n))), 'ERR_CAPSULE_MALFORMED', `${c.type} cut at ${n}`);
    }
  }
  // A varint cut in the middle.
  assert.equal(code(() => parseCidCapsule(CAPSULE_MAX_CONNECTION_IDS, hex('40'))), 'ERR_CAPSULE_MALFORMED');
});

test('capsules: trailing bytes are ERR_CAPSULE_MALFORMED', () => {
  for (const c of ALL) {
    if (c.type === 'register-client' || c.type === 'close-client' || c.type === 'close-target') continue; // length implied
    const full = new CapsuleParser().feed(encode(c))[0];
    const longer = new Uint8Array(full.value.length + 1);
    longer.set(full.value);
    assert.equal(code(() => parseCidCapsule(full.type, longer)), 'ERR_CAPSULE_MALFORMED', c.type);
  }
});

test('capsules: bad lengths are ERR_CAPSULE_MALFORMED when parsing and encoding', () => {
  // Stateless Reset Token length must be 0 or 16 (RFC 9000 §10.3).
  for (const n of [1, 8, 15, 17, 32]) {
    const tok = toHex(bytes(n));
    assert.equal(code(() => parseCidCapsule(CAPSULE_REGISTER_TARGET_CID, hex(`01aa ${n.toString(16).padStart(2, '0')} ${tok}`))), 'ERR_CAPSULE_MALFORMED');
    assert.equal(code(() => parseCidCapsule(CAPSULE_ACK_TARGET_CID, hex(`01aa 01bb ${n.toString(16).padStart(2, '0')} ${tok}`))), 'ERR_CAPSULE_MALFORMED');
    assert.equal(code(() => parseCidCapsule(CAPSULE_ACK_CLIENT_VCID, hex(`01aa 01bb ${n.toString(16).padStart(2, '0')} ${tok}`))), 'ERR_CAPSULE_MALFORMED');
  }
  // CID / VCID length 256 (varint 0x4100).
  const big = toHex(bytes(256));
  assert.equal(code(() => parseCidCapsule(CAPSULE_ACK_CLIENT_CID, hex(`4100 ${big} 00`))), 'ERR_CAPSULE_MALFORMED');
  assert.equal(code(() => parseCidCapsule(CAPSULE_ACK_CLIENT_CID, hex(`00 4100 ${big}`))), 'ERR_CAPSULE_MALFORMED');
  assert.equal(code(() => parseCidCapsule(CAPSULE_REGISTER_CLIENT_CID, bytes(256))), 'ERR_CAPSULE_MALFORMED');
  assert.equal(code(() => parseCidCapsule(CAPSULE_CLOSE_TARGET_CID, bytes(256))), 'ERR_CAPSULE_MALFORMED');
  // A huge announced length is rejected before reading.
  assert.equal(code(() => parseCidCapsule(CAPSULE_ACK_CLIENT_CID, hex('bfffffff'))), 'ERR_CAPSULE_MALFORMED');

  const bad: CidCapsule[] = [
    { type: 'register-client', cid: bytes(256) },
    { type: 'close-client', cid: bytes(256) },
    { type: 'register-target', cid: hex('aa'), resetToken: bytes(15) },
    { type: 'ack-client', cid: hex('aa'), vcid: bytes(256) },
    { type: 'ack-client-vcid', cid: hex('aa'), vcid: hex('bb'), resetToken: bytes(17) },
    { type: 'ack-target', cid: bytes(256), vcid: hex('bb'), resetToken: TOKEN },
    { type: 'max-cids', maxSeq: 1.5 },
    { type: 'max-cids', maxSeq: 2 ** 62 },
  ];
  for (const c of bad) {
    const w = new Writer();
    assert.equal(code(() => encodeCidCapsule(w, c)), 'ERR_CAPSULE_MALFORMED', c.type);
    assert.equal(w.length, 0, 'nothing written on error');
  }
});

test('capsules: MAX_CONNECTION_IDS below 1 is ERR_CAPSULE_MAX_CIDS (H3_DATAGRAM_ERROR, §5)', () => {
  assert.equal(code(() => parseCidCapsule(CAPSULE_MAX_CONNECTION_IDS, hex('00'))), 'ERR_CAPSULE_MAX_CIDS');
  assert.equal(code(() => parseCidCapsule(CAPSULE_MAX_CONNECTION_IDS, hex('4000'))), 'ERR_CAPSULE_MAX_CIDS');
  for (const maxSeq of [0, -1, NaN]) {
    const w = new Writer();
    assert.equal(code(() => encodeCidCapsule(w, { type: 'max-cids', maxSeq })), 'ERR_CAPSULE_MAX_CIDS');
    assert.equal(w.length, 0);
  }
  assert.equal(code(() => parseCidCapsule(CAPSULE_MAX_CONNECTION_IDS, new Uint8Array(0))), 'ERR_CAPSULE_MALFORMED');
  assert.equal(code(() => parseCidCapsule(CAPSULE_MAX_CONNECTION_IDS, hex('0100'))), 'ERR_CAPSULE_MALFORMED');
  assert.equal(cidCapsuleErrorH3Code(new CapsuleError('ERR_CAPSULE_MAX_CIDS', 'x')), H3_DATAGRAM_ERROR);
  assert.equal(cidCapsuleErrorH3Code(new CapsuleError('ERR_CAPSULE_MALFORMED', 'x')), H3_MESSAGE_ERROR);
});

test('capsules: random values never throw anything but CapsuleError', () => {
  for (let i = 0; i < 5000; i++) {
    const type = CAPSULE_REGISTER_CLIENT_CID + (i % 8);
    const v = randomBytes(i % 40);
    if (i % 3 === 0 && v.length > 0) v[0] &= 0x1f; // small first length: reach the later fields
    try {
      parseCidCapsule(type, v);
    } catch (e) {
      assert.ok(e instanceof CapsuleError, String(e));
    }
  }
});

// ---- scramble transform (§6.3.2, Appendix A) ----

const VEC_KEY = hex('f13a915f96fb8919d9d8655488ffea5778cac8cffbc27cd38c173bcbad955cff');
const VEC_IDENTITY = '500123456789abcdef0123456789abcdef012345671ba3bed7043a21632023048def32f4f8f260c290490413d24ea6';
const VEC_SCRAMBLED = '320123456789abcdef0123456789abcdef012345678ebe6906e16ec5fc90a02c0109994c3fed03f9d5d88c5f408bb6';

test('scramble: Appendix A vector, both directions', () => {
  const t = new ScrambleTransform(VEC_KEY);
  const pkt = hex(VEC_IDENTITY);
  const out = t.encode(pkt, 20);
  assert.equal(out, pkt, 'in place');
  assert.equal(toHex(out), VEC_SCRAMBLED);
  assert.equal(toHex(t.decode(hex(VEC_SCRAMBLED), 20)!), VEC_IDENTITY);
  // The identity-transformed packet is the original with the VCID swapped in (§6.3.1, Appendix A).
  const original = '50002e9184cb0022ca7aecf1128c91d809e1b6853f1ba3bed7043a21632023048def32f4f8f260c290490413d24ea6';
  assert.equal(VEC_IDENTITY, original.slice(0, 2) + '0123456789abcdef0123456789abcdef01234567' + original.slice(42));
  assert.equal(SCRAMBLE_TRANSFORM, 'scramble-dt');
});

/** §6.3.2 written out with one-shot node:crypto ciphers (aes-128-ctr increments all 128 bits). */
function reference(key: Uint8Array, p: Uint8Array, L: number): string {
  const iv = p.subarray(L + 1, L + 17);
  const ctr = createCipheriv('aes-128-ctr', key.subarray(0, 16), iv);
  const out = ctr.update(Buffer.concat([p.subarray(0, 1), p.subarray(L + 17)]));
  const ecb = createCipheriv('aes-128-ecb', key.subarray(16), null).setAutoPadding(false);
  return toHex(Buffer.concat([Buffer.from([out[0] & 0x7f]), p.subarray(1, L + 1), ecb.update(iv), out.subarray(1)]));
}

test('scramble: matches a one-shot AES-CTR reference, including counter carries and wrap', () => {
  const key = newScrambleKey();
  const t = new ScrambleTransform(key);
  const ivs = ['ffffffffffffffffffffffffffffffff', '000000000000000000000000fffffffe', '0000000000000000fffffffffffffff0',
    '00000000fffffffffffffffffffffff8', '7fffffffffffffffffffffffffffffff'];
  for (const L of [0, 8, 20]) {
    for (const iv of ivs) {
      for (const size of [1 + L + 16, 1 + L + 17, 1 + L + 32, 1 + L + 33, 300, 1500]) {
        const p = randomBytes(size);
        p[0] &= 0x7f;
        p.set(hex(iv), L + 1);
        const want = reference(key, p, L);
        assert.equal(toHex(t.encode(Uint8Array.from(p), L)), want, `L=${L} iv=${iv} size=${size}`);
      }
    }
  }
});

test('scramble: round trip for L in {0, 8, 16, 20} and every size up to 1500', () => {
  const key = newScrambleKey();
  const enc = new ScrambleTransform(key);
  const dec = new ScrambleTransform(key);
  for (const L of [0, 8, 16, 20]) {
    for (let size = 1 + L + 16; size <= 1500; size++) {
      const p = randomBytes(size);
      p[0] &= 0x7f; // a short header (RFC 8999 §5.2)
      const orig = toHex(p);
      const s = enc.encode(p, L);
      assert.equal(s[0] & 0x80, 0, 'Header Form bit stays 0');
      assert.equal(toHex(s.subarray(1, L + 1)), orig.slice(2, 2 + 2 * L), 'CID untouched');
      assert.equal(toHex(dec.decode(s, L)!), orig, `L=${L} size=${size}`);
    }
  }
});

test('scramble: works on a view inside a larger buffer and touches nothing around it', () => {
  const t = new ScrambleTransform(VEC_KEY);
  const big = new Uint8Array(200).fill(0xee);
  big.set(hex(VEC_IDENTITY), 7);
  const view = big.subarray(7, 7 + VEC_IDENTITY.length / 2);
  assert.equal(toHex(t.encode(view, 20)), VEC_SCRAMBLED);
  assert.ok(big.subarray(0, 7).every((b) => b === 0xee) && big.subarray(7 + view.length).every((b) => b === 0xee));
});

test('scramble: short packets — encode throws ERR_SCRAMBLE_SHORT, decode returns null untouched', () => {
  const t = new ScrambleTransform(newScrambleKey());
  for (const L of [0, 8, 20]) {
    const p = bytes(L + 16, 0x40);
    assert.equal(code(() => t.encode(p, L)), 'ERR_SCRAMBLE_SHORT');
    assert.equal(t.decode(p, L), null);
    assert.ok(p.every((b) => b === 0x40));
    assert.equal(t.decode(new Uint8Array(0), L), null);
    // The minimum (ctr_input is just the first byte) works.
    const min = bytes(L + 17, 0x41);
    assert.deepEqual(t.decode(t.encode(Uint8Array.from(min), L)!, L), min);
  }
  assert.equal(code(() => t.encode(bytes(100), -1)), 'ERR_SCRAMBLE_CID_LEN');
  assert.equal(code(() => t.decode(bytes(300), 256)), 'ERR_SCRAMBLE_CID_LEN');
  assert.equal(code(() => new ScrambleTransform(bytes(16))), 'ERR_SCRAMBLE_KEY');
});

test('scramble: 10 000 packets with the same payload but distinct IVs never share keystream', () => {
  const t = new ScrambleTransform(newScrambleKey());
  const L = 8;
  const payload = bytes(1200, 0);
  payload[0] = 0x40;
  const tails = new Set<string>();
  for (let i = 0; i < 10_000; i++) {
    const p = Uint8Array.from(payload);
    new DataView(p.buffer).setUint32(L + 1 + 12, i * 7919); // distinct IVs
    const tail = Buffer.from(t.encode(p, L).subarray(L + 17));
    tails.add(tail.toString('hex'));
    if (i < 10) {
      // Within one packet the counter advances: no two 16-byte chunks of keystream are equal.
      const chunks = new Set<string>();
      for (let o = 0; o + 16 <= tail.length; o += 16) chunks.add(tail.subarray(o, o + 16).toString('hex'));
      assert.equal(chunks.size, Math.floor(tail.length / 16), 'keystream repeats within a packet');
    }
  }
  assert.equal(tails.size, 10_000, 'keystream reused across packets');
});

test('scramble: ECB update() with padding off returns exactly the input length', () => {
  const c = createCipheriv('aes-128-ecb', bytes(16), null).setAutoPadding(false);
  for (const n of [16, 32, 1504, 65536]) assert.equal(c.update(new Uint8Array(n)).length, n);
  const k = newScrambleKey();
  assert.equal(k.length, 32);
  assert.notDeepEqual(k, newScrambleKey());
});

// ---- Proxy-QUIC-Forwarding header (§3) ----

const KEY_B64 = Buffer.from(VEC_KEY).toString('base64');

test('header: request and response format and parse back', () => {
  assert.equal(PROXY_QUIC_FORWARDING, 'proxy-quic-forwarding');
  const req = formatForwardingRequest(['scramble-dt', 'identity'], VEC_KEY);
  assert.equal(req, `?1; accept-transform="scramble-dt,identity"; scramble-key=:${KEY_B64}:`);
  assert.deepEqual(parseForwardingHeader(req), { enabled: true, acceptTransforms: ['scramble-dt', 'identity'], transform: null, scrambleKey: VEC_KEY });
  assert.equal(formatForwardingRequest(['identity'], null), '?1; accept-transform="identity"');
  assert.equal(formatForwardingRequest([], VEC_KEY), '?0');

  const res = formatForwardingResponse('scramble-dt', VEC_KEY);
  assert.equal(res, `?1; transform="scramble-dt"; scramble-key=:${KEY_B64}:`);
  assert.deepEqual(parseForwardingHeader(res), { enabled: true, acceptTransforms: null, transform: 'scramble-dt', scrambleKey: VEC_KEY });
  assert.equal(formatForwardingResponse(null, VEC_KEY), '?0');
  assert.deepEqual(parseForwardingHeader('?0'), { enabled: false, acceptTransforms: null, transform: null, scrambleKey: null });
  assert.equal(formatForwardingResponse('identity', null), '?1; transform="identity"');
});

test('header: format rejects what parse would not give back', () => {
  for (const bad of ['', 'a,b', 'a b', 'a"b', 'a\\b', 'é']) {
    assert.equal(code(() => formatForwardingRequest(['ok', bad], null)), 'ERR_FORWARDING_TRANSFORM', bad);
    assert.equal(code(() => formatForwardingResponse(bad, null)), 'ERR_FORWARDING_TRANSFORM', bad);
  }
  assert.equal(code(() => formatForwardingRequest(['identity'], bytes(31))), 'ERR_FORWARDING_SCRAMBLE_KEY');
  assert.equal(code(() => formatForwardingResponse('identity', bytes(33))), 'ERR_FORWARDING_SCRAMBLE_KEY');
});

test('header: RFC 8941 whitespace, unknown and duplicate parameters, quoting', () => {
  const p = (v: string) => parseForwardingHeader(v);
  assert.deepEqual(p('?1;accept-transform="a"')?.acceptTransforms, ['a']);
  assert.deepEqual(p(' \t?1;    accept-transform="a" \t')?.acceptTransforms, ['a']);
  assert.deepEqual(p('?1; accept-transform="scramble-dt, identity,,"')?.acceptTransforms, ['scramble-dt', 'identity']);
  assert.deepEqual(p('?1; accept-transform=""')?.acceptTransforms, []);
  assert.deepEqual(p('?1; foo="x;accept-transform=\\"evil\\""; accept-transform="a"')?.acceptTransforms, ['a']);
  assert.deepEqual(p('?1;accept-transform="a\\"b\\\\c"')?.acceptTransforms, ['a"b\\c']);
  const all = p('?1;n=-12;d=1.5;t=tok/x:y;s="x;y";b=:AAAA:;f;g=?0;accept-transform="a";*x=1');
  assert.deepEqual(all, { enabled: true, acceptTransforms: ['a'], transform: null, scrambleKey: null });
  assert.equal(p('?1; transform="a"; transform="b"')?.transform, 'b', 'last duplicate wins');
  assert.equal(p('?0; transform="x"')?.enabled, false, 'Boolean kept as sent');
  assert.equal(p('?0; transform="x"')?.transform, 'x');
  // Wrong parameter types read as absent.
  assert.deepEqual(p('?1; accept-transform=identity; transform=?1; scramble-key="k"'),
    { enabled: true, acceptTransforms: null, transform: null, scrambleKey: null });
  assert.equal(p('?1; accept-transform')?.acceptTransforms, null);
});

test('header: scramble-key must be exactly 32 bytes of base64', () => {
  const p = (v: string) => parseForwardingHeader(`?1; transform="scramble-dt"; scramble-key=${v}`)?.scrambleKey;
  assert.deepEqual(p(`:${KEY_B64}:`), VEC_KEY);
  assert.deepEqual(p(`:${KEY_B64.replace(/=+$/, '')}:`), VEC_KEY, 'padding may be omitted (RFC 8941 §4.2.7)');
  assert.equal(p(':AAAA:'), null);
  assert.equal(p(`:${Buffer.alloc(33).toString('base64')}:`), null);
  assert.equal(p(`:${Buffer.alloc(31).toString('base64')}:`), null);
  assert.equal(p('::'), null);
  assert.equal(parseForwardingHeader('?1; scramble-key=:AB$C:'), null, 'not base64: not an sf-item');
});

test('header: hostile values give null without throwing', () => {
  const bad = ['', ' ', '?', '?2', '?10', '1', 'true', '"?1"', 'tok', ':AAAA:', '?1 ;a=1', '?1;', '?1; ', '?1;=a', '?1;A=1',
    '?1;a=', '?1;a="open', '?1;a="x\\y"', '?1;a="\u00e9"', '?1;a=1.2345', '?1;a=1234567890123456', '?1;\ta=1', '?1, ?0',
    '?1;a=1 ;b=2', '?1;a=(1 2)', '?1;a=@1', '?1\u0000', '\u00a0?1'];
  for (const v of bad) assert.equal(parseForwardingHeader(v), null, JSON.stringify(v));
  const long = ['?1' + ';a'.repeat(50_000) + '!', '?1;a="' + 'x'.repeat(100_000), '?1' + ' '.repeat(100_000) + 'x',
    '?1;' + ' '.repeat(100_000), '?1;a=' + '1'.repeat(100_000)];
  const t0 = Date.now();
  for (const v of long) assert.equal(parseForwardingHeader(v), null);
  assert.ok(Date.now() - t0 < 2000, 'linear time');
  for (let i = 0; i < 2000; i++) {
    const v = String.fromCharCode(...randomBytes(i % 64).map((b) => (i % 2 ? b & 0x7f : b)));
    parseForwardingHeader('?1;' + v);
    parseForwardingHeader(v);
  }
});

test('scramble: native/udp and the JavaScript fallback agree, both directions, on random packets', () => {
  const key = newScrambleKey();
  const nat = new ScrambleTransform(key);
  const js = new ScrambleTransform(key, { native: false });
  // native/udp is built by `npm ci` (and in CI): the native path must be the one in use.
  assert.equal(nat.isNative, true, 'native/udp/build/Release/udp.node has the scramble functions');
  assert.equal(js.isNative, false);
  for (const cidLen of [0, 8, 16, 20]) {
    for (const len of [1 + cidLen + 16, 1 + cidLen + 17, 100, 1200, 1452]) {
      const p = Uint8Array.from(randomBytes(len));
      p[0] &= 0x7f;
      const a = nat.encode(Uint8Array.from(p), cidLen);
      const b = js.encode(Uint8Array.from(p), cidLen);
      assert.deepEqual(a, b, `encode, L=${cidLen}, ${len} bytes`);
      assert.deepEqual(nat.decode(Uint8Array.from(b), cidLen), p);
      assert.deepEqual(js.decode(Uint8Array.from(a), cidLen), p);
    }
  }
  assert.equal(nat.decode(new Uint8Array(1 + 16 + 15), 16), null, 'too short: null, as in JavaScript');
});
