/**
 * QPACK static table (RFC 9204 Appendix A): 99 entries, indices 0–98.
 *
 * Unlike HPACK's, this table is 0-based and not shared with the dynamic table's
 * index space. `:protocol` and `capsule-protocol` are absent (literal names needed).
 */
import type { FieldLine } from './types.js';

/** RFC 9204 Appendix A, in index order. Frozen; never mutate. */
export const STATIC_TABLE: readonly (readonly [name: string, value: string])[] = Object.freeze([
  [':authority', ''],
  [':path', '/'],
  ['age', '0'],
  ['content-disposition', ''],
  ['content-length', '0'],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['last-modified', ''], // 10
  ['link', ''],
  ['location', ''],
  ['referer', ''],
  ['set-cookie', ''],
  [':method', 'CONNECT'],
  [':method', 'DELETE'],
  [':method', 'GET'],
  [':method', 'HEAD'],
  [':method', 'OPTIONS'],
  [':method', 'POST'], // 20
  [':method', 'PUT'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '103'],
  [':status', '200'],
  [':status', '304'],
  [':status', '404'],
  [':status', '503'],
  ['accept', '*/*'],
  ['accept', 'application/dns-message'], // 30
  ['accept-encoding', 'gzip, deflate, br'],
  ['accept-ranges', 'bytes'],
  ['access-control-allow-headers', 'cache-control'],
  ['access-control-allow-headers', 'content-type'],
  ['access-control-allow-origin', '*'],
  ['cache-control', 'max-age=0'],
  ['cache-control', 'max-age=2592000'],
  ['cache-control', 'max-age=604800'],
  ['cache-control', 'no-cache'],
  ['cache-control', 'no-store'], // 40
  ['cache-control', 'public, max-age=31536000'],
  ['content-encoding', 'br'],
  ['content-encoding', 'gzip'],
  ['content-type', 'application/dns-message'],
  ['content-type', 'application/javascript'],
  ['content-type', 'application/json'],
  ['content-type', 'application/x-www-form-urlencoded'],
  ['content-type', 'image/gif'],
  ['content-type', 'image/jpeg'],
  ['content-type', 'image/png'], // 50
  ['content-type', 'text/css'],
  ['content-type', 'text/html; charset=utf-8'],
  ['content-type', 'text/plain'],
  ['content-type', 'text/plain;charset=utf-8'],
  ['range', 'bytes=0-'],
  ['strict-transport-security', 'max-age=31536000'],
  ['strict-transport-security', 'max-age=31536000; includesubdomains'],
  ['strict-transport-security', 'max-age=31536000; includesubdomains; preload'],
  ['vary', 'accept-encoding'],
  ['vary', 'origin'], // 60
  ['x-content-type-options', 'nosniff'],
  ['x-xss-protection', '1; mode=block'],
  [':status', '100'],
  [':status', '204'],
  [':status', '206'],
  [':status', '302'],
  [':status', '400'],
  [':status', '403'],
  [':status', '421'],
  [':status', '425'], // 70
  [':status', '500'],
  ['accept-language', ''],
  ['access-control-allow-credentials', 'FALSE'],
  ['access-control-allow-credentials', 'TRUE'],
  ['access-control-allow-headers', '*'],
  ['access-control-allow-methods', 'get'],
  ['access-control-allow-methods', 'get, post, options'],
  ['access-control-allow-methods', 'options'],
  ['access-control-expose-headers', 'content-length'],
  ['access-control-request-headers', 'content-type'], // 80
  ['access-control-request-method', 'get'],
  ['access-control-request-method', 'post'],
  ['alt-svc', 'clear'],
  ['authorization', ''],
  ['content-security-policy', "script-src 'none'; object-src 'none'; base-uri 'none'"],
  ['early-data', '1'],
  ['expect-ct', ''],
  ['forwarded', ''],
  ['if-range', ''],
  ['origin', ''], // 90
  ['purpose', 'prefetch'],
  ['server', ''],
  ['timing-allow-origin', '*'],
  ['upgrade-insecure-requests', '1'],
  ['user-agent', ''],
  ['x-forwarded-for', ''],
  ['x-frame-options', 'deny'],
  ['x-frame-options', 'sameorigin'], // 98
] as const);

/** Number of static entries (99). */
export const STATIC_TABLE_LENGTH = STATIC_TABLE.length;

/**
 * The entry at `index` as a fresh FieldLine, or undefined when out of range.
 * Callers turn undefined into their own error (RFC 9204 §3.1: an out-of-range static
 * index is QPACK_DECOMPRESSION_FAILED on a request stream, QPACK_ENCODER_STREAM_ERROR
 * on the encoder stream).
 */
export function staticEntry(index: number): FieldLine | undefined {
  const e = STATIC_TABLE[index];
  return e === undefined ? undefined : [e[0], e[1]];
}

const EXACT = new Map<string, number>();
const BY_NAME = new Map<string, number>();
for (let i = 0; i < STATIC_TABLE.length; i++) {
  const [name, value] = STATIC_TABLE[i];
  const key = `${name}\0${value}`;
  if (!EXACT.has(key)) EXACT.set(key, i);
  if (!BY_NAME.has(name)) BY_NAME.set(name, i);
}

/**
 * Best static match for an encoder: `{ index, isExact: true }` when name and value
 * both match, `{ index, isExact: false }` when only the name does (lowest index with that
 * name), null when the name is absent. Pure lookup, no allocation besides the result.
 */
export function findStatic(name: string, value: string): { index: number; isExact: boolean } | null {
  const exact = EXACT.get(`${name}\0${value}`);
  if (exact !== undefined) return { index: exact, isExact: true };
  const byName = BY_NAME.get(name);
  return byName === undefined ? null : { index: byName, isExact: false };
}
