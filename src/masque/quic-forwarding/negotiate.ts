/**
 * Forwarded-mode negotiation on the CONNECT-UDP request and response
 * (draft-ietf-masque-quic-proxy-07 §3, §6.3.2). Only the scramble transform is offered or
 * accepted: the identity transform lets anyone who sees both sides of the relay match packets
 * byte for byte (§6.3.1, §10.1), which is what a two-hop chain exists to prevent.
 */
import type { FieldLine } from '../../h3/qpack/types.js';
import type { RawPacketPort } from '../../quic/app.js';
import { MasqueError } from '../../core/errors.js';
import { formatForwardingRequest, formatForwardingResponse, parseForwardingHeader, PROXY_QUIC_FORWARDING } from './header.js';
import { newScrambleKey, SCRAMBLE_TRANSFORM } from './scramble.js';
import { ClientForwarding, type ClientForwardingHooks } from './client-side.js';

export interface ForwardingOffer {
  readonly field: FieldLine;
  readonly key: Uint8Array;
}

/** The client's request field: scramble only, with the key we scramble with. */
export function offerForwarding(): ForwardingOffer {
  const key = newScrambleKey();
  return { field: [PROXY_QUIC_FORWARDING, formatForwardingRequest([SCRAMBLE_TRANSFORM], key)], key };
}

function fieldOf(fields: readonly FieldLine[]): string | null {
  const f = fields.find(([n]) => n === PROXY_QUIC_FORWARDING);
  return f ? f[1] : null;
}

/**
 * Reads the proxy's answer. null: no forwarded mode (no field, `?0`, or scramble without a
 * key, §6.3.2 "MUST be disabled"). Throws MasqueError ERR_MASQUE_FORWARDING when the proxy
 * chose a transform we did not offer (§3: the client MUST abort the request).
 */
export function acceptForwarding(offer: ForwardingOffer, response: readonly FieldLine[], port: RawPacketPort, hooks: ClientForwardingHooks): ClientForwarding | null {
  const v = fieldOf(response);
  const h = v === null ? null : parseForwardingHeader(v);
  if (h === null || !h.enabled || h.transform === null) return null;
  if (h.transform !== SCRAMBLE_TRANSFORM) {
    throw new MasqueError('ERR_MASQUE_FORWARDING', `proxy chose the transform "${h.transform}", which we did not offer`);
  }
  if (h.scrambleKey === null) return null;
  return new ClientForwarding(port, offer.key, h.scrambleKey, hooks);
}

export interface ProxyForwardingAnswer {
  /** The response field: `?1` with our choice and key, or `?0`. */
  readonly field: FieldLine;
  /** Keys when forwarded mode is on (ours scrambles what we send), else null. */
  readonly keys: { ours: Uint8Array; peer: Uint8Array } | null;
}

/**
 * The proxy's decision for one request. null: the client did not ask (no field, `?0`, or
 * `?1` without accept-transform, which §3 says to treat as absent): answer nothing.
 * `isEnabled` false (operator switch) answers `?0`.
 */
export function answerForwarding(request: readonly FieldLine[], isEnabled: boolean): ProxyForwardingAnswer | null {
  const v = fieldOf(request);
  const h = v === null ? null : parseForwardingHeader(v);
  if (h === null || !h.enabled || h.acceptTransforms === null) return null;
  const canScramble = h.acceptTransforms.includes(SCRAMBLE_TRANSFORM) && h.scrambleKey !== null;
  if (!isEnabled || !canScramble) return { field: [PROXY_QUIC_FORWARDING, formatForwardingResponse(null, null)], keys: null };
  const ours = newScrambleKey();
  return { field: [PROXY_QUIC_FORWARDING, formatForwardingResponse(SCRAMBLE_TRANSFORM, ours)], keys: { ours, peer: h.scrambleKey! } };
}
