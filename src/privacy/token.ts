/**
 * Privacy Pass wire codecs (sans-IO): the token (RFC 9577 §2.2, RFC 9578 §6 for type
 * 0x0002), the token challenge (RFC 9577 §2.1.1), and the `PrivateToken` credential and
 * challenge header values (RFC 9577 §2.1, §2.2).
 *
 * Parsers throw PrivacyError (ERR_PRIVACY_MALFORMED / ERR_PRIVACY_TOKEN_TYPE) and nothing
 * else for any input; they check lengths before decoding, so a huge header costs nothing.
 */
import { PrivacyError } from './errors.js';

/** RFC 9578 §8.2.2: token type Blind RSA (2048-bit), publicly verifiable. */
export const TOKEN_TYPE_BLIND_RSA = 0x0002;
/** RFC 9578 §6: Nk, the RSA modulus length in bytes for type 0x0002. */
export const BLIND_RSA_NK = 256;
/** RFC 9577 §2.2: nonce, challenge_digest and token_key_id (Nid = 32) are 32 bytes each. */
export const NONCE_LEN = 32;
export const DIGEST_LEN = 32;
export const TOKEN_KEY_ID_LEN = 32;
/** token_type(2) + nonce + challenge_digest + token_key_id: the signed token_input. */
export const TOKEN_INPUT_LEN = 2 + NONCE_LEN + DIGEST_LEN + TOKEN_KEY_ID_LEN;
export const TOKEN_LEN = TOKEN_INPUT_LEN + BLIND_RSA_NK;
/** RFC 9578 §6.1: TokenRequest = token_type(2) + truncated_token_key_id(1) + blinded_msg[Nk]. */
export const TOKEN_REQUEST_LEN = 3 + BLIND_RSA_NK;
/** RFC 9577 §2.1.1: redemption_context is empty or 32 bytes. */
export const REDEMPTION_CONTEXT_LEN = 32;
/** The auth scheme name (RFC 9577 §2). */
export const AUTH_SCHEME = 'PrivateToken';
/** Longest credential header value we parse: a type-2 token in base64 is 472 characters. */
const MAX_CREDENTIAL_CHARS = 1024;

/** A parsed type-0x0002 token. Views into the caller's buffer (copy to keep beyond it). */
export interface Token {
  tokenType: number;
  nonce: Uint8Array;
  challengeDigest: Uint8Array;
  tokenKeyId: Uint8Array;
  authenticator: Uint8Array;
  /** The bytes the authenticator signs: token_type..token_key_id (RFC 9578 §6.3). */
  tokenInput: Uint8Array;
}

/** Parses a token (RFC 9577 §2.2). Only type 0x0002 is supported here. */
export function parseToken(bytes: Uint8Array): Token {
  if (bytes.length < 2) throw new PrivacyError('ERR_PRIVACY_MALFORMED', 'private token: truncated');
  const tokenType = (bytes[0]! << 8) | bytes[1]!;
  if (tokenType !== TOKEN_TYPE_BLIND_RSA) throw new PrivacyError('ERR_PRIVACY_TOKEN_TYPE', `private token: unsupported token type 0x${tokenType.toString(16).padStart(4, '0')}`);
  if (bytes.length !== TOKEN_LEN) throw new PrivacyError('ERR_PRIVACY_MALFORMED', `private token: ${bytes.length} bytes, want ${TOKEN_LEN}`);
  let o = 2;
  const take = (n: number) => bytes.subarray(o, (o += n));
  const nonce = take(NONCE_LEN);
  const challengeDigest = take(DIGEST_LEN);
  const tokenKeyId = take(TOKEN_KEY_ID_LEN);
  const authenticator = take(BLIND_RSA_NK);
  return { tokenType, nonce, challengeDigest, tokenKeyId, authenticator, tokenInput: bytes.subarray(0, TOKEN_INPUT_LEN) };
}

/** Serializes a token (the inverse of parseToken). */
export function encodeToken(t: Omit<Token, 'tokenInput'>): Uint8Array {
  const out = new Uint8Array(TOKEN_LEN);
  out[0] = t.tokenType >> 8;
  out[1] = t.tokenType & 0xff;
  out.set(t.nonce, 2);
  out.set(t.challengeDigest, 2 + NONCE_LEN);
  out.set(t.tokenKeyId, 2 + NONCE_LEN + DIGEST_LEN);
  out.set(t.authenticator, TOKEN_INPUT_LEN);
  return out;
}

/** RFC 9577 §2.1.1 TokenChallenge. */
export interface TokenChallengeFields {
  tokenType: number;
  issuerName: string;
  /** Empty (cross-context, tokens may be fetched ahead) or 32 bytes. */
  redemptionContext: Uint8Array;
  /** Origin names; empty = any origin (cross-origin). */
  originInfo: string[];
}

/**
 * Encodes a TokenChallenge (RFC 9577 §2.1.1): token_type u16, issuer_name<1..2^16-1>,
 * redemption_context<0..32>, origin_info<0..2^16-1> (names joined by ",").
 */
export function encodeTokenChallenge(c: TokenChallengeFields): Uint8Array {
  const enc = new TextEncoder();
  const issuer = enc.encode(c.issuerName);
  const origin = enc.encode(c.originInfo.join(','));
  if (issuer.length < 1 || issuer.length > 0xffff) throw new PrivacyError('ERR_PRIVACY_MALFORMED', 'token challenge: issuer name length');
  if (origin.length > 0xffff || c.originInfo.some((n) => n.length === 0 || n.includes(','))) throw new PrivacyError('ERR_PRIVACY_MALFORMED', 'token challenge: origin info');
  const ctx = c.redemptionContext;
  if (ctx.length !== 0 && ctx.length !== REDEMPTION_CONTEXT_LEN) throw new PrivacyError('ERR_PRIVACY_MALFORMED', 'token challenge: redemption context must be 0 or 32 bytes');
  const out = new Uint8Array(2 + 2 + issuer.length + 1 + ctx.length + 2 + origin.length);
  const dv = new DataView(out.buffer);
  let o = 0;
  dv.setUint16(o, c.tokenType);
  dv.setUint16((o += 2), issuer.length);
  out.set(issuer, (o += 2));
  out[(o += issuer.length)] = ctx.length;
  out.set(ctx, (o += 1));
  dv.setUint16((o += ctx.length), origin.length);
  out.set(origin, o + 2);
  return out;
}

const B64URL_CHARS = /^[A-Za-z0-9_-]+={0,2}$/;

/** Base64url, padded or not (RFC 4648 §5); throws ERR_PRIVACY_MALFORMED on anything else. */
export function decodeBase64Url(s: string, what: string): Uint8Array {
  if (!B64URL_CHARS.test(s) || s.replace(/=+$/, '').length % 4 === 1) throw new PrivacyError('ERR_PRIVACY_MALFORMED', `${what}: not base64url`);
  return new Uint8Array(Buffer.from(s, 'base64url'));
}

/** Unpadded base64url, as RFC 9577 §2.1 and §2.2 values are written. */
export function encodeBase64Url(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');
}

const TOKEN68_OR_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z=]+$/;

/**
 * Parses `PrivateToken token="…"[, other=…]` (RFC 9577 §2.2; auth-param syntax of RFC 9110
 * §11.2). Returns null when the scheme is not PrivateToken (the credential is someone
 * else's); throws ERR_PRIVACY_MALFORMED when it is, but does not parse, or has no or two
 * `token` parameters. Returns the decoded token bytes (not yet parsed as a Token).
 */
export function parsePrivateTokenCredential(value: string): Uint8Array | null {
  if (value.length > MAX_CREDENTIAL_CHARS) {
    if (/^\s*privatetoken(\s|$)/i.test(value.slice(0, 16))) throw new PrivacyError('ERR_PRIVACY_MALFORMED', 'private token credential too long');
    return null;
  }
  const m = /^\s*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)(?:\s+(.*?))?\s*$/s.exec(value);
  if (m === null) return null;
  if (m[1]!.toLowerCase() !== AUTH_SCHEME.toLowerCase()) return null;
  let token: string | undefined;
  for (const part of splitParams(m[2] ?? '')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new PrivacyError('ERR_PRIVACY_MALFORMED', 'private token credential: bad auth-param');
    const name = part.slice(0, eq).trim().toLowerCase();
    let v = part.slice(eq + 1).trim();
    if (v.startsWith('"')) {
      if (v.length < 2 || !v.endsWith('"') || v.slice(1, -1).includes('"') || v.includes('\\')) throw new PrivacyError('ERR_PRIVACY_MALFORMED', 'private token credential: bad quoted string');
      v = v.slice(1, -1);
    } else if (!TOKEN68_OR_TOKEN.test(v)) {
      throw new PrivacyError('ERR_PRIVACY_MALFORMED', 'private token credential: bad parameter value');
    }
    if (name !== 'token') continue; // RFC 9577 §2.2: unknown parameters (e.g. extensions) are ignored
    if (token !== undefined) throw new PrivacyError('ERR_PRIVACY_MALFORMED', 'private token credential: token= repeated');
    token = v;
  }
  if (token === undefined) throw new PrivacyError('ERR_PRIVACY_MALFORMED', 'private token credential: no token=');
  return decodeBase64Url(token, 'private token');
}

/** Splits auth-params on commas outside quoted strings; empty items are skipped (RFC 9110 §5.6.1). */
function splitParams(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let isQuoted = false;
  for (const ch of s) {
    if (ch === '"') isQuoted = !isQuoted;
    if (ch === ',' && !isQuoted) {
      if (cur.trim() !== '') out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (isQuoted) throw new PrivacyError('ERR_PRIVACY_MALFORMED', 'private token credential: unterminated quoted string');
  if (cur.trim() !== '') out.push(cur);
  return out;
}

/** `PrivateToken token="<base64url>"` for a request header (RFC 9577 §2.2). */
export function formatPrivateTokenCredential(token: Uint8Array): string {
  return `${AUTH_SCHEME} token="${encodeBase64Url(token)}"`;
}

/** `PrivateToken challenge="…", token-key="…"` for a 401/407 challenge (RFC 9577 §2.1). */
export function formatPrivateTokenChallenge(challenge: Uint8Array, tokenKey: Uint8Array | undefined): string {
  const key = tokenKey === undefined ? '' : `, token-key="${encodeBase64Url(tokenKey)}"`;
  return `${AUTH_SCHEME} challenge="${encodeBase64Url(challenge)}"${key}`;
}
