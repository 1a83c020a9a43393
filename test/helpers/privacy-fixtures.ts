/**
 * Privacy Pass fixtures for tests: issuer key pairs (generated once per process: ~0.3 s
 * each), tokens minted in process, and an in-memory IssuerTransport for the wallet.
 */
import { generateIssuerKeyPair, issueToken, IssuerKeyring, ISSUER_REQUEST_PATH, type IssuerKeyPair } from '../../src/privacy/issuer.js';
import type { IssuerTransport } from '../../src/privacy/wallet.js';
import { TokenWallet } from '../../src/privacy/wallet.js';

const cache = new Map<string, Promise<IssuerKeyPair>>();

/** A key pair per `label` and not-before, shared by the tests of one process. */
export function issuerKey(label: string, notBeforeMs = 0): Promise<IssuerKeyPair> {
  const k = `${label}@${notBeforeMs}`;
  let p = cache.get(k);
  if (!p) cache.set(k, (p = generateIssuerKeyPair(notBeforeMs)));
  return p;
}

/** An IssuerTransport straight into issueToken (no HTTP), counting requests. */
export class MemoryIssuer implements IssuerTransport {
  requests = 0;
  constructor(public ring: IssuerKeyring, readonly name = 'masque-relay-issuer') {}

  async fetchDirectory(): Promise<string> {
    return JSON.stringify(this.ring.directory(ISSUER_REQUEST_PATH));
  }

  async requestToken(body: Uint8Array): Promise<Uint8Array> {
    this.requests++;
    return issueToken(this.ring, this.name, body);
  }
}

/** `n` tokens for `egressPublicKey` from `ring` (through a wallet, as a client would). */
export async function mintTokens(ring: IssuerKeyring, egressPublicKey: Uint8Array, n: number, issuerName = 'masque-relay-issuer'): Promise<Uint8Array[]> {
  const w = new TokenWallet({ issuerName, batchSize: n, refillBelow: 0 });
  await w.refill(new MemoryIssuer(ring, issuerName), egressPublicKey);
  return Array.from({ length: n }, () => w.take(egressPublicKey)!);
}
