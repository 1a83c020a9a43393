/**
 * QUIC layer errors. `code` is stable (ERR_QUIC_…); `quicheError` keeps quiche's variant
 * name when the error came from the binding (only quic/native.ts reads napi messages).
 */
import { MasqueError } from '../core/errors.js';

export class QuicError extends MasqueError {
  /** quiche's error variant (e.g. "TlsFail", "InvalidStreamState"), when there is one. */
  readonly quicheError?: string;
  /** For stream resets / stops: the application error code the peer sent. */
  readonly appCode?: number;

  constructor(code: string, message: string, opts: { cause?: unknown; quicheError?: string; appCode?: number } = {}) {
    super(code, message, { cause: opts.cause });
    this.quicheError = opts.quicheError;
    this.appCode = opts.appCode;
  }
}
