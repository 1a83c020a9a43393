/**
 * Builds the relay's Authorizer from its config (docs/protocol/auth.md):
 * - noise: client keys from the authorized-keys file (Noise IK in the `masque-noise` header);
 * - bearer: `Proxy-Authorization: Bearer` tokens (standard MASQUE clients);
 * - none: anyone (refused by config validation unless on loopback or forced).
 * An egress additionally trusts its ingress relays by source address (two-hop): the inner
 * connection carries no client credential, so the egress never learns who the client is.
 * Rebuilt on reload; live connections keep the principal they authenticated with.
 */
import type { RelayConfig } from '../config/relay.js';
import type { KeyPair } from '../identity/keys.js';
import { AuthorizedKeys } from '../identity/authorized-keys.js';
import { loadAuthorizedKeys } from '../identity/key-file.js';
import { ReplayGuard } from '../identity/replay-guard.js';
import { BearerTokens } from '../identity/bearer.js';
import {
  AnonymousAuthorizer, BearerAuthorizer, NoiseAuthorizer, TrustedSourceAuthorizer, composeAuthorizers,
  type Authorizer,
} from '../identity/authorizer.js';

/** Reads the files the authorizer needs. Throws (with the file and line) on a bad file. */
export async function buildAuthorizer(cfg: RelayConfig, relayStatic: KeyPair, replay: ReplayGuard): Promise<Authorizer> {
  const list: Authorizer[] = [];
  if ((cfg.role === 'egress' || cfg.role === 'both') && cfg.egress.trustedIngress.length > 0) {
    list.push(new TrustedSourceAuthorizer({ addresses: cfg.egress.trustedIngress, noise: { relayStatic, replay } }));
  }
  if (cfg.auth === 'noise') {
    const keys = cfg.authorizedKeys ? await loadAuthorizedKeys(cfg.authorizedKeys) : AuthorizedKeys.empty();
    list.push(new NoiseAuthorizer({ relayStatic, authorizedKeys: keys, replay }));
  } else if (cfg.auth === 'bearer') {
    list.push(new BearerAuthorizer(new BearerTokens(cfg.bearerTokens)));
  } else {
    list.push(new AnonymousAuthorizer());
  }
  return composeAuthorizers(list);
}
