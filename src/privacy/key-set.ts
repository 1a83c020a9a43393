/**
 * The issuer public keys an egress accepts (sans-IO except for parsing key bytes with
 * node:crypto). Keys come from the configuration (`private_token_issuer_keys`, base64url
 * SPKI) or from an issuer directory (RFC 9578 §4, `token-keys` with `not-before`).
 *
 * Rotation rule (docs/protocol/privacy.md §4): among directory keys whose not-before has
 * passed, the newest is current and the one before it stays accepted for `graceMs` after
 * the current key's not-before; older ones are refused. Keys listed without not-before
 * (static configuration) are always accepted: the operator rotates by editing the list.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { PrivacyConfigError } from './errors.js';
import { decodeBase64Url, TOKEN_TYPE_BLIND_RSA, BLIND_RSA_NK } from './token.js';

/** One issuer public key (RFC 9578 §6.5: RSASSA-PSS SubjectPublicKeyInfo, 2048-bit). */
export interface IssuerPublicKey {
  /** The SPKI bytes as the directory publishes them (`token-key`). */
  tokenKey: Uint8Array;
  /** token_key_id = SHA-256(tokenKey) (RFC 9578 §6.5). */
  id: Uint8Array;
  idHex: string;
  /** Directory `not-before` in ms; undefined = valid from the start, forever (static key). */
  notBeforeMs?: number;
  /** The key for node:crypto verify (RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48). */
  key: KeyObject;
}

/** Parses one token key (base64url or bytes). Throws PrivacyConfigError. */
export function parseIssuerPublicKey(tokenKey: Uint8Array | string, notBeforeMs?: number): IssuerPublicKey {
  let bytes: Uint8Array;
  let key: KeyObject;
  try {
    bytes = typeof tokenKey === 'string' ? decodeBase64Url(tokenKey.trim(), 'issuer token key') : tokenKey;
    key = createPublicKey({ key: Buffer.from(bytes), format: 'der', type: 'spki' });
  } catch (e) {
    throw new PrivacyConfigError('issuer token key: not a base64url RSASSA-PSS SubjectPublicKeyInfo', { cause: e });
  }
  const d = key.asymmetricKeyDetails;
  // RFC 9578 §6.5: the key must carry the RSASSA-PSS OID with SHA-384 and a 48-byte salt.
  if (key.asymmetricKeyType !== 'rsa-pss' || d?.modulusLength !== BLIND_RSA_NK * 8 || d.hashAlgorithm !== 'sha384' || d.saltLength !== 48) {
    throw new PrivacyConfigError('issuer token key: want RSASSA-PSS 2048-bit, SHA-384, salt 48 (RFC 9578 §6.5)');
  }
  const id = new Uint8Array(createHash('sha256').update(bytes).digest());
  return { tokenKey: bytes, id, idHex: Buffer.from(id).toString('hex'), notBeforeMs, key };
}

/** RFC 9578 §4 issuer directory, as JSON. */
export interface IssuerDirectory {
  'issuer-request-uri': string;
  'token-keys': Array<{ 'token-type': number; 'token-key': string; 'not-before'?: number }>;
}

/**
 * Parses an issuer directory (RFC 9578 §4). Keys of other token types are skipped; unknown
 * members are ignored (§4: clients ignore what they do not understand). Throws
 * PrivacyConfigError for JSON or key errors.
 */
export function parseIssuerDirectory(text: string): IssuerPublicKey[] {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new PrivacyConfigError('issuer directory: not JSON', { cause: e });
  }
  const keys = (j as Partial<IssuerDirectory> | null)?.['token-keys'];
  if (!Array.isArray(keys)) throw new PrivacyConfigError('issuer directory: no "token-keys" list');
  const out: IssuerPublicKey[] = [];
  for (const k of keys) {
    if (k === null || typeof k !== 'object' || k['token-type'] !== TOKEN_TYPE_BLIND_RSA) continue;
    if (typeof k['token-key'] !== 'string') throw new PrivacyConfigError('issuer directory: "token-key" is not a string');
    const nb = k['not-before'];
    if (nb !== undefined && (typeof nb !== 'number' || !Number.isFinite(nb))) throw new PrivacyConfigError('issuer directory: bad "not-before"');
    out.push(parseIssuerPublicKey(k['token-key'], nb === undefined ? undefined : nb * 1000));
  }
  return out;
}

/** Builds a directory document (RFC 9578 §4) from keys, newest first. */
export function formatIssuerDirectory(requestUri: string, keys: readonly IssuerPublicKey[]): IssuerDirectory {
  return {
    'issuer-request-uri': requestUri,
    'token-keys': keys.map((k) => ({
      'token-type': TOKEN_TYPE_BLIND_RSA,
      'token-key': Buffer.from(k.tokenKey).toString('base64url'),
      ...(k.notBeforeMs === undefined ? {} : { 'not-before': Math.floor(k.notBeforeMs / 1000) }),
    })),
  };
}

/** An immutable set of issuer keys with the rotation rule above. */
export class KeySet {
  private readonly rotating: IssuerPublicKey[];
  private readonly fixed: IssuerPublicKey[];

  constructor(keys: readonly IssuerPublicKey[], private readonly graceMs: number) {
    this.fixed = keys.filter((k) => k.notBeforeMs === undefined);
    this.rotating = keys.filter((k) => k.notBeforeMs !== undefined).sort((a, b) => b.notBeforeMs! - a.notBeforeMs!);
  }

  static empty(): KeySet {
    return new KeySet([], 0);
  }

  get size(): number {
    return this.fixed.length + this.rotating.length;
  }

  /** The keys accepted at `nowMs`: every static key, the current one and the previous within its grace. */
  accepted(nowMs: number): IssuerPublicKey[] {
    const live = this.rotating.filter((k) => k.notBeforeMs! <= nowMs);
    const out = [...this.fixed];
    if (live[0]) out.push(live[0]);
    if (live[1] && nowMs < live[0]!.notBeforeMs! + this.graceMs) out.push(live[1]);
    return out;
  }

  /** The accepted key with this token_key_id, or null (unknown, rotated out, not yet valid). */
  find(id: Uint8Array, nowMs: number): IssuerPublicKey | null {
    const hex = Buffer.from(id).toString('hex');
    return this.accepted(nowMs).find((k) => k.idHex === hex) ?? null;
  }
}
