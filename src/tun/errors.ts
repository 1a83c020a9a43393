/**
 * Errors of the TUN layer (STYLE.md §5). Codes are stable; match on `code`, never on message.
 *
 *   ERR_TUN_UNSUPPORTED     no native TUN on this platform, or the addon is not built
 *   ERR_TUN_OPEN            opening /dev/net/tun or TUNSETIFF failed (`errno`: EPERM without
 *                           CAP_NET_ADMIN, EBUSY for a name in use without multi-queue, …)
 *   ERR_TUN_CLOSED          the device was closed
 *   ERR_TUN_PACKET_TOO_BIG  a packet handed to write() is longer than the MTU
 *   ERR_TUN_READ / ERR_TUN_WRITE   a read/write syscall failed (`errno` says why)
 *   ERR_TUN_MTU             getting or setting the MTU failed
 *   ERR_TUN_CONFIG          `ip` refused an interface configuration step
 */
import { MasqueError } from '../core/errors.js';

export class TunError extends MasqueError {
  /** libuv errno name of the failed syscall (`EPERM`, `EBUSY`, …), when there was one. */
  readonly errno: string | undefined;

  constructor(code: string, message: string, options?: { cause?: unknown; errno?: string }) {
    super(code, message, options);
    this.errno = options?.errno;
  }
}

/** Wraps an error thrown by the native addon (its `code` is an errno name) with context. */
export function tunErrorFromNative(code: string, what: string, e: unknown): TunError {
  const errno = typeof (e as { code?: unknown })?.code === 'string' ? (e as { code: string }).code : undefined;
  const detail = e instanceof Error ? e.message : String(e);
  return new TunError(code, `tun: ${what}: ${detail}`, { cause: e, errno });
}
