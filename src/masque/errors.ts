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
import type { ProxyStatusErrorType } from './proxy-status.js';

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

// Capsule and datagram codecs live in the HTTP/3 layer (RFC 9297); re-exported for callers here.
export { CapsuleError, DatagramError } from '../h3/errors.js';
