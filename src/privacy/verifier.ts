/**
 * TokenVerifier: the egress's check of one redeemed token (RFC 9578 §6.4), with the issuer
 * PUBLIC key only. Synchronous (node:crypto RSASSA-PSS verify, ~40 µs), so it fits the
 * synchronous Authorizer interface. Order: parse → key → challenge → signature → spend; a
 * token that fails any check never enters the spent store.
 */
import { constants, timingSafeEqual, verify } from 'node:crypto';
import { PrivacyError } from './errors.js';
import type { KeySet } from './key-set.js';
import type { SpentTokenStore } from './spent-store.js';
import { parseToken } from './token.js';

export interface TokenVerifierOptions {
  /** The accepted issuer keys (a getter: the directory may be reloaded at any time). */
  keys: () => KeySet;
  /** SHA-256 of this egress's TokenChallenge (challenge.ts). */
  challengeDigest: Uint8Array;
  spent: SpentTokenStore;
}

export interface VerifiedToken {
  tokenType: number;
}

export class TokenVerifier {
  constructor(private readonly opts: TokenVerifierOptions) {}

  /** Verifies and spends `tokenBytes`. Throws PrivacyError (never anything else for peer input). */
  verify(tokenBytes: Uint8Array, nowMs: number): VerifiedToken {
    const t = parseToken(tokenBytes);
    const keys = this.opts.keys();
    const key = keys.find(t.tokenKeyId, nowMs);
    if (key === null) throw new PrivacyError('ERR_PRIVACY_UNKNOWN_KEY', 'private token: issuer key unknown or rotated out');
    if (!timingSafeEqual(t.challengeDigest, this.opts.challengeDigest)) {
      throw new PrivacyError('ERR_PRIVACY_CHALLENGE', 'private token: made for another issuer or origin');
    }
    // RFC 9578 §6.4: RSASSA-PSS-VERIFY with SHA-384, MGF1-SHA-384, 48-byte salt over token_input.
    const isValid = verify('sha384', t.tokenInput, { key: key.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 }, t.authenticator);
    if (!isValid) throw new PrivacyError('ERR_PRIVACY_SIGNATURE', 'private token: bad authenticator');
    this.opts.spent.retainKeys(new Set(keys.accepted(nowMs).map((k) => k.idHex)));
    const r = this.opts.spent.spend(key.idHex, t.tokenInput);
    if (r === 'spent') throw new PrivacyError('ERR_PRIVACY_DOUBLE_SPEND', 'private token: already redeemed');
    if (r === 'full') throw new PrivacyError('ERR_PRIVACY_STORE_FULL', 'private token: spent-token store full');
    return { tokenType: t.tokenType };
  }
}
