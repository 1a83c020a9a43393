/**
 * The issuer (RFC 9578 §5, §6.3) for token type 0x0002, without I/O: a keyring of RSA key
 * pairs (current + previous), rotation decisions, the directory document, per-client
 * issuance budgets, and the blind signature itself. `@cloudflare/privacypass-ts` generates
 * keys and parses requests; the RSA operation itself is OpenSSL's (blindSign below). The HTTP side is issuer-route.ts; files and timers are issuer-service.ts.
 */
import { constants, createPrivateKey, privateDecrypt, publicEncrypt, timingSafeEqual, type KeyObject } from 'node:crypto';
import { publicVerif, TOKEN_TYPES } from '@cloudflare/privacypass-ts';
import { PrivacyError } from './errors.js';
import { formatIssuerDirectory, parseIssuerPublicKey, type IssuerDirectory, type IssuerPublicKey } from './key-set.js';
import { TOKEN_REQUEST_LEN, TOKEN_TYPE_BLIND_RSA } from './token.js';

const { Issuer, BlindRSAMode, getPublicKeyBytes, TokenRequest, TokenResponse } = publicVerif;
const RSA_PSS = { name: 'RSA-PSS', hash: 'SHA-384' } as const;

/** RFC 9578 §5: where clients POST token requests (relative to the issuer's origin). */
export const ISSUER_REQUEST_PATH = '/.well-known/private-token-issuer/token-request';
/** RFC 9578 §4: the issuer directory. */
export const ISSUER_DIRECTORY_PATH = '/.well-known/private-token-issuer-directory';
export const MEDIA_TOKEN_REQUEST = 'application/private-token-request';
export const MEDIA_TOKEN_RESPONSE = 'application/private-token-response';
export const MEDIA_ISSUER_DIRECTORY = 'application/private-token-issuer-directory';

/** One issuer key pair. `pkcs8` is the private key as stored in the key file. */
export interface IssuerKeyPair {
  publicKey: IssuerPublicKey & { notBeforeMs: number };
  privateKey: CryptoKey;
  pkcs8: Uint8Array;
  /** The same private key for OpenSSL's raw RSA (blindSign below). */
  rsaKey: KeyObject;
}

/** A new 2048-bit RSA-PSS key pair (RFC 9578 §6.5), valid from `notBeforeMs`. ~0.1–1 s of CPU. */
export async function generateIssuerKeyPair(notBeforeMs: number): Promise<IssuerKeyPair> {
  const kp = await Issuer.generateKey(BlindRSAMode.PSS, { modulusLength: 2048, publicExponent: Uint8Array.from([1, 0, 1]) });
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', kp.privateKey));
  return importIssuerKeyPair(pkcs8, notBeforeMs, await getPublicKeyBytes(kp.publicKey));
}

/** Rebuilds a key pair from its PKCS#8 private key (the public key is derived when absent). */
export async function importIssuerKeyPair(pkcs8: Uint8Array, notBeforeMs: number, tokenKey?: Uint8Array): Promise<IssuerKeyPair> {
  const privateKey = await crypto.subtle.importKey('pkcs8', Uint8Array.from(pkcs8), RSA_PSS, true, ['sign']);
  if (tokenKey === undefined) {
    const jwk = await crypto.subtle.exportKey('jwk', privateKey);
    const pub = await crypto.subtle.importKey('jwk', { kty: 'RSA', n: jwk.n, e: jwk.e, alg: 'PS384', ext: true }, RSA_PSS, true, ['verify']);
    tokenKey = await getPublicKeyBytes(pub);
  }
  // WebCrypto exports RSA-PSS keys with the rsaEncryption OID, so OpenSSL sees a plain RSA key.
  const rsaKey = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
  return { publicKey: { ...parseIssuerPublicKey(tokenKey, notBeforeMs), notBeforeMs }, privateKey, pkcs8, rsaKey };
}

/** Current + previous issuer keys, newest first. Immutable: rotation returns a new ring. */
export class IssuerKeyring {
  readonly keys: readonly IssuerKeyPair[];

  constructor(keys: readonly IssuerKeyPair[]) {
    if (keys.length === 0) throw new Error('privacy: an issuer keyring needs a key');
    this.keys = [...keys].sort((a, b) => b.publicKey.notBeforeMs - a.publicKey.notBeforeMs).slice(0, 2);
  }

  get current(): IssuerKeyPair {
    return this.keys[0]!;
  }

  /** True when the current key is at least `periodMs` old. */
  isRotationDue(nowMs: number, periodMs: number): boolean {
    return nowMs - this.current.publicKey.notBeforeMs >= periodMs;
  }

  /** `next` becomes current, the current key becomes previous, the previous one is dropped. */
  rotated(next: IssuerKeyPair): IssuerKeyring {
    return new IssuerKeyring([next, this.current]);
  }

  /** The directory (RFC 9578 §4): current and previous key with their not-before. */
  directory(requestUri = ISSUER_REQUEST_PATH): IssuerDirectory {
    return formatIssuerDirectory(requestUri, this.keys.map((k) => k.publicKey));
  }
}

/**
 * Signs one TokenRequest (RFC 9578 §6.3) with the current key. Throws PrivacyError:
 * ERR_PRIVACY_MALFORMED (length), ERR_PRIVACY_TOKEN_TYPE, ERR_PRIVACY_ISSUER_KEY (the
 * truncated key ID is not the current key's: the client has a stale directory).
 */
export async function issueToken(ring: IssuerKeyring, issuerName: string, requestBytes: Uint8Array): Promise<Uint8Array> {
  if (requestBytes.length < 2) throw new PrivacyError('ERR_PRIVACY_MALFORMED', 'token request: truncated');
  const type = (requestBytes[0]! << 8) | requestBytes[1]!;
  if (type !== TOKEN_TYPE_BLIND_RSA) throw new PrivacyError('ERR_PRIVACY_TOKEN_TYPE', 'token request: unsupported token type');
  if (requestBytes.length !== TOKEN_REQUEST_LEN) throw new PrivacyError('ERR_PRIVACY_MALFORMED', `token request: ${requestBytes.length} bytes, want ${TOKEN_REQUEST_LEN}`);
  const key = ring.current;
  // RFC 9578 §6.3: truncated_token_key_id is the last byte of token_key_id.
  if (requestBytes[2] !== key.publicKey.id[31]) throw new PrivacyError('ERR_PRIVACY_ISSUER_KEY', 'token request: not for the current issuer key');
  void issuerName; // type 2: the issuer never sees the challenge, so its name plays no part in signing
  const req = TokenRequest.deserialize(TOKEN_TYPES.BLIND_RSA, requestBytes);
  return new TokenResponse(blindSign(key, req.blindedMsg)).serialize();
}

/**
 * RFC 9474 §4.3 BlindSign: s = RSASP1(sk, m), check RSAVP1(pk, s) = m, return s (Nk bytes).
 * The private-key operation runs in OpenSSL (raw RSA, CRT, blinding): ~1 ms instead of
 * ~380 ms for the library's BigInt path (`Issuer.issue`), which matters for an issuer
 * serving batches. m ≥ n is refused by OpenSSL: ERR_PRIVACY_MALFORMED.
 */
function blindSign(key: IssuerKeyPair, blindedMsg: Uint8Array): Uint8Array {
  let s: Buffer;
  try {
    s = privateDecrypt({ key: key.rsaKey, padding: constants.RSA_NO_PADDING }, blindedMsg);
  } catch (e) {
    throw new PrivacyError('ERR_PRIVACY_MALFORMED', 'token request: blinded message out of range', { cause: e });
  }
  const check = publicEncrypt({ key: key.rsaKey, padding: constants.RSA_NO_PADDING }, s);
  if (!timingSafeEqual(check, blindedMsg)) throw new Error('privacy: blind signature self-check failed (RFC 9474 §4.3)');
  return new Uint8Array(s);
}

/**
 * Per-client issuance budget: at most `perWindow` tokens per `windowMs` for each client
 * key; remembers at most `maxClients` clients (the oldest window is forgotten first), so
 * memory is bounded whatever the clients do.
 */
export class IssuanceBudget {
  private readonly windows = new Map<string, { startMs: number; used: number }>();

  constructor(readonly perWindow: number, readonly windowMs = 3_600_000, readonly maxClients = 65_536) {}

  /** Takes one token from `client`'s budget; false when spent. */
  take(client: string, nowMs: number): boolean {
    let w = this.windows.get(client);
    if (w === undefined || nowMs - w.startMs >= this.windowMs) {
      this.windows.delete(client);
      w = { startMs: nowMs, used: 0 };
      if (this.windows.size >= this.maxClients) this.windows.delete(this.windows.keys().next().value!);
      this.windows.set(client, w);
    }
    if (w.used >= this.perWindow) return false;
    w.used++;
    return true;
  }
}
