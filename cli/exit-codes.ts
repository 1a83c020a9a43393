/**
 * relay-cli's exit codes. Stable: scripts depend on them (documented in docs/cli.md; changing
 * one is a breaking change). `exitCodeFor` maps an error's code to one of them.
 */
import { MasqueError, isMasqueError } from '../src/core/errors.js';

export const EXIT = {
  OK: 0,
  /** Anything not listed below (a bug, an unexpected I/O error). */
  FAILURE: 1,
  /** Bad arguments or options (commander errors, conflicting flags). */
  USAGE: 2,
  /** A config file is missing, unreadable or invalid; a bad key or CIDR. */
  CONFIG: 3,
  /** The daemon's socket is missing, nobody listens, or it stopped answering. */
  DAEMON_UNREACHABLE: 4,
  /** The tunnel ended in an error state, or did not connect in time. */
  CONNECT_FAILED: 5,
  /** `serve`, `daemon` or `connect --foreground` needs an engine this build lacks. */
  NOT_BUILT: 6,
  /** The OS refused the socket, or its owner failed the ownership check. */
  PERMISSION: 7,
  /** Interrupted (Ctrl-C) while waiting. */
  INTERRUPTED: 130,
} as const;

/** Descriptions for help and docs, in code order. */
export const EXIT_CODE_HELP: [number, string][] = [
  [EXIT.OK, 'success'],
  [EXIT.FAILURE, 'unexpected failure'],
  [EXIT.USAGE, 'bad arguments or options'],
  [EXIT.CONFIG, 'config file missing, unreadable or invalid (also bad keys)'],
  [EXIT.DAEMON_UNREACHABLE, 'daemon not reachable on the control socket'],
  [EXIT.CONNECT_FAILED, 'connect failed or timed out'],
  [EXIT.NOT_BUILT, 'engine not built into this installation'],
  [EXIT.PERMISSION, 'permission denied on the control socket, or untrusted socket owner'],
  [EXIT.INTERRUPTED, 'interrupted while waiting'],
];

/** An error raised by the CLI itself, with an explicit exit code. */
export class CliError extends MasqueError {
  readonly exitCode: number;
  constructor(code: string, message: string, exitCode: number, options?: { cause?: unknown }) {
    super(code, message, options);
    this.exitCode = exitCode;
  }
}

/** Exit code for any thrown value. */
export function exitCodeFor(e: unknown): number {
  if (e instanceof CliError) return e.exitCode;
  if (!isMasqueError(e)) return EXIT.FAILURE;
  const c = e.code;
  if (c === 'ERR_USAGE') return EXIT.USAGE;
  if (c === 'ERR_NOT_BUILT') return EXIT.NOT_BUILT;
  if (/^ERR_(CONFIG|KEY|CIDR|TEMPLATE|AUTHORIZED_KEYS|TOKEN)_/.test(c)) return EXIT.CONFIG;
  if (c === 'ERR_CONTROL_DAEMON_UNREACHABLE' || c === 'ERR_CONTROL_TIMEOUT' || c === 'ERR_CONTROL_PROTOCOL') return EXIT.DAEMON_UNREACHABLE;
  if (c === 'ERR_CONTROL_PERMISSION_DENIED' || c === 'ERR_CONTROL_SOCKET_OWNER' || c === 'ERR_CONTROL_NOT_A_SOCKET') return EXIT.PERMISSION;
  if (/^ERR_(CONNECT|TUNNEL)_/.test(c)) return EXIT.CONNECT_FAILED;
  return EXIT.FAILURE;
}
