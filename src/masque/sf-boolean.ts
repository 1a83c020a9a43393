/**
 * Just enough of RFC 8941 (Structured Field Values) to read the Capsule-Protocol header
 * (RFC 9297 §3.4): an sf-item whose bare item is a Boolean, with parameters.
 */

const KEY = "[a-z*][a-z0-9_.*-]*";
const TOKEN = "[A-Za-z*][!#$%&'*+\\-.^_`|~0-9A-Za-z:/]*";
const STRING = '"(?:[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]|\\\\["\\\\])*"';
const NUMBER = '-?\\d{1,15}(?:\\.\\d{1,3})?';
const BYTES = ':[A-Za-z0-9+/=]*:';
const BOOL = '\\?[01]';
const BARE = `(?:${NUMBER}|${STRING}|${TOKEN}|${BYTES}|${BOOL})`;
/** RFC 8941 §3.3 Item = bare-item parameters; §3.1.2 parameters = *( ";" *SP key [ "=" bare-item ] ). */
const ITEM_RE = new RegExp(`^(${BARE})((?:;[ ]*${KEY}(?:=${BARE})?)*)$`);

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
