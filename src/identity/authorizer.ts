/**
 * Authorizer: the one interface the relay calls to decide who a CONNECT request is from.
 *
 * The relay passes the request's header fields and what it knows about the connection;
 * an authorizer answers `null` when its kind of credential is absent ("does not apply",
 * STYLE.md §5: nothing to do is not an error), or a result. `composeAuthorizers` tries a
 * list in order and takes the first answer; that is where a relay's auth policy lives:
 *
 *   ingress:  compose([noise, bearer])               (+ anonymous to admit everyone)
 *   egress:   compose([trustedSource, ingressNoise]) (two-hop mode, auth.md §5)
 *   egress with Privacy Pass: compose([privateToken, …])  (src/privacy/egress-authorizer.ts)
 *
 * Pure and synchronous (the handshake is a few X25519 operations, ~0.3 ms); the relay
 * maps a failure to its HTTP status and sends `responseHeaders` either way.
 */
import { AuthError, type AuthErrorCode } from './errors.js';
import type { AuthorizedKeys } from './authorized-keys.js';
import { BearerTokens, parseCredentials } from './bearer.js';
import { cidrContains, parseCidr, type Cidr } from './cidr.js';
import { encodeKey, type KeyPair } from './keys.js';
import { verifyClientHello } from './noise-auth.js';
import { NOISE_REQUEST_HEADER, NOISE_RESPONSE_HEADER } from './noise-payload.js';
import type { ReplayGuard } from './replay-guard.js';

/** A header field as HTTP/3 delivers it: lower-case name, value (h3 FieldLine-compatible). */
export type HeaderField = readonly [name: string, value: string];

/** What the relay knows when a CONNECT request arrives. */
export interface AuthRequest {
  /** The request's header fields, names lower-case (RFC 9114 §4.2). */
  headers: Iterable<HeaderField>;
  /** SHA-256 of the TLS leaf certificate this relay presented on the connection. */
  tlsCertSha256: Uint8Array;
  /** IP literal of the QUIC peer (for the egress: the ingress relay's address). */
  peerAddress: string;
  nowMs: number;
}

/** Who the request is from. Public keys are in base64 text form. */
export type Principal =
  | { kind: 'noise'; publicKey: string; name: string | undefined }
  | { kind: 'bearer'; tokenId: string }
  | { kind: 'anonymous' }
  | { kind: 'trusted-ingress'; via: 'address'; peerAddress: string; rule: string }
  | { kind: 'trusted-ingress'; via: 'noise-key'; publicKey: string; name: string | undefined }
  /** Privacy Pass (RFC 9577): produced by src/privacy/egress-authorizer.ts. */
  | { kind: 'private-token'; tokenType: number };

export type AuthResult =
  | { ok: true; principal: Principal; responseHeaders: HeaderField[] }
  | { ok: false; httpStatus: number; code: AuthErrorCode; responseHeaders: HeaderField[]; error?: AuthError };

export interface Authorizer {
  /**
   * A `Proxy-Authenticate` challenge (RFC 9110 §11.7.1) advertised when no authorizer
   * applied, e.g. `Bearer realm="masque-relay"`. Absent for schemes HTTP has no name for.
   */
  readonly challenge?: string;
  /** null: this kind of credential is absent. Never throws for peer input. */
  authorize(req: AuthRequest): AuthResult | null;
}

/** Turns an AuthError into a failed result; anything else is a bug and is rethrown. */
export function authFailure(e: unknown): AuthResult {
  if (!(e instanceof AuthError)) throw e;
  return { ok: false, httpStatus: e.httpStatus, code: e.code, responseHeaders: [], error: e };
}

/**
 * The value of a header that may appear at most once; undefined if absent. Throws
 * AuthError ERR_AUTH_MALFORMED if repeated: two credentials would make "which one was
 * checked" ambiguous.
 */
export function singleHeader(headers: Iterable<HeaderField>, name: string): string | undefined {
  let found: string | undefined;
  for (const [n, v] of headers) {
    if (n.toLowerCase() !== name) continue;
    if (found !== undefined) throw new AuthError('ERR_AUTH_MALFORMED', `${name}: header repeated`);
    found = v;
  }
  return found;
}

type Getter<T> = T | (() => T);
const get = <T>(g: Getter<T>): T => (typeof g === 'function' ? (g as () => T)() : g);

export interface NoiseAuthorizerOptions {
  relayStatic: KeyPair;
  /** The allowlist, or a getter so a reloaded file takes effect on the next request. */
  authorizedKeys: Getter<AuthorizedKeys>;
  replay: ReplayGuard;
  freshnessWindowMs?: number;
  /** 'trusted-ingress': the keys are other relays' (egress admitting ingress relays). */
  principalKind?: 'noise' | 'trusted-ingress';
}

/** Noise IK (noise-auth.ts). Applies when the `masque-noise` header is present. */
export class NoiseAuthorizer implements Authorizer {
  constructor(private readonly opts: NoiseAuthorizerOptions) {}

  authorize(req: AuthRequest): AuthResult | null {
    try {
      const headerValue = singleHeader(req.headers, NOISE_REQUEST_HEADER);
      if (headerValue === undefined) return null;
      const keys = get(this.opts.authorizedKeys);
      const v = verifyClientHello({
        relayStatic: this.opts.relayStatic,
        headerValue,
        tlsCertSha256: req.tlsCertSha256,
        nowMs: req.nowMs,
        isAuthorized: (k) => keys.has(k),
        replay: this.opts.replay,
        freshnessWindowMs: this.opts.freshnessWindowMs,
      });
      const publicKey = encodeKey(v.clientPublicKey);
      const name = keys.get(publicKey)?.name;
      const principal: Principal = this.opts.principalKind === 'trusted-ingress'
        ? { kind: 'trusted-ingress', via: 'noise-key', publicKey, name }
        : { kind: 'noise', publicKey, name };
      return { ok: true, principal, responseHeaders: [[NOISE_RESPONSE_HEADER, v.responseHeaderValue]] };
    } catch (e) {
      return authFailure(e);
    }
  }
}

/** `Proxy-Authorization: Bearer <token>` against configured tokens (bearer.ts). */
export class BearerAuthorizer implements Authorizer {
  readonly challenge: string;

  constructor(private readonly tokens: Getter<BearerTokens>, opts: { realm?: string } = {}) {
    this.challenge = `Bearer realm="${opts.realm ?? 'masque-relay'}"`;
  }

  authorize(req: AuthRequest): AuthResult | null {
    try {
      const value = singleHeader(req.headers, 'proxy-authorization');
      if (value === undefined) return null;
      const cred = parseCredentials(value);
      if (cred.scheme !== 'bearer') return null;
      const tokenId = get(this.tokens).verify(cred.params);
      return { ok: true, principal: { kind: 'bearer', tokenId }, responseHeaders: [] };
    } catch (e) {
      return authFailure(e);
    }
  }
}

/** Admits everyone (a relay configured with `auth = none`). Always applies. */
export class AnonymousAuthorizer implements Authorizer {
  authorize(): AuthResult {
    return { ok: true, principal: { kind: 'anonymous' }, responseHeaders: [] };
  }
}

export interface TrustedSourceOptions {
  /** CIDRs (or bare addresses) of trusted ingress relays. Throws ERR_CIDR_INVALID. */
  addresses: readonly string[];
  /**
   * If set and the request carries `masque-noise`, the hello is verified with ANY client
   * key and answered, so the client can pin this relay's identity through the ingress.
   * In two-hop mode the client uses a one-off key here: the egress never learns its
   * long-term key (auth.md §5).
   */
  noise?: { relayStatic: KeyPair; replay: ReplayGuard; freshnessWindowMs?: number };
}

/**
 * The egress in two-hop mode: trusts connections by where they come from. Applies when
 * the peer address is in the allowlist; otherwise returns null (compose decides).
 */
export class TrustedSourceAuthorizer implements Authorizer {
  private readonly cidrs: readonly Cidr[];

  constructor(private readonly opts: TrustedSourceOptions) {
    this.cidrs = opts.addresses.map(parseCidr);
  }

  authorize(req: AuthRequest): AuthResult | null {
    const rule = this.cidrs.find((c) => cidrContains(c, req.peerAddress));
    if (rule === undefined) return null;
    const principal: Principal = { kind: 'trusted-ingress', via: 'address', peerAddress: req.peerAddress, rule: rule.text };
    const noise = this.opts.noise;
    try {
      const headerValue = singleHeader(req.headers, NOISE_REQUEST_HEADER);
      if (noise === undefined || headerValue === undefined) return { ok: true, principal, responseHeaders: [] };
      const v = verifyClientHello({
        ...noise,
        headerValue,
        tlsCertSha256: req.tlsCertSha256,
        nowMs: req.nowMs,
        isAuthorized: () => true,
      });
      return { ok: true, principal, responseHeaders: [[NOISE_RESPONSE_HEADER, v.responseHeaderValue]] };
    } catch (e) {
      return authFailure(e);
    }
  }
}

/** An authorizer that always answers (never null). */
export interface ComposedAuthorizer extends Authorizer {
  authorize(req: AuthRequest): AuthResult;
}

/**
 * Tries `authorizers` in order; the first non-null answer wins, success or failure (a
 * wrong Noise key is not retried as anonymous). If none applies: ERR_AUTH_REQUIRED, with
 * status 407 and one `proxy-authenticate` per challenge when any authorizer has one, else
 * 403 (407 without a challenge is not allowed, RFC 9110 §15.5.8).
 */
export function composeAuthorizers(authorizers: readonly Authorizer[]): ComposedAuthorizer {
  const challenges = authorizers.flatMap((a) => (a.challenge === undefined ? [] : [a.challenge]));
  return {
    authorize(req: AuthRequest): AuthResult {
      for (const a of authorizers) {
        const r = a.authorize(req);
        if (r !== null) return r;
      }
      return {
        ok: false,
        code: 'ERR_AUTH_REQUIRED',
        httpStatus: challenges.length > 0 ? 407 : 403,
        responseHeaders: challenges.map((c): HeaderField => ['proxy-authenticate', c]),
      };
    },
  };
}
