/**
 * The only importer of `@matrixai/quic` (STYLE.md §3). It re-exports the raw quiche
 * binding and turns napi errors (whose message is quiche's Rust variant name, e.g.
 * "TlsFail", "InvalidStreamState(3)", "StreamReset(256)") into QuicError with stable codes.
 * quiche's `Done` already arrives as `null` from the binding; we keep it that way.
 */
import { quiche } from '@matrixai/quic/native/index.js';
import type {
  Config as NativeConfig,
  Connection as NativeConnection,
  SendInfo as NativeSendInfo,
  Stats as NativeStats,
  PathStats as NativePathStats,
} from '@matrixai/quic/native/types.js';
import { QuicError } from './errors.js';

export { quiche };
export type { NativeConfig, NativeConnection, NativeSendInfo, NativeStats, NativePathStats };

/** quiche variant name → our stable code. */
const CODES: Record<string, string> = {
  BufferTooShort: 'ERR_QUIC_BUFFER_TOO_SHORT',
  UnknownVersion: 'ERR_QUIC_UNKNOWN_VERSION',
  InvalidFrame: 'ERR_QUIC_INVALID_FRAME',
  InvalidPacket: 'ERR_QUIC_INVALID_PACKET',
  InvalidState: 'ERR_QUIC_INVALID_STATE',
  InvalidStreamState: 'ERR_QUIC_INVALID_STREAM_STATE',
  InvalidTransportParam: 'ERR_QUIC_INVALID_TRANSPORT_PARAM',
  CryptoFail: 'ERR_QUIC_CRYPTO_FAIL',
  TlsFail: 'ERR_QUIC_TLS_FAIL',
  FlowControl: 'ERR_QUIC_FLOW_CONTROL',
  StreamLimit: 'ERR_QUIC_STREAM_LIMIT',
  StreamStopped: 'ERR_QUIC_STREAM_STOPPED',
  StreamReset: 'ERR_QUIC_STREAM_RESET',
  FinalSize: 'ERR_QUIC_FINAL_SIZE',
  CongestionControl: 'ERR_QUIC_CONGESTION_CONTROL',
  IdLimit: 'ERR_QUIC_ID_LIMIT',
  OutOfIdentifiers: 'ERR_QUIC_OUT_OF_IDENTIFIERS',
  KeyUpdate: 'ERR_QUIC_KEY_UPDATE',
};

/**
 * Wraps a napi error. `context` says what we were doing ('quic: streamSend').
 * Variants with an argument ("StreamReset(256)") keep it as `appCode`.
 */
export function toQuicError(e: unknown, context: string): QuicError {
  if (e instanceof QuicError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  const m = /^([A-Za-z]+)(?:\((\d+)\))?/.exec(msg);
  const variant = m?.[1] ?? 'Unknown';
  const arg = m?.[2] !== undefined ? Number(m[2]) : undefined;
  const code = CODES[variant] ?? 'ERR_QUIC_NATIVE';
  return new QuicError(code, `${context}: ${msg}`, { cause: e, quicheError: variant, appCode: arg });
}

/** Calls `fn`, mapping thrown napi errors. */
export function native<T>(context: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw toQuicError(e, context);
  }
}
