/**
 * Root of the project's error tree (STYLE.md §5).
 *
 * Every error we throw carries a stable `code` string (e.g. `ERR_H3_FRAME_UNEXPECTED`).
 * Tests and callers match on `code`, never on `message`. Each layer has one subclass
 * (QuicError, H3Error, CapsuleError, ProxyRequestError, TunError, ControlError, …).
 *
 * `isMasqueError()` uses a `Symbol.for` brand so the check survives duplicate copies
 * of this package in one process (undici's pattern); never rely on `instanceof`
 * across processes — the control API rebuilds errors from `{ code, message }`.
 */
const BRAND = Symbol.for('masque-relay.error');

export class MasqueError extends Error {
  readonly code: string;
  readonly [BRAND] = true;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** True for any MasqueError, even one from another copy of this package. */
export function isMasqueError(e: unknown): e is MasqueError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true;
}

/** Errors from the wire codecs (truncated input, out-of-range integers). */
export class WireError extends MasqueError {}
