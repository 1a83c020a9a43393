/**
 * SpentTokenStore: double-spend prevention for redeemed tokens (RFC 9576 §3.2; RFC 9578
 * §6.4 leaves it to the origin). Sans-IO and synchronous.
 *
 * - Bounded: at most `capacity` entries. When full, new tokens are refused (fail closed,
 *   ERR_PRIVACY_STORE_FULL) rather than forgetting a spent token early, which would let it
 *   be spent again. A flood needs that many *valid* tokens, each issued under the issuer's
 *   per-client budget.
 * - Expiring: entries are kept per issuer key and dropped together when the key stops being
 *   accepted (`retainKeys`): a token of a rotated-out key is refused anyway.
 * - Holds no token bytes: each entry is 16 bytes of HMAC-SHA-256 under a per-process random
 *   secret, so a memory dump cannot be matched against tokens seen elsewhere.
 */
import { createHmac, randomBytes } from 'node:crypto';

export type SpendResult = 'ok' | 'spent' | 'full';

export class SpentTokenStore {
  private readonly buckets = new Map<string, Set<string>>();
  private count = 0;
  private readonly secret: Buffer;

  constructor(readonly capacity = 1_000_000, secret?: Uint8Array) {
    this.secret = secret ? Buffer.from(secret) : randomBytes(32);
  }

  /** Entries held now. */
  get size(): number {
    return this.count;
  }

  /**
   * Records `tokenInput` (the signed part of a token: it contains the nonce) as spent under
   * key `keyIdHex`. 'spent': already there; 'full': at capacity, not recorded.
   */
  spend(keyIdHex: string, tokenInput: Uint8Array): SpendResult {
    const h = createHmac('sha256', this.secret).update(tokenInput).digest().subarray(0, 16).toString('latin1');
    let b = this.buckets.get(keyIdHex);
    if (b?.has(h)) return 'spent';
    if (this.count >= this.capacity) return 'full';
    if (!b) this.buckets.set(keyIdHex, (b = new Set()));
    b.add(h);
    this.count++;
    return 'ok';
  }

  /** Drops the entries of every key not in `liveKeyIds` (their tokens are refused anyway). */
  retainKeys(liveKeyIds: ReadonlySet<string>): void {
    for (const [k, b] of this.buckets) {
      if (liveKeyIds.has(k)) continue;
      this.count -= b.size;
      this.buckets.delete(k);
    }
  }
}
