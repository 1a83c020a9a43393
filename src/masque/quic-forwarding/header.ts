/**
 * The Proxy-QUIC-Forwarding header field (draft-ietf-masque-quic-proxy-07 §3, §6.3.2, §11.1–§11.2):
 * an RFC 8941 Item whose value MUST be a Boolean, with parameters
 *   accept-transform  sf-string, client only: transform names, comma-separated, best first (§3)
 *   transform         sf-string, proxy only: the selected transform (§3)
 *   scramble-key      sf-binary: the sender's 32-byte scramble key (§6.3.2)
 *
 * This module only formats and parses; the §3 negotiation rules stay with the callers (the proxy
 * ignores `?1` without accept-transform and ignores `transform`; the client ignores
 * accept-transform and aborts on a transform it did not offer; §6.3.2: scramble without a key
 * disables forwarding).
 *
 * Parsing follows RFC 8941 §4.2: the whole value must be one sf-item (else null); parameters are
 * `;` *SP key [ "=" bare-item ] (§3.1.2), so a `;` inside a quoted string does not split; the last
 * duplicate parameter wins (§4.2.3.2); unknown parameters are ignored. We serialize with "; "
 * between parameters, as the draft's examples do; RFC 8941 parsers accept either form.
 */
import { MasqueError } from '../../core/errors.js';
import { SF_BARE, SF_KEY } from '../sf-boolean.js';

/** The field name (§11.1), lowercase as in HTTP/3 (RFC 9114 §4.2). */
export const PROXY_QUIC_FORWARDING = 'proxy-quic-forwarding';

/** Length of a scramble key (§6.3.2). */
const SCRAMBLE_KEY_LEN = 32;

export interface ForwardingHeader {
  /** The Boolean as sent (`?1` / `?0`). */
  readonly enabled: boolean;
  /** accept-transform split on commas, trimmed, empty names dropped; null if absent or not a String. */
  readonly acceptTransforms: string[] | null;
  /** transform; null if absent or not a String. */
  readonly transform: string | null;
  /** scramble-key; null if absent, not a Byte Sequence, or not exactly 32 bytes. */
  readonly scrambleKey: Uint8Array | null;
}

/** One parameter at the cursor (sticky): `;` *SP key [ "=" bare-item ]. */
const PARAM_RE = new RegExp(`;[ ]*(${SF_KEY})(?:=(${SF_BARE}))?`, 'y');
/** A transform name we are willing to send: an RFC 9110 token (no comma, quote or space). */
const TRANSFORM_NAME_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/**
 * 32 bytes of base64: 43 significant characters, then optional `=`. RFC 8941 §4.2.7: parsers
 * SHOULD NOT fail on missing padding or non-zero pad bits.
 */
const KEY_B64_RE = /^:([A-Za-z0-9+/]{43})=?:$/;

function checkTransform(name: string): void {
  if (!TRANSFORM_NAME_RE.test(name)) {
    throw new MasqueError('ERR_FORWARDING_TRANSFORM', `invalid transform name ${JSON.stringify(name)}`);
  }
}

function keyParam(key: Uint8Array | null): string {
  if (key === null) return '';
  if (key.length !== SCRAMBLE_KEY_LEN) {
    throw new MasqueError('ERR_FORWARDING_SCRAMBLE_KEY', `scramble key must be ${SCRAMBLE_KEY_LEN} bytes, got ${key.length}`);
  }
  return `; scramble-key=:${Buffer.from(key.buffer, key.byteOffset, key.length).toString('base64')}:`;
}

/**
 * The client's request value (§3): `?1; accept-transform="a,b"[; scramble-key=:…:]`, transforms
 * in descending preference. With no transforms, `?0` (CID awareness without forwarding, §3).
 * Throws MasqueError ERR_FORWARDING_TRANSFORM / ERR_FORWARDING_SCRAMBLE_KEY on bad input.
 */
export function formatForwardingRequest(transforms: string[], scrambleKey: Uint8Array | null): string {
  if (transforms.length === 0) return '?0';
  for (const t of transforms) checkTransform(t);
  return `?1; accept-transform="${transforms.join(',')}"${keyParam(scrambleKey)}`;
}

/**
 * The proxy's response value (§3): `?1; transform="x"[; scramble-key=:…:]`, or `?0` when it
 * accepts none of the offered transforms (`transform` null).
 */
export function formatForwardingResponse(transform: string | null, scrambleKey: Uint8Array | null): string {
  if (transform === null) return '?0';
  checkTransform(transform);
  return `?1; transform="${transform}"${keyParam(scrambleKey)}`;
}

/** Strips leading/trailing SP and HTAB (a loop: a `[ \t]+$` regex is quadratic on hostile input). */
function trimSpTab(v: string): string {
  let a = 0;
  let b = v.length;
  while (a < b && (v[a] === ' ' || v[a] === '\t')) a++;
  while (b > a && (v[b - 1] === ' ' || v[b - 1] === '\t')) b--;
  return v.slice(a, b);
}

function unquote(s: string | undefined): string | null {
  if (s === undefined || s[0] !== '"') return null;
  return s.slice(1, -1).replace(/\\(["\\])/g, '$1');
}

function decodeKey(s: string | undefined): Uint8Array | null {
  const m = s === undefined ? null : KEY_B64_RE.exec(s);
  return m === null ? null : Uint8Array.from(Buffer.from(m[1], 'base64'));
}

/**
 * Parses a Proxy-QUIC-Forwarding value. Returns null when it is not one RFC 8941 Item whose bare
 * item is a Boolean (the field is then treated as absent). Leading/trailing SP and HTAB are
 * trimmed (RFC 8941 §4.2). Parameters of the wrong type or length read as null.
 */
export function parseForwardingHeader(value: string): ForwardingHeader | null {
  const s = trimSpTab(value);
  if (s.length < 2 || s[0] !== '?' || (s[1] !== '0' && s[1] !== '1')) return null;
  const params = new Map<string, string | undefined>();
  PARAM_RE.lastIndex = 2;
  while (PARAM_RE.lastIndex < s.length) {
    const m = PARAM_RE.exec(s);
    if (m === null) return null;
    params.set(m[1], m[2]); // RFC 8941 §4.2.3.2: a repeated key overwrites the earlier value
  }
  const accept = unquote(params.get('accept-transform'));
  return {
    enabled: s[1] === '1',
    acceptTransforms: accept === null ? null : accept.split(',').map((t) => t.trim()).filter((t) => t.length > 0),
    transform: unquote(params.get('transform')),
    scrambleKey: decodeKey(params.get('scramble-key')),
  };
}
