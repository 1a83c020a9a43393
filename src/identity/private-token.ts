/**
 * The slot for Privacy Pass (RFC 9576 architecture, RFC 9577 HTTP auth scheme): unlinkable
 * tokens a client obtains from an issuer and redeems at the relay, so the relay learns
 * "holds a valid token" and nothing that links two connections.
 *
 * This file only does the HTTP part, which does not depend on token types:
 * `Proxy-Authorization: PrivateToken token="<base64url>"` in, a principal out, and the
 * `PrivateToken challenge=..., token-key=...` challenge advertised on 407. The
 * cryptographic check (RFC 9578 blind RSA / VOPRF, double-spend tracking, key rotation)
 * is a `PrivateTokenVerifier` that the later issue supplies; until then no relay
 * configuration creates a PrivateTokenAuthorizer.
 */
import { AuthError } from './errors.js';
import { authFailure, singleHeader, type AuthRequest, type AuthResult, type Authorizer } from './authorizer.js';
import { parseCredentials } from './bearer.js';

/**
 * Verifies one redeemed token. Must be synchronous and pure except for its own
 * double-spend memory (bounded, like ReplayGuard). `ok: false` maps to 403.
 */
export interface PrivateTokenVerifier {
  /** The full challenge value for Proxy-Authenticate (RFC 9577 §2.1), without the scheme. */
  challenge(): string;
  verify(token: Uint8Array, ctx: { nowMs: number; tlsCertSha256: Uint8Array }):
    | { ok: true; tokenType: number }
    | { ok: false; reason: string };
}

const TOKEN_PARAM = /(?:^|,)\s*token\s*=\s*(?:"([A-Za-z0-9_\-=]+)"|([A-Za-z0-9_\-=]+))\s*(?:,|$)/i;

/** Applies when Proxy-Authorization uses the `PrivateToken` scheme. */
export class PrivateTokenAuthorizer implements Authorizer {
  constructor(private readonly verifier: PrivateTokenVerifier) {}

  get challenge(): string {
    return `PrivateToken ${this.verifier.challenge()}`;
  }

  authorize(req: AuthRequest): AuthResult | null {
    try {
      const value = singleHeader(req.headers, 'proxy-authorization');
      if (value === undefined) return null;
      const cred = parseCredentials(value);
      if (cred.scheme !== 'privatetoken') return null;
      const m = TOKEN_PARAM.exec(cred.params);
      if (m === null) throw new AuthError('ERR_AUTH_MALFORMED', 'proxy-authorization: PrivateToken without token=');
      const token = new Uint8Array(Buffer.from(m[1] ?? m[2]!, 'base64url'));
      const r = this.verifier.verify(token, { nowMs: req.nowMs, tlsCertSha256: req.tlsCertSha256 });
      if (!r.ok) throw new AuthError('ERR_AUTH_BAD_TOKEN', `private token refused: ${r.reason}`);
      return { ok: true, principal: { kind: 'private-token', tokenType: r.tokenType }, responseHeaders: [] };
    } catch (e) {
      return authFailure(e);
    }
  }
}
