/**
 * The scramble packet transform of QUIC-aware proxying (draft-ietf-masque-quic-proxy-07 §6.3.2,
 * wire name "scramble-dt", §11.3): length-preserving, unauthenticated re-encryption of a forwarded
 * short-header packet, so a passive observer cannot match packets across the proxy by content.
 *
 * With k1 = key[0:16], k2 = key[16:32] and L the (virtual) Connection ID length:
 *   iv         = p[L+1 : L+17]                  (16 bytes after the CID)
 *   ctr_output = AES-128-CTR(k1, iv, p[0] || p[L+17:])
 *   output     = (ctr_output[0] & 0x7f) || cid || AES-128-ECB(k2, iv) || ctr_output[1:]
 * and the inverse decrypts the IV with AES-ECB-inv(k2, ·) first, then runs the same CTR (§6.3.2
 * "compute the other variables exactly as in the forward transform": the first byte is masked
 * again, which restores it because a short header's Header Form bit is 0, RFC 8999 §5.2).
 *
 * Data path: the transform runs per forwarded packet, so the AES key schedules are set up once per
 * key (§6.3.2 says as much). CTR is built from a persistent AES-128-ECB cipher: we fill a reused
 * buffer with consecutive counter blocks (iv, iv+1, … mod 2^128, SP 800-38A App. B.1) and encrypt
 * them with one update() call — with padding off and block-multiple input, ECB update() returns
 * exactly that many bytes and keeps no state between calls. Packets are transformed in place.
 * That JavaScript version costs ~4 µs per 1200-byte packet, about what the quiche decryption it
 * replaces at the relay costs, so when native/udp is built the same transform runs there
 * (native/udp/scramble.c, ~0.3 µs); the JavaScript stays as the fallback and the reference the
 * tests hold the native one to.
 */
import { createCipheriv, createDecipheriv, randomFillSync, type Cipher, type Decipher } from 'node:crypto';
import { MasqueError } from '../../core/errors.js';
import { loadUdpBatchAddon, type NativeScramble, type UdpBatchAddon } from '../../quic/udp-batch.js';

/** The transform name for this draft's version of scramble (§6.3.2, §11.3). */
export const SCRAMBLE_TRANSFORM = 'scramble-dt';
/** Scramble key size (§6.3.2): k1 (AES-128-CTR) || k2 (AES-128-ECB on the IV). */
export const SCRAMBLE_KEY_LEN = 32;
/** Bytes the transform needs after the CID (the IV, §6.3.2 NOTE). */
export const SCRAMBLE_IV_LEN = 16;

/**
 * A packet the transform cannot handle, or misuse. Codes: ERR_SCRAMBLE_SHORT (packet shorter than
 * 1 + L + 16: tunnel it instead), ERR_SCRAMBLE_KEY (key not 32 bytes), ERR_SCRAMBLE_CID_LEN.
 */
export class ScrambleError extends MasqueError {}

/** A fresh random scramble key (§6.3.2: each side generates the key it sends with). */
export function newScrambleKey(): Uint8Array {
  return randomFillSync(new Uint8Array(SCRAMBLE_KEY_LEN));
}

const BLOCK = 16;

/**
 * The scramble transform for one key. `encode` uses the key we generated and sent; `decode` the
 * key the peer sent (§6.3.2). Not safe for concurrent use (single owner, like the packet path).
 */
export class ScrambleTransform {
  /** Whether packets go through native/udp (diagnostics, tests). */
  get isNative(): boolean {
    return this.nat !== null;
  }

  /** AES-ECB(k1, ·): generates the CTR keystream. */
  private readonly ctr: Cipher;
  /** AES-ECB(k2, ·) and its inverse, on the IV. */
  private readonly ivEnc: Cipher;
  private readonly ivDec: Decipher;
  /** Reused counter-block buffer; grows to the largest packet seen. */
  private counters = new Uint8Array(BLOCK * 96);
  private counterView = new DataView(this.counters.buffer);

  /** native/udp's transform for this key, when the addon is built (`o.native` false: never). */
  private readonly nat: { addon: UdpBatchAddon; ctx: NativeScramble } | null = null;

  constructor(key: Uint8Array, o: { native?: boolean } = {}) {
    if (key.length !== SCRAMBLE_KEY_LEN) {
      throw new ScrambleError('ERR_SCRAMBLE_KEY', `scramble key must be ${SCRAMBLE_KEY_LEN} bytes, got ${key.length}`);
    }
    const addon = o.native === false ? undefined : loadUdpBatchAddon();
    if (addon?.scrambleKey) this.nat = { addon, ctx: addon.scrambleKey(Uint8Array.from(key)) };
    const k1 = key.subarray(0, 16);
    const k2 = key.subarray(16, 32);
    // Padding off: update() then maps n whole blocks to exactly n blocks, keeping nothing back.
    this.ctr = createCipheriv('aes-128-ecb', k1, null).setAutoPadding(false);
    this.ivEnc = createCipheriv('aes-128-ecb', k2, null).setAutoPadding(false);
    this.ivDec = createDecipheriv('aes-128-ecb', k2, null).setAutoPadding(false);
  }

  /**
   * Scrambles the short-header packet `pkt` (whose DCID, already the VCID, is `cidLen` bytes) in
   * place and returns it. Throws ScrambleError ERR_SCRAMBLE_SHORT when `pkt` has fewer than 16
   * bytes after the CID: such a packet cannot be forwarded with this transform (tunnel it).
   */
  encode(pkt: Uint8Array, cidLen: number): Uint8Array {
    if (!fits(pkt, cidLen)) {
      throw new ScrambleError('ERR_SCRAMBLE_SHORT', `packet of ${pkt.length} bytes too short to scramble with a ${cidLen}-byte CID`);
    }
    if (this.nat) {
      this.nat.addon.scramble!(this.nat.ctx, pkt, cidLen, false);
      return pkt;
    }
    const ivOff = 1 + cidLen;
    this.applyCtr(pkt, ivOff); // keystream from the plaintext IV, before it is replaced
    pkt.set(this.ivEnc.update(pkt.subarray(ivOff, ivOff + BLOCK)), ivOff);
    return pkt;
  }

  /**
   * Unscrambles `pkt` in place and returns it, or returns null (pkt untouched) when it is too short
   * to have been produced by `encode` — the caller drops it.
   */
  decode(pkt: Uint8Array, cidLen: number): Uint8Array | null {
    if (!fits(pkt, cidLen)) return null;
    if (this.nat) {
      this.nat.addon.scramble!(this.nat.ctx, pkt, cidLen, true);
      return pkt;
    }
    const ivOff = 1 + cidLen;
    pkt.set(this.ivDec.update(pkt.subarray(ivOff, ivOff + BLOCK)), ivOff);
    this.applyCtr(pkt, ivOff);
    return pkt;
  }

  /**
   * XORs AES-CTR(k1, iv) over ctr_input = pkt[0] || pkt[ivOff+16:] in place, then clears the
   * Header Form bit of the first byte (§6.3.2 step 7).
   */
  private applyCtr(pkt: Uint8Array, ivOff: number): void {
    const tailOff = ivOff + BLOCK;
    const inputLen = 1 + pkt.length - tailOff;
    const nBytes = Math.ceil(inputLen / BLOCK) * BLOCK;
    this.fillCounters(pkt, ivOff, nBytes);
    const ks = this.ctr.update(this.counters.subarray(0, nBytes));
    pkt[0] = (pkt[0] ^ ks[0]) & 0x7f;
    for (let i = tailOff, j = 1; i < pkt.length; i++, j++) pkt[i] ^= ks[j];
  }

  /** Writes nBytes/16 counter blocks iv, iv+1, … (128-bit big-endian, wrapping) into `counters`. */
  private fillCounters(pkt: Uint8Array, ivOff: number, nBytes: number): void {
    if (this.counters.length < nBytes) {
      this.counters = new Uint8Array(nBytes * 2);
      this.counterView = new DataView(this.counters.buffer);
    }
    let w0 = be32(pkt, ivOff);
    let w1 = be32(pkt, ivOff + 4);
    let w2 = be32(pkt, ivOff + 8);
    let w3 = be32(pkt, ivOff + 12);
    const dv = this.counterView;
    for (let off = 0; off < nBytes; off += BLOCK) {
      dv.setUint32(off, w0);
      dv.setUint32(off + 4, w1);
      dv.setUint32(off + 8, w2);
      dv.setUint32(off + 12, w3);
      w3 = (w3 + 1) >>> 0;
      if (w3 !== 0) continue;
      w2 = (w2 + 1) >>> 0;
      if (w2 !== 0) continue;
      w1 = (w1 + 1) >>> 0;
      if (w1 === 0) w0 = (w0 + 1) >>> 0;
    }
  }
}

function be32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/** True when `pkt` holds the first byte, a `cidLen`-byte CID and a 16-byte IV (§6.3.2 NOTE). */
function fits(pkt: Uint8Array, cidLen: number): boolean {
  if (!Number.isInteger(cidLen) || cidLen < 0 || cidLen > 255) {
    throw new ScrambleError('ERR_SCRAMBLE_CID_LEN', `invalid connection ID length ${cidLen}`);
  }
  return pkt.length >= 1 + cidLen + SCRAMBLE_IV_LEN;
}
