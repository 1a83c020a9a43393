/**
 * TokenWallet: the client's tokens, fetched ahead in batches from the issuer and taken one
 * per egress session (RFC 9576 §3: issuance and redemption are separate in time, which is
 * what makes them unlinkable to a non-colluding egress). Tokens are kept per egress
 * origin (challenge.ts: a token is good at one egress only) and per issuer key: a refill
 * first drops tokens whose key left the issuer's directory (rotated out).
 *
 * The transport is an interface (h3-issuer-client.ts implements it over the ingress
 * connection), so the wallet is tested without sockets. Safe to call concurrently: one
 * refill per origin at a time; `take` is synchronous.
 */
import { publicVerif, TokenChallenge } from '@cloudflare/privacypass-ts';
import { PrivacyError } from './errors.js';
import { egressOriginName } from './challenge.js';
import { KeySet, parseIssuerDirectory, type IssuerPublicKey } from './key-set.js';
import { TOKEN_TYPE_BLIND_RSA } from './token.js';

/** How the wallet reaches the issuer (RFC 9578 §4, §5). */
export interface IssuerTransport {
  /** The directory JSON text. */
  fetchDirectory(): Promise<string>;
  /** POSTs one TokenRequest, resolves with the TokenResponse bytes. Throws PrivacyError. */
  requestToken(body: Uint8Array): Promise<Uint8Array>;
}

export interface WalletOptions {
  issuerName: string;
  batchSize: number;
  refillBelow: number;
}

interface Held {
  token: Uint8Array;
  keyIdHex: string;
}

export class TokenWallet {
  private readonly pools = new Map<string, Held[]>();
  private readonly refills = new Map<string, Promise<number>>();

  constructor(readonly opts: WalletOptions) {}

  /** Tokens held for this egress. */
  count(egressPublicKey: Uint8Array): number {
    return this.pools.get(egressOriginName(egressPublicKey))?.length ?? 0;
  }

  /** Takes one token for this egress (the oldest first), or null if none is held. */
  take(egressPublicKey: Uint8Array): Uint8Array | null {
    return this.pools.get(egressOriginName(egressPublicKey))?.shift()?.token ?? null;
  }

  /** True when the pool is below `refillBelow` (time to refill in the background). */
  isLow(egressPublicKey: Uint8Array): boolean {
    return this.count(egressPublicKey) < Math.max(1, this.opts.refillBelow);
  }

  /**
   * Fetches the directory, drops tokens of keys no longer in it, and fetches tokens up to
   * `batchSize` with the current key (parallel requests). Resolves with the number added.
   * Concurrent calls for one egress share one refill.
   */
  refill(transport: IssuerTransport, egressPublicKey: Uint8Array, nowMs = Date.now()): Promise<number> {
    const origin = egressOriginName(egressPublicKey);
    let p = this.refills.get(origin);
    if (!p) {
      p = this.doRefill(transport, origin, nowMs).finally(() => this.refills.delete(origin));
      this.refills.set(origin, p);
    }
    return p;
  }

  private async doRefill(transport: IssuerTransport, origin: string, nowMs: number): Promise<number> {
    let keys: IssuerPublicKey[];
    try {
      keys = parseIssuerDirectory(await transport.fetchDirectory());
    } catch (e) {
      throw e instanceof PrivacyError ? e : new PrivacyError('ERR_PRIVACY_ISSUER_RESPONSE', 'issuer directory unusable', { cause: e });
    }
    const live = new Set(keys.map((k) => k.idHex));
    const pool = (this.pools.get(origin) ?? []).filter((h) => live.has(h.keyIdHex));
    this.pools.set(origin, pool);
    // The current key: the newest whose not-before has passed (a grace of 0 keeps only it).
    const current = new KeySet(keys, 0).accepted(nowMs).sort((a, b) => (b.notBeforeMs ?? 0) - (a.notBeforeMs ?? 0))[0];
    if (current === undefined) throw new PrivacyError('ERR_PRIVACY_ISSUER_RESPONSE', 'issuer directory has no usable key');
    const want = Math.max(0, this.opts.batchSize - pool.length);
    const challenge = new TokenChallenge(TOKEN_TYPE_BLIND_RSA, this.opts.issuerName, new Uint8Array(0), [origin]);
    const got = await Promise.all(Array.from({ length: want }, () => this.fetchOne(transport, challenge, current)));
    pool.push(...got);
    return got.length;
  }

  private async fetchOne(transport: IssuerTransport, challenge: TokenChallenge, key: IssuerPublicKey): Promise<Held> {
    const client = new publicVerif.Client(publicVerif.BlindRSAMode.PSS);
    const req = await client.createTokenRequest(challenge, key.tokenKey);
    const res = await transport.requestToken(req.serialize());
    if (res.length !== 256) throw new PrivacyError('ERR_PRIVACY_ISSUER_RESPONSE', `token response: ${res.length} bytes, want 256`);
    let token: Uint8Array;
    try {
      token = (await client.finalize(client.deserializeTokenResponse(res))).serialize();
    } catch (e) {
      // RFC 9474 §4.4: finalize verifies the signature; a failure means a bad issuer answer.
      throw new PrivacyError('ERR_PRIVACY_ISSUER_RESPONSE', 'token response does not verify', { cause: e });
    }
    return { token, keyIdHex: key.idHex };
  }
}
