/**
 * Errors of the MASQUE layer (STYLE.md §5). Every class derives from MasqueError and carries a
 * stable `code`; tests and callers match on `code`, never on `message`.
 *
 * - CapsuleError: a capsule stream is malformed (RFC 9297 §3.3). The session aborts the request
 *   stream with H3_MESSAGE_ERROR (`h3Code`), see `toH3Error()`.
 * - ProxyRequestError: an extended CONNECT the proxy refuses, with the HTTP status to answer and
 *   the RFC 9209 Proxy-Status error type (masque-go's ProxyRequestParseError, plus Proxy-Status).
 * - TemplateError: a URI template from configuration is invalid (RFC 9298 §2, RFC 9484 §3).
 * - IpAddressError: an IP address or prefix string/config value is invalid.
 * - DatagramError: a local misuse of the datagram helpers (e.g. not enough headroom).
 */
import { MasqueError } from '../core/errors.js';
import { H3Error, H3_MESSAGE_ERROR } from '../h3/errors.js';
import type { ProxyStatusErrorType } from './proxy-status.js';

/**
 * A malformed capsule or capsule stream. RFC 9297 §3.3: a capsule truncated at FIN, or a value
 * with extra/missing bytes for its type, makes the HTTP message malformed; in HTTP/3 that is a
 * stream error H3_MESSAGE_ERROR (RFC 9114 §4.1.2). Codes: ERR_CAPSULE_TRUNCATED,
 * ERR_CAPSULE_TOO_LARGE, ERR_CAPSULE_MALFORMED, ERR_CAPSULE_IP_VERSION, ERR_CAPSULE_PREFIX_LENGTH,
 * ERR_CAPSULE_HOST_BITS, ERR_CAPSULE_REQUEST_ID, ERR_CAPSULE_EMPTY_REQUEST,
 * ERR_CAPSULE_RANGE_START_END, ERR_CAPSULE_RANGE_ORDER.
 */
export class CapsuleError extends MasqueError {
  /** Wire code the session resets the request stream with (RFC 9297 §3.3). */
  readonly h3Code = H3_MESSAGE_ERROR;

  /** The H3 stream error to abort the request stream with (not a connection error). */
  toH3Error(): H3Error {
    return new H3Error(H3_MESSAGE_ERROR, `masque: ${this.message}`, false, { cause: this });
  }
}

/**
 * The proxy refuses an extended CONNECT (masque-go `ProxyRequestParseError{HTTPStatus, Err}`).
 * `httpStatus` is the response status; `proxyStatusError` the RFC 9209 §2.3 error type for the
 * Proxy-Status header (see proxy-status.ts `errToStatus`). Codes start with ERR_PROXY_.
 */
export class ProxyRequestError extends MasqueError {
  readonly httpStatus: number;
  readonly proxyStatusError: ProxyStatusErrorType;

  constructor(
    code: string,
    httpStatus: number,
    message: string,
    proxyStatusError: ProxyStatusErrorType = 'http_request_error',
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.httpStatus = httpStatus;
    this.proxyStatusError = proxyStatusError;
  }
}

/** An invalid URI template (configuration error). Codes start with ERR_TEMPLATE_. */
export class TemplateError extends MasqueError {}

/** An invalid IP address / prefix string or value. Codes start with ERR_IP_. */
export class IpAddressError extends MasqueError {}

/** Misuse of the datagram helpers by local code (never caused by a peer). ERR_DATAGRAM_*. */
export class DatagramError extends MasqueError {}
