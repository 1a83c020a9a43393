/**
 * Errors of the config layer. Every ConfigError names what is wrong and where: the TOML key
 * (dotted path, e.g. `egress.ipv4_pool` or `relays[1].public_key`) and the file and line, or
 * the command-line flag that supplied the value. The message already carries that location
 * (`relay.toml:12: listen: …`); the fields are for programs and tests.
 */
import { MasqueError } from '../core/errors.js';

export const CONFIG_CODES = {
  /** File missing or unreadable (errno in `cause`). */
  READ: 'ERR_CONFIG_READ',
  /** Not valid TOML (line and column from the parser). */
  SYNTAX: 'ERR_CONFIG_SYNTAX',
  /** A value of the wrong type or out of range. */
  INVALID: 'ERR_CONFIG_INVALID',
  /** A key we do not know (usually a typo). */
  UNKNOWN_KEY: 'ERR_CONFIG_UNKNOWN_KEY',
  /** A required key is absent. */
  MISSING_KEY: 'ERR_CONFIG_MISSING_KEY',
  /** `auth = "none"` on a non-loopback listen without `force_auth_none`. */
  AUTH_NONE_REFUSED: 'ERR_CONFIG_AUTH_NONE_REFUSED',
  /** A chain or connect option names a relay that is not in `[[relays]]`. */
  UNKNOWN_RELAY: 'ERR_CONFIG_UNKNOWN_RELAY',
  /** `config init` would overwrite a file. */
  EXISTS: 'ERR_CONFIG_EXISTS',
} as const;

export interface ConfigErrorLocation {
  /** Dotted TOML key path. */
  key?: string;
  file?: string;
  /** 1-based line in `file`. */
  line?: number;
  /** The command-line flag that supplied the value, e.g. `--listen`. */
  flag?: string;
}

export class ConfigError extends MasqueError {
  readonly key: string | undefined;
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly flag: string | undefined;

  constructor(code: string, message: string, loc: ConfigErrorLocation = {}, options?: { cause?: unknown }) {
    super(code, formatMessage(message, loc), options);
    this.key = loc.key;
    this.file = loc.file;
    this.line = loc.line;
    this.flag = loc.flag;
  }
}

/** `file:line: key: message`, `flag --x: message`, or the parts that are known. */
function formatMessage(message: string, loc: ConfigErrorLocation): string {
  let where = '';
  if (loc.flag !== undefined) where = `flag ${loc.flag}`;
  else if (loc.file !== undefined) where = loc.line !== undefined ? `${loc.file}:${loc.line}` : loc.file;
  else if (loc.line !== undefined) where = `line ${loc.line}`;
  const key = loc.key !== undefined && loc.flag === undefined ? `${loc.key}: ` : '';
  return where === '' ? `${key}${message}` : `${where}: ${key}${message}`;
}
