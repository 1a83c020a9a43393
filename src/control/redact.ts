/**
 * Secret scrubbing for values that leave the daemon (GET /v0/config) — the socket is
 * group-readable, so a member of `masque` must not learn the device's private key or a
 * proxy token through it.
 */

/** Keys whose values are secrets, matched case-insensitively on the last path segment. */
export const SECRET_KEY_PATTERN = /(private_?key|token|authorization|secret|password)/i;
export const REDACTED = '<redacted>';

/**
 * A deep copy of `v` with the strings under every secret-looking key replaced by
 * `"<redacted>"`. Only strings are secrets: under such a key a table is searched like any
 * other (`privateTokens` holds `issuerName` and public keys, `bearerTokens` entries hold an `id`
 * beside their `token`), and numbers and booleans (`tokensPerClientPerHour`, `enabled`) stay.
 */
export function redactSecrets<T>(v: T): T {
  if (Array.isArray(v)) return v.map((x) => redactSecrets(x)) as T;
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    out[k] = SECRET_KEY_PATTERN.test(k) ? redactSecretValue(x) : redactSecrets(x);
  }
  return out as T;
}

function redactSecretValue(x: unknown): unknown {
  if (typeof x === 'string') return REDACTED;
  if (Array.isArray(x)) return x.map(redactSecretValue);
  return redactSecrets(x);
}
