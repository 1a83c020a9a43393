/**
 * Errors of the Privacy Pass layer (STYLE.md §5). One class, `PrivacyError`, with a stable
 * `code` and the HTTP status a relay answers with (masque-go's `ProxyRequestParseError`
 * pattern). Codes are matched by tests and metrics labels, never messages. Messages never
 * contain token bytes, nonces or key material (they may end up in logs).
 */
import { MasqueError } from '../core/errors.js';

/**
 * Per-request codes and their statuses. 400: the token or request does not parse;
 * 403: it parses and is refused (RFC 9110 §15.5.4); 429: issuance budget spent;
 * 503: the spent-token store is full (fail closed: never forget a spent token early).
 */
export const PRIVACY_ERROR_STATUS = {
  /** The `PrivateToken` credential or a token/token request does not parse (RFC 9577 §2.2, RFC 9578 §6). */
  ERR_PRIVACY_MALFORMED: 400,
  /** A token type other than 0x0002 (Blind RSA 2048, RFC 9578 §6). */
  ERR_PRIVACY_TOKEN_TYPE: 400,
  /** The token's key ID is not an accepted issuer key: unknown, rotated out, or not yet valid. */
  ERR_PRIVACY_UNKNOWN_KEY: 403,
  /** The token was made for another challenge (issuer name, origin) (RFC 9577 §2.2, challenge_digest). */
  ERR_PRIVACY_CHALLENGE: 403,
  /** The authenticator does not verify under the issuer key (RFC 9578 §6.4). */
  ERR_PRIVACY_SIGNATURE: 403,
  /** The token was already redeemed here (RFC 9576 §3.2 double-spend prevention). */
  ERR_PRIVACY_DOUBLE_SPEND: 403,
  /** Two-hop combined mode: a valid token, but not from a trusted ingress address. */
  ERR_PRIVACY_UNTRUSTED_SOURCE: 403,
  /** Issuance: the client is not authenticated with Noise. */
  ERR_PRIVACY_NOT_AUTHENTICATED: 403,
  /** Issuance: the request names a key ID the issuer does not sign with (RFC 9578 §6.3: 400). */
  ERR_PRIVACY_ISSUER_KEY: 400,
  /** Issuance: wrong content type (RFC 9578 §5: application/private-token-request). */
  ERR_PRIVACY_CONTENT_TYPE: 415,
  /** Issuance: this client's token budget for the window is spent. */
  ERR_PRIVACY_RATE_LIMITED: 429,
  /** The spent-token store is at capacity with nothing expired: refuse rather than forget. */
  ERR_PRIVACY_STORE_FULL: 503,
  /** Client side: the issuer's answer is unusable (status, directory, response size). */
  ERR_PRIVACY_ISSUER_RESPONSE: 502,
} as const;

export type PrivacyErrorCode = keyof typeof PRIVACY_ERROR_STATUS;

/** Configuration problems (bad issuer key, directory file) — an operator must act. */
export const ERR_PRIVACY_CONFIG = 'ERR_PRIVACY_CONFIG';

/** One request (or, on the client, one issuer answer) failed; carries the HTTP status. */
export class PrivacyError extends MasqueError {
  declare readonly code: PrivacyErrorCode;
  readonly httpStatus: number;

  constructor(code: PrivacyErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.httpStatus = PRIVACY_ERROR_STATUS[code];
  }
}

/** A bad issuer key list, directory or issuer key file. */
export class PrivacyConfigError extends MasqueError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ERR_PRIVACY_CONFIG, message, options);
  }
}
