/**
 * The client's PrivateTokenSource (src/client/chain.ts): one wallet per process (tokens
 * survive reconnects), a token per egress session, background refills over the ingress
 * connection. `src/client/plan.ts` loads this module with `await import()` only when
 * `[private_tokens] enabled = true`.
 */
import type { ClientH3Driver } from '../h3/client.js';
import type { FieldLine } from '../h3/qpack/types.js';
import { H3IssuerTransport } from './h3-issuer-client.js';
import { formatPrivateTokenCredential } from './token.js';
import { TokenWallet, type WalletOptions } from './wallet.js';

/** Request timeout for one issuer request. */
const ISSUER_TIMEOUT_MS = 5000;

const wallets = new Map<string, TokenWallet>();

export interface PrivateTokenSource {
  headersFor(ingress: ClientH3Driver, ingressAuthority: string, egressPublicKey: Uint8Array): Promise<FieldLine[]>;
}

/** The process's source for these options (the same wallet for equal options). */
export function privateTokenSource(o: WalletOptions): PrivateTokenSource {
  const k = `${o.issuerName}\n${o.batchSize}\n${o.refillBelow}`;
  let wallet = wallets.get(k);
  if (!wallet) wallets.set(k, (wallet = new TokenWallet(o)));
  const w = wallet;
  return {
    /**
     * `authorization: PrivateToken token="…"` for the CONNECT-IP request to this egress
     * (RFC 9577 §2.2). With no token held it waits for a refill; when the pool runs low
     * afterwards, it refills in the background on the same (authenticated) connection.
     */
    async headersFor(h3, authority, egressPublicKey) {
      const transport = new H3IssuerTransport(h3, { authority, timeoutMs: ISSUER_TIMEOUT_MS });
      let token = w.take(egressPublicKey);
      if (token === null) {
        await w.refill(transport, egressPublicKey);
        token = w.take(egressPublicKey);
      }
      if (w.isLow(egressPublicKey)) void w.refill(transport, egressPublicKey).catch(() => undefined);
      // refill() resolves with ≥ 1 token or throws, so null here means batch_size tokens were all taken concurrently.
      if (token === null) return [];
      return [['authorization', formatPrivateTokenCredential(token)]];
    },
  };
}
