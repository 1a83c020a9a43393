/**
 * Builds the relay's Authorizer from its config (docs/protocol/auth.md):
 * - noise: client keys from the authorized-keys file (Noise IK in the `masque-noise` header);
 * - bearer: `Proxy-Authorization: Bearer` tokens (standard MASQUE clients);
 * - none: anyone (refused by config validation unless on loopback or forced).
 * An egress additionally trusts its ingress relays by source address (two-hop): the inner
 * connection carries no client credential, so the egress never learns who the client is.
 * Rebuilt on reload; live connections keep the principal they authenticated with.
 *
 * Privacy Pass (docs/protocol/privacy.md): `privacy` (src/privacy/relay-setup.ts, loaded by
 * main.ts only when configured) adds the egress's token authorizer first; with
 * `private_token = "required"` it replaces the trusted-ingress address check, with
 * `"required-with-trusted-ingress"` the token authorizer checks the address itself. An
 * issuer's HTTP resources ride the result as `requestHandler` (request-router.ts).
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
import type { PlainRequestHandler } from './request-router.js';

/** Reads the files the authorizer needs. Throws (with the file and line) on a bad file. */
export async function buildAuthorizer(cfg: RelayConfig, relayStatic: KeyPair, replay: ReplayGuard, privacy?: PrivacyHooks): Promise<Authorizer> {
  const list: Authorizer[] = [];
  const tokens = privacy?.tokenAuthorizer(cfg, relayStatic, replay) ?? null;
  if (tokens) list.push(tokens);
  if ((cfg.role === 'egress' || cfg.role === 'both') && cfg.egress.trustedIngress.length > 0 && !tokens) {
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
  const composed = composeAuthorizers(list);
  return privacy?.requestHandler ? Object.assign(composed, { requestHandler: privacy.requestHandler }) : composed;
}

/** What auth-setup needs from src/privacy/relay-setup.ts (structural: relay/ does not import privacy/ statically). */
export interface PrivacyHooks {
  tokenAuthorizer(cfg: RelayConfig, relayStatic: KeyPair, replay: ReplayGuard): Authorizer | null;
  requestHandler: PlainRequestHandler | null;
}
