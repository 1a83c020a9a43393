/**
 * The relay's allowlist of client static keys (the authorized-keys file).
 *
 * Format, one entry per line (auth.md §2):
 *
 *   # comment
 *   <base64 public key> [name]      e.g.  xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg= alice laptop
 *
 * Blank lines and lines starting with `#` are ignored; the name is the rest of the line
 * (a leading `#` on it is dropped, so `key # alice` also works). A key listed twice is an
 * error: it is almost always a copy-paste mistake, and two names for one key would make
 * logs ambiguous.
 *
 * `AuthorizedKeys` is immutable, so reloading is "parse the new file, swap one reference":
 * a handshake in flight keeps using the object it started with, and a file with a syntax
 * error never replaces a good one.
 */
import { ERR_AUTHORIZED_KEYS_SYNTAX, IdentityError } from './errors.js';
import { decodeKey, encodeKey } from './keys.js';

export interface AuthorizedKey {
  /** Canonical base64 text form (the map key). */
  readonly publicKey: string;
  /** Free-form name from the file, for logs; undefined if none. */
  readonly name: string | undefined;
  /** 1-based line in the source file (0 when built from a list). */
  readonly line: number;
}

export class AuthorizedKeys {
  private readonly byKey: ReadonlyMap<string, AuthorizedKey>;
  /** Where the entries came from (a path), for messages. */
  readonly source: string;

  private constructor(entries: Map<string, AuthorizedKey>, source: string) {
    this.byKey = entries;
    this.source = source;
    Object.freeze(this);
  }

  /** An allowlist that admits nobody. */
  static empty(source = '(empty)'): AuthorizedKeys {
    return new AuthorizedKeys(new Map(), source);
  }

  /**
   * Parses the file's text. Throws IdentityError ERR_AUTHORIZED_KEYS_SYNTAX whose message
   * starts with `source:line:` and whose `line` property is set; the invalid text itself
   * is not echoed beyond what is needed (keys are public, but lines may carry notes).
   */
  static parse(text: string, source = 'authorized-keys'): AuthorizedKeys {
    const entries = new Map<string, AuthorizedKey>();
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const lineNo = i + 1;
      const raw = lines[i]!.trim();
      if (raw === '' || raw.startsWith('#')) continue;
      const m = /^(\S+)(?:\s+(.*))?$/.exec(raw)!;
      let key: Uint8Array;
      try {
        key = decodeKey(m[1]!, 'public key');
      } catch (cause) {
        throw syntaxError(source, lineNo, (cause as Error).message, cause);
      }
      const publicKey = encodeKey(key);
      const prev = entries.get(publicKey);
      if (prev !== undefined) {
        throw syntaxError(source, lineNo, `duplicate key (first listed on line ${prev.line})`);
      }
      const name = m[2]?.replace(/^#\s*/, '').trim() || undefined;
      entries.set(publicKey, Object.freeze({ publicKey, name, line: lineNo }));
    }
    return new AuthorizedKeys(entries, source);
  }

  /** Builds an allowlist from keys in text form (config given inline). Same errors as parse. */
  static fromList(keys: Iterable<string | { publicKey: string; name?: string }>, source = 'config'): AuthorizedKeys {
    const lines: string[] = [];
    for (const k of keys) {
      lines.push(typeof k === 'string' ? k : `${k.publicKey} ${k.name ?? ''}`);
    }
    return AuthorizedKeys.parse(lines.join('\n'), source);
  }

  get size(): number {
    return this.byKey.size;
  }

  /** The entry for a key (raw 32 bytes or text form), or undefined. Never throws. */
  get(publicKey: Uint8Array | string): AuthorizedKey | undefined {
    if (typeof publicKey === 'string') return this.byKey.get(publicKey.trim());
    if (publicKey.byteLength !== 32) return undefined;
    return this.byKey.get(encodeKey(publicKey));
  }

  /** True if the key is listed. Suitable as `isAuthorized` for verifyClientHello. */
  has(publicKey: Uint8Array | string): boolean {
    return this.get(publicKey) !== undefined;
  }

  /** All entries in file order. */
  entries(): IterableIterator<AuthorizedKey> {
    return this.byKey.values();
  }
}

function syntaxError(source: string, line: number, detail: string, cause?: unknown): IdentityError {
  return new IdentityError(ERR_AUTHORIZED_KEYS_SYNTAX, `${source}:${line}: ${detail}`, { line, cause });
}
