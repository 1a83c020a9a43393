/**
 * PrivateTokenEgressAuthorizer: admits a CONNECT request at the egress that carries a valid,
 * unspent Privacy Pass token (RFC 9577 §2.2) — the egress learns "holds a token of our
 * issuer" and nothing that links the request to a client or to another request.
 *
 * - The credential is `Authorization: PrivateToken token="…"` (RFC 9577 §2.2, what our
 *   client sends); `Proxy-Authorization` with the same scheme is accepted too, since the
 *   egress is a proxy (RFC 9110 §11.7). Two PrivateToken credentials are malformed.
 * - `trustedSources` (combined mode): the token must also come from a trusted ingress address.
 * - A `masque-noise` hello is answered with any client key, exactly like the trusted-source
 *   path (auth.md §5): the client pins the egress with a one-off key the egress cannot link.
 *
 * Applies (non-null) only when a PrivateToken credential is present, so without one the
 * composition falls through to the relay's other authorizers. Failures carry ERR_PRIVACY_*
 * codes and their statuses (errors.ts). Nothing here logs.
 */
import type { AuthErrorCode } from '../identity/errors.js';
import { singleHeader, type AuthRequest, type AuthResult, type Authorizer, type Principal } from '../identity/authorizer.js';
import { cidrContains, parseCidr, type Cidr } from '../identity/cidr.js';
import type { KeyPair } from '../identity/keys.js';
import type { ReplayGuard } from '../identity/replay-guard.js';
import { verifyClientHello } from '../identity/noise-auth.js';
import { NOISE_REQUEST_HEADER, NOISE_RESPONSE_HEADER } from '../identity/noise-payload.js';
import { isMasqueError } from '../core/errors.js';
import { PrivacyError } from './errors.js';
import { parsePrivateTokenCredential } from './token.js';
import type { TokenVerifier } from './verifier.js';

export interface PrivateTokenEgressOptions {
  verifier: TokenVerifier;
  /** The value for `proxy-authenticate` on 407 (formatPrivateTokenChallenge). */
  challenge?: string;
  /** Combined mode: CIDRs the request must also come from (trusted ingress relays). */
  trustedSources?: readonly string[];
  /** Answer a Noise hello (any client key) so the client can pin this relay. */
  noise?: { relayStatic: KeyPair; replay: ReplayGuard; freshnessWindowMs?: number };
}

export class PrivateTokenEgressAuthorizer implements Authorizer {
  readonly challenge?: string;
  private readonly cidrs: readonly Cidr[] | undefined;

  constructor(private readonly opts: PrivateTokenEgressOptions) {
    this.challenge = opts.challenge;
    this.cidrs = opts.trustedSources?.map(parseCidr);
  }

  authorize(req: AuthRequest): AuthResult | null {
    try {
      const token = findToken(req);
      if (token === null) return null;
      if (this.cidrs && !this.cidrs.some((c) => cidrContains(c, req.peerAddress))) {
        throw new PrivacyError('ERR_PRIVACY_UNTRUSTED_SOURCE', 'private token from an untrusted source');
      }
      // Noise before spending: a hello that fails must not burn the client's token.
      const responseHeaders = this.answerNoise(req);
      const v = this.opts.verifier.verify(token, req.nowMs);
      const principal: Principal = { kind: 'private-token', tokenType: v.tokenType };
      return { ok: true, principal, responseHeaders };
    } catch (e) {
      if (!isMasqueError(e) || !('httpStatus' in e)) throw e;
      // AuthResult.code is typed for identity codes; the router only labels and reports it.
      return { ok: false, httpStatus: (e as PrivacyError).httpStatus, code: e.code as AuthErrorCode, responseHeaders: [] };
    }
  }

  private answerNoise(req: AuthRequest): [string, string][] {
    const noise = this.opts.noise;
    const headerValue = singleHeader(req.headers, NOISE_REQUEST_HEADER);
    if (noise === undefined || headerValue === undefined) return [];
    const v = verifyClientHello({ ...noise, headerValue, tlsCertSha256: req.tlsCertSha256, nowMs: req.nowMs, isAuthorized: () => true });
    return [[NOISE_RESPONSE_HEADER, v.responseHeaderValue]];
  }
}

/** The token bytes from `authorization` / `proxy-authorization`, or null when neither is PrivateToken. */
function findToken(req: AuthRequest): Uint8Array | null {
  let found: Uint8Array | null = null;
  for (const name of ['authorization', 'proxy-authorization']) {
    const v = singleHeader(req.headers, name);
    const t = v === undefined ? null : parsePrivateTokenCredential(v);
    if (t === null) continue;
    if (found !== null) throw new PrivacyError('ERR_PRIVACY_MALFORMED', 'two PrivateToken credentials');
    found = t;
  }
  return found;
}
