/**
 * `Proxy-Authorization: Bearer <token>` for standard MASQUE clients that speak no Noise.
 *
 * Tokens are shared secrets from the relay's configuration, each with an id used in logs
 * and principals (the token itself is never returned or logged). The check is constant
 * time with respect to the presented token: every configured token is compared (as a
 * SHA-256 digest, so lengths never leak) with no early exit.
 *
 * Pure: no I/O; RFC 6750 §2.1 syntax, RFC 9110 §11.6.2 for Proxy-Authorization.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AuthError, ERR_TOKEN_INVALID, IdentityError } from './errors.js';

/** Shortest configured token we accept: below this a token is guessable online. */
export const MIN_BEARER_TOKEN_CHARS = 16;

/** RFC 6750 §2.1 `b64token`. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

export interface BearerTokenConfig {
  /** Name for logs and the principal (e.g. "ci-runner"); not secret. */
  id: string;
  token: string;
}

/** A parsed `Proxy-Authorization` value: the scheme (lower-cased) and the rest. */
export interface Credentials {
  scheme: string;
  params: string;
}

/**
 * Splits a credentials value (RFC 9110 §11.4: `scheme [ 1*SP ( token68 / #auth-param ) ]`).
 * Throws AuthError ERR_AUTH_MALFORMED (400) when no scheme is present.
 */
export function parseCredentials(value: string): Credentials {
  const m = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+)(?: +(.*))?$/.exec(value.trim());
  if (m === null) throw new AuthError('ERR_AUTH_MALFORMED', 'proxy-authorization: no auth scheme');
  return { scheme: m[1]!.toLowerCase(), params: (m[2] ?? '').trim() };
}

/** Immutable set of configured bearer tokens. */
export class BearerTokens {
  private readonly digests: ReadonlyArray<{ id: string; digest: Buffer }>;

  /** Throws IdentityError ERR_TOKEN_INVALID for a token that is short, not b64token, or listed twice. */
  constructor(tokens: readonly BearerTokenConfig[]) {
    const seen = new Set<string>();
    this.digests = tokens.map(({ id, token }) => {
      if (token.length < MIN_BEARER_TOKEN_CHARS || !B64TOKEN.test(token)) {
        throw new IdentityError(ERR_TOKEN_INVALID, `bearer token ${JSON.stringify(id)}: need ≥ ${MIN_BEARER_TOKEN_CHARS} b64token characters`);
      }
      const d = sha256(token);
      const hex = d.toString('hex');
      if (seen.has(hex)) throw new IdentityError(ERR_TOKEN_INVALID, `bearer token ${JSON.stringify(id)}: listed twice`);
      seen.add(hex);
      return { id, digest: d };
    });
    Object.freeze(this);
  }

  get size(): number {
    return this.digests.length;
  }

  /** The id of the matching token, or null. Constant time in the presented token. */
  match(token: string): string | null {
    const d = sha256(token);
    let found: string | null = null;
    for (const entry of this.digests) {
      // No break: the time must not depend on which entry matched.
      if (timingSafeEqual(entry.digest, d) && found === null) found = entry.id;
    }
    return found;
  }

  /**
   * Checks the params of a `Bearer` credential. Returns the token id; throws AuthError
   * ERR_AUTH_MALFORMED (400) for bad syntax, ERR_AUTH_BAD_TOKEN (403) for an unknown token.
   */
  verify(params: string): string {
    if (!B64TOKEN.test(params)) throw new AuthError('ERR_AUTH_MALFORMED', 'proxy-authorization: bearer token is not a b64token');
    const id = this.match(params);
    if (id === null) throw new AuthError('ERR_AUTH_BAD_TOKEN', 'proxy-authorization: unknown bearer token');
    return id;
  }
}

/** A new random token (32 bytes, base64url: 43 characters) for the configuration. */
export function generateBearerToken(): string {
  return randomBytes(32).toString('base64url');
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
