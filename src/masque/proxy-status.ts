/**
 * The Proxy-Status response header (RFC 9209) and the mapping from our failures to an HTTP
 * status plus Proxy-Status parameters (`errToStatus`, after masque-go's proxy.go).
 *
 * Format (RFC 9209 §2): a Structured Fields List (RFC 8941 §3.1) of one member per intermediary;
 * ours is `<proxy-name>; error=<type>; details="…"` — the name an sf-token (or sf-string when it
 * is not a valid token), `error` a token (§2.1.1), `details` an sf-string (§2.1.5).
 */
import { isMasqueError } from '../core/errors.js';
import { ProxyRequestError } from './errors.js';

/** RFC 9209 §2.3: the registered Proxy Error Types. */
export type ProxyStatusErrorType =
  | 'dns_timeout' | 'dns_error' | 'destination_not_found' | 'destination_unavailable'
  | 'destination_ip_prohibited' | 'destination_ip_unroutable' | 'connection_refused'
  | 'connection_terminated' | 'connection_timeout' | 'connection_read_timeout'
  | 'connection_write_timeout' | 'connection_limit_reached' | 'tls_protocol_error'
  | 'tls_certificate_error' | 'tls_alert_received' | 'http_request_error' | 'http_request_denied'
  | 'http_response_incomplete' | 'http_response_header_section_size' | 'http_response_header_size'
  | 'http_response_body_size' | 'http_response_trailer_section_size' | 'http_response_trailer_size'
  | 'http_response_transfer_coding' | 'http_response_content_coding' | 'http_response_timeout'
  | 'http_upgrade_failed' | 'http_protocol_error' | 'proxy_internal_response'
  | 'proxy_internal_error' | 'proxy_configuration_error' | 'proxy_loop_detected';

/**
 * Recommended HTTP status per error type (the "Recommended HTTP Status Code" of each
 * RFC 9209 §2.3.x entry) for the types this relay produces; others fall back to 502.
 */
export const PROXY_ERROR_HTTP_STATUS: Readonly<Partial<Record<ProxyStatusErrorType, number>>> = {
  dns_timeout: 504,
  dns_error: 502,
  destination_not_found: 500,
  destination_unavailable: 503,
  destination_ip_prohibited: 502,
  destination_ip_unroutable: 502,
  connection_refused: 502,
  connection_terminated: 502,
  connection_timeout: 504,
  connection_limit_reached: 503,
  http_request_error: 400,
  http_request_denied: 403,
  proxy_internal_error: 500,
  proxy_configuration_error: 500,
  proxy_loop_detected: 502,
};

/** What to answer a failed extended CONNECT with. */
export interface ProxyStatus {
  readonly httpStatus: number;
  readonly error: ProxyStatusErrorType;
  /** Free text for operators (RFC 9209 §2.1.5); must not leak secrets. */
  readonly details?: string;
  /** dns_error only: the DNS RCODE, e.g. 'NXDOMAIN' (RFC 9209 §2.3.2). */
  readonly rcode?: string;
}

const TOKEN_RE = /^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*$/;

/**
 * RFC 8941 §4.1.6 sf-string: quoted, with `\` and `"` escaped. sf-strings only allow 0x20–0x7E,
 * so any other character (free-text details) is replaced by `?` instead of failing.
 */
export function formatSfString(s: string): string {
  return `"${s.replace(/[^\x20-\x7e]/g, '?').replace(/[\\"]/g, '\\$&')}"`;
}

/**
 * Formats one Proxy-Status member. `proxyName` becomes an sf-token when it is one (e.g. a host
 * name), else an sf-string (RFC 9209 §2).
 */
export function formatProxyStatus(proxyName: string, st: Omit<ProxyStatus, 'httpStatus'>): string {
  let out = TOKEN_RE.test(proxyName) ? proxyName : formatSfString(proxyName);
  out += `; error=${st.error}`;
  if (st.rcode !== undefined) out += `; rcode=${formatSfString(st.rcode)}`;
  if (st.details !== undefined && st.details !== '') out += `; details=${formatSfString(st.details)}`;
  return out;
}

function status(error: ProxyStatusErrorType, details?: string, rcode?: string): ProxyStatus {
  return { httpStatus: PROXY_ERROR_HTTP_STATUS[error] ?? 502, error, details, rcode };
}

/** Node system/DNS error codes (from `err.code`) → RFC 9209 type (+ DNS RCODE). */
const SYSCALL_STATUS: Readonly<Record<string, [ProxyStatusErrorType, string?]>> = {
  ENOTFOUND: ['dns_error', 'NXDOMAIN'],
  EAI_NONAME: ['dns_error', 'NXDOMAIN'],
  ENODATA: ['dns_error', 'NOERROR'], // name exists, no address of the wanted family
  ESERVFAIL: ['dns_error', 'SERVFAIL'],
  EREFUSED: ['dns_error', 'REFUSED'],
  EAI_FAIL: ['dns_error', 'SERVFAIL'],
  EAI_AGAIN: ['dns_timeout'],
  ETIMEOUT: ['dns_timeout'],
  ECONNREFUSED: ['connection_refused'],
  ECONNRESET: ['connection_terminated'],
  EPIPE: ['connection_terminated'],
  ETIMEDOUT: ['connection_timeout'],
  ENETUNREACH: ['destination_ip_unroutable'],
  EHOSTUNREACH: ['destination_ip_unroutable'],
  EADDRNOTAVAIL: ['destination_ip_unroutable'],
  EACCES: ['destination_ip_prohibited'], // e.g. broadcast without SO_BROADCAST, firewall
  EPERM: ['destination_ip_prohibited'],
  EMFILE: ['connection_limit_reached'],
  ENFILE: ['connection_limit_reached'],
};

/**
 * Maps a failure to the HTTP status and Proxy-Status parameters of the refusal.
 * - ProxyRequestError → its `httpStatus` / `proxyStatusError`, details = its message (our text).
 * - An object with a Node system error `code` (dns.lookup, dgram, net) → the RFC 9209 type of
 *   SYSCALL_STATUS; details = the code only (messages can carry internal addresses).
 * - Anything else → 500 proxy_internal_error with no details.
 */
export function errToStatus(err: unknown): ProxyStatus {
  if (err instanceof ProxyRequestError || (isMasqueError(err) && 'httpStatus' in err && 'proxyStatusError' in err)) {
    const e = err as ProxyRequestError;
    return { httpStatus: e.httpStatus, error: e.proxyStatusError, details: e.message };
  }
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  if (typeof code === 'string' && code in SYSCALL_STATUS) {
    const [type, rcode] = SYSCALL_STATUS[code];
    return status(type, code, rcode);
  }
  return status('proxy_internal_error');
}
