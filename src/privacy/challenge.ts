/**
 * The token challenge an egress issues and a client fetches tokens for (RFC 9577 §2.1.1),
 * fixed by convention so tokens can be fetched ahead without a 407 round trip
 * (docs/protocol/privacy.md §3):
 *
 *   token_type          0x0002 (Blind RSA 2048, RFC 9578 §6)
 *   issuer_name         configured on both sides (default "masque-relay-issuer")
 *   redemption_context  empty: tokens are cross-context, so they can be fetched in batches
 *                       ahead of time (§2.1.1 allows it; replay is stopped by the egress's
 *                       spent-token store, not by a per-request context)
 *   origin_info         [base64url(egress Noise public key)]: a token is good at one egress
 *                       only, so it cannot be spent once at each egress of a fleet
 *
 * The issuer never sees the challenge (type 2 requests carry only a blinded message), so
 * binding tokens to an egress tells the issuer nothing about which egress a client uses.
 */
import { createHash } from 'node:crypto';
import { encodeBase64Url, encodeTokenChallenge, TOKEN_TYPE_BLIND_RSA } from './token.js';

export const DEFAULT_ISSUER_NAME = 'masque-relay-issuer';

/** The origin name of an egress: its Noise public key in unpadded base64url (43 characters). */
export function egressOriginName(egressPublicKey: Uint8Array): string {
  return encodeBase64Url(egressPublicKey);
}

/** The encoded TokenChallenge for tokens redeemed at this egress. */
export function egressChallenge(issuerName: string, egressPublicKey: Uint8Array): Uint8Array {
  return encodeTokenChallenge({
    tokenType: TOKEN_TYPE_BLIND_RSA,
    issuerName,
    redemptionContext: new Uint8Array(0),
    originInfo: [egressOriginName(egressPublicKey)],
  });
}

/** challenge_digest = SHA-256(TokenChallenge) (RFC 9577 §2.2). */
export function challengeDigest(challenge: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(challenge).digest());
}
