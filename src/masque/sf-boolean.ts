/**
 * Just enough of RFC 8941 (Structured Field Values) to read the Capsule-Protocol header
 * (RFC 9297 §3.4): an sf-item whose bare item is a Boolean, with parameters.
 */

/** RFC 8941 grammar pieces (also used by quic-forwarding/header.ts): §3.1.2 key, §3.3 bare items. */
export const SF_KEY = '[a-z*][a-z0-9_.*-]*';
export const SF_TOKEN = "[A-Za-z*][!#$%&'*+\\-.^_`|~0-9A-Za-z:/]*";
export const SF_STRING = '"(?:[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]|\\\\["\\\\])*"';
/** §3.3.1 Integer (≤ 15 digits) or §3.3.2 Decimal (≤ 12 integer digits, ≤ 3 fraction digits). */
export const SF_NUMBER = '-?(?:\\d{1,12}\\.\\d{1,3}|\\d{1,15})';
export const SF_BYTES = ':[A-Za-z0-9+/=]*:';
export const SF_BOOL = '\\?[01]';
export const SF_BARE = `${SF_NUMBER}|${SF_STRING}|${SF_TOKEN}|${SF_BYTES}|${SF_BOOL}`;
/** RFC 8941 §3.3 Item = bare-item parameters; §3.1.2 parameters = *( ";" *SP key [ "=" bare-item ] ). */
const ITEM_RE = new RegExp(`^(${SF_BARE})((?:;[ ]*${SF_KEY}(?:=(?:${SF_BARE}))?)*)$`);

/**
 * The Capsule-Protocol value (RFC 9297 §3.4): true for the Boolean `?1` with any parameters
 * (unknown parameters are ignored: `?1;foo=bar` is true); false for `?0`, for any non-Boolean
 * item and for anything that does not parse as one sf-item (the field is then treated as absent).
 * Leading/trailing SP and HTAB are trimmed (RFC 8941 §4.2).
 */
export function parseCapsuleProtocol(value: string): boolean {
  const m = ITEM_RE.exec(value.replace(/^[ \t]+|[ \t]+$/g, ''));
  return m !== null && m[1] === '?1';
}
