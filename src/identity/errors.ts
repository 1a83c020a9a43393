/**
 * Errors of the identity layer (STYLE.md §5).
 *
 * Two classes, because they fail in different places:
 * - `IdentityError`: configuration and key material (a bad key string, an unreadable key
 *   file, a syntax error in the authorized-keys file). An operator must act; no HTTP status.
 * - `AuthError`: one request failed authentication. It carries the HTTP status the relay
 *   answers with (masque-go's `ProxyRequestParseError{HTTPStatus}` pattern). On the client
 *   side (`finishClient`) the status is not sent anywhere; it only classifies the failure.
 *
 * Codes are stable; tests and callers match on `code`, never on `message`.
 */
import { MasqueError } from '../core/errors.js';

/** Stable codes of `IdentityError`. */
export const ERR_KEY_INVALID = 'ERR_KEY_INVALID';
export const ERR_KEY_FILE = 'ERR_KEY_FILE';
export const ERR_AUTHORIZED_KEYS_SYNTAX = 'ERR_AUTHORIZED_KEYS_SYNTAX';
export const ERR_TOKEN_INVALID = 'ERR_TOKEN_INVALID';
export const ERR_CIDR_INVALID = 'ERR_CIDR_INVALID';

/** A bad key, key file, authorized-keys file, token list or CIDR in the configuration. */
export class IdentityError extends MasqueError {
  /** 1-based line of the offending input, when it came from a file. */
  readonly line: number | undefined;

  constructor(code: string, message: string, options?: { cause?: unknown; line?: number }) {
    super(code, message, options);
    this.line = options?.line;
  }
}

/**
 * Per-request authentication failure codes and the HTTP status each maps to.
 * 400: the credentials could not be parsed; 407: none were presented and the relay wants
 * some (a `proxy-authenticate` challenge goes with it, RFC 9110 §11.7.1); 403: they were
 * understood and refused (RFC 9110 §15.5.4). Client-side failures (the relay's response
 * does not verify) use 502: the proxy's answer is not acceptable.
 */
export const AUTH_ERROR_STATUS = {
  ERR_AUTH_MALFORMED: 400,
  ERR_AUTH_VERSION: 400,
  ERR_AUTH_REQUIRED: 407,
  ERR_AUTH_UNKNOWN_KEY: 403,
  ERR_AUTH_REPLAY: 403,
  ERR_AUTH_STALE: 403,
  ERR_AUTH_CERT_MISMATCH: 403,
  ERR_AUTH_DECRYPT: 403,
  ERR_AUTH_BAD_TOKEN: 403,
  ERR_AUTH_RELAY_RESPONSE: 502,
} as const;

export type AuthErrorCode = keyof typeof AUTH_ERROR_STATUS;

/** One request (or one relay response, on the client) failed authentication. */
export class AuthError extends MasqueError {
  declare readonly code: AuthErrorCode;
  /** The status the relay answers with; see AUTH_ERROR_STATUS. */
  readonly httpStatus: number;

  constructor(code: AuthErrorCode, message: string, options?: { cause?: unknown; httpStatus?: number }) {
    super(code, message, options);
    this.httpStatus = options?.httpStatus ?? AUTH_ERROR_STATUS[code];
  }
}
