/**
 * Errors of the control API (STYLE.md §5). Over the socket an error travels as
 * `{ error: { code, message } }` plus an HTTP status; the client rebuilds a ControlError
 * carrying the same code, so callers in another process match on `code` only.
 */
import { MasqueError, isMasqueError } from '../core/errors.js';

/** Stable codes produced by the control layer itself. Backends add their own codes. */
export const CONTROL_CODES = {
  /** Socket missing or nobody listening (ENOENT / ECONNREFUSED). */
  DAEMON_UNREACHABLE: 'ERR_CONTROL_DAEMON_UNREACHABLE',
  /** The OS refused us the socket (EACCES): not in the socket's group. */
  PERMISSION_DENIED: 'ERR_CONTROL_PERMISSION_DENIED',
  /** verifyOwnership failed: the socket belongs to neither root nor us. */
  SOCKET_OWNER: 'ERR_CONTROL_SOCKET_OWNER',
  /** The path exists but is not a socket (server refuses to delete it; client refuses it). */
  NOT_A_SOCKET: 'ERR_CONTROL_NOT_A_SOCKET',
  /** Another daemon answers on the socket already. */
  SOCKET_IN_USE: 'ERR_CONTROL_SOCKET_IN_USE',
  NOT_FOUND: 'ERR_CONTROL_NOT_FOUND',
  METHOD_NOT_ALLOWED: 'ERR_CONTROL_METHOD_NOT_ALLOWED',
  /** A write route on a read-only socket. */
  FORBIDDEN: 'ERR_CONTROL_FORBIDDEN',
  BAD_REQUEST: 'ERR_CONTROL_BAD_REQUEST',
  BODY_TOO_LARGE: 'ERR_CONTROL_BODY_TOO_LARGE',
  /** A handler failed with something that is not a MasqueError. */
  INTERNAL: 'ERR_CONTROL_INTERNAL',
  /** The daemon answered something that is not our protocol. */
  PROTOCOL: 'ERR_CONTROL_PROTOCOL',
  TIMEOUT: 'ERR_CONTROL_TIMEOUT',
} as const;

/** An error of the control API, local or rebuilt from a response. */
export class ControlError extends MasqueError {
  /** HTTP status of the response it came from (or will be sent with); 0 when local. */
  readonly httpStatus: number;

  constructor(code: string, message: string, options?: { cause?: unknown; httpStatus?: number }) {
    super(code, message, options);
    this.httpStatus = options?.httpStatus ?? 0;
  }
}

/**
 * HTTP status for an error thrown by a handler or backend. An explicit numeric `httpStatus`
 * wins; otherwise a few code families map to 4xx and everything else is 500.
 */
export function httpStatusFor(e: unknown): number {
  const s = (e as { httpStatus?: unknown } | null)?.httpStatus;
  if (typeof s === 'number' && s >= 400 && s <= 599) return s;
  if (!isMasqueError(e)) return 500;
  if (e.code.startsWith('ERR_CONFIG_')) return 400;
  if (/_(NOT_FOUND|UNKNOWN_RELAY)$/.test(e.code)) return 404;
  if (/_(CONFLICT|BUSY|ALREADY_[A-Z_]+)$/.test(e.code)) return 409;
  return 500;
}

/** The `{ error }` body for any thrown value. Non-MasqueErrors become ERR_CONTROL_INTERNAL. */
export function errorBody(e: unknown): { error: { code: string; message: string } } {
  if (isMasqueError(e)) return { error: { code: e.code, message: e.message } };
  const message = e instanceof Error ? e.message : String(e);
  return { error: { code: CONTROL_CODES.INTERNAL, message: `internal error: ${message}` } };
}
