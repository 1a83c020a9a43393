/**
 * HTTP message rules on field sections: pseudo-headers (RFC 9114 §4.3), field validity
 * (§4.2), extended CONNECT (RFC 9220 §3–§4), Capsule-Protocol (RFC 9297 §3.4).
 *
 * Every violation throws H3Error H3_MESSAGE_ERROR as a STREAM error (§4.1.2: a malformed
 * message is a stream error). Pure and sans-IO. Field lines are `[name, value]` (FieldLine).
 */
import type { FieldLine } from './qpack/types.js';
import { H3Error, H3_MESSAGE_ERROR } from './errors.js';

/** A validated request head. Absent pseudo-headers are `undefined`. */
export interface RequestHead {
  method: string;
  scheme?: string;
  authority?: string;
  path?: string;
  /** RFC 9220 `:protocol` (extended CONNECT only). */
  protocol?: string;
  /** Regular fields, in order. */
  fields: FieldLine[];
}

/** A validated response head. */
export interface ResponseHead {
  status: number;
  fields: FieldLine[];
}

const REQUEST_PSEUDO = new Set([':method', ':scheme', ':authority', ':path', ':protocol']);
/** §4.2: connection-specific fields are malformed in HTTP/3. */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

function malformed(msg: string): H3Error {
  return new H3Error(H3_MESSAGE_ERROR, `h3: malformed message: ${msg}`, false);
}

/** §4.2 name rules: lower case, token characters, no empty name. */
function checkRegularField(name: string, value: string): void {
  if (name.length === 0) throw malformed('empty field name');
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) throw malformed(`upper-case field name ${name}`);
    if (c <= 0x20 || c >= 0x7f || c === 0x3a) throw malformed(`invalid character in field name ${name}`);
  }
  if (CONNECTION_SPECIFIC.has(name)) throw malformed(`connection-specific field ${name}`);
  if (name === 'te' && value !== 'trailers') throw malformed('TE other than "trailers"');
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x00 || c === 0x0a || c === 0x0d) throw malformed(`invalid character in value of ${name}`);
  }
}

/**
 * Splits `fields` into pseudo-headers (must all come first, no duplicates, only `allowed`)
 * and regular fields (§4.3).
 */
function splitPseudo(fields: readonly FieldLine[], allowed: Set<string>): { pseudo: Map<string, string>; regular: FieldLine[] } {
  const pseudo = new Map<string, string>();
  const regular: FieldLine[] = [];
  for (const [name, value] of fields) {
    if (name.startsWith(':')) {
      if (regular.length > 0) throw malformed(`pseudo-header ${name} after a regular field`);
      if (!allowed.has(name)) throw malformed(`pseudo-header ${name} not allowed here`);
      if (pseudo.has(name)) throw malformed(`duplicate ${name}`);
      pseudo.set(name, value);
    } else {
      checkRegularField(name, value);
      regular.push([name, value]);
    }
  }
  return { pseudo, regular };
}

/**
 * Validates a request's field section (§4.3.1, RFC 9220 §4). `isConnectProtocolEnabled`
 * is whether the receiving server sent SETTINGS_ENABLE_CONNECT_PROTOCOL=1: `:protocol`
 * without it is malformed (RFC 9220 §3).
 */
export function validateRequest(fields: readonly FieldLine[], isConnectProtocolEnabled: boolean): RequestHead {
  const { pseudo, regular } = splitPseudo(fields, REQUEST_PSEUDO);
  const method = pseudo.get(':method');
  if (method === undefined || method === '') throw malformed('missing :method');
  const head: RequestHead = {
    method, scheme: pseudo.get(':scheme'), authority: pseudo.get(':authority'),
    path: pseudo.get(':path'), protocol: pseudo.get(':protocol'), fields: regular,
  };
  if (head.protocol !== undefined) {
    if (method !== 'CONNECT') throw malformed(':protocol on a non-CONNECT request');
    if (!isConnectProtocolEnabled) throw malformed(':protocol but extended CONNECT is not enabled');
    if (!head.scheme || !head.path || !head.authority) throw malformed('extended CONNECT needs :scheme, :path and :authority');
    return head;
  }
  if (method === 'CONNECT') {
    // §4.4: plain CONNECT carries only :method and :authority.
    if (head.scheme !== undefined || head.path !== undefined) throw malformed('CONNECT with :scheme or :path');
    if (!head.authority) throw malformed('CONNECT without :authority');
    return head;
  }
  if (!head.scheme) throw malformed('missing :scheme');
  if (head.path === undefined) throw malformed('missing :path');
  if (head.scheme === 'http' || head.scheme === 'https') {
    if (head.path === '') throw malformed('empty :path');
    const host = regular.find(([n]) => n === 'host');
    if (!head.authority && !host) throw malformed('no :authority or host');
    if (head.authority && host && host[1] !== head.authority) throw malformed('host differs from :authority');
  }
  return head;
}

/** Validates a response's field section (§4.3.2): exactly one `:status`, three digits. */
export function validateResponse(fields: readonly FieldLine[]): ResponseHead {
  const { pseudo, regular } = splitPseudo(fields, new Set([':status']));
  const s = pseudo.get(':status');
  if (s === undefined) throw malformed('missing :status');
  if (!/^[1-5][0-9][0-9]$/.test(s)) throw malformed(`bad :status ${s}`);
  return { status: Number(s), fields: regular };
}

/** Validates trailers (§4.1: no pseudo-headers). */
export function validateTrailers(fields: readonly FieldLine[]): FieldLine[] {
  return splitPseudo(fields, new Set()).regular;
}

/** The value of `content-length` if present (§4.1.2: all copies must agree), else -1. */
export function contentLength(fields: readonly FieldLine[]): number {
  let out = -1;
  for (const [n, v] of fields) {
    if (n !== 'content-length') continue;
    if (!/^[0-9]{1,15}$/.test(v)) throw malformed(`bad content-length ${v}`);
    const len = Number(v);
    if (out >= 0 && out !== len) throw malformed('conflicting content-length');
    out = len;
  }
  return out;
}

/**
 * RFC 9297 §3.4: `capsule-protocol` is an RFC 8941 Boolean Item; `?1` (with any parameters)
 * means in use; `?0`, a non-Boolean, or absence mean not in use.
 */
export function hasCapsuleProtocol(fields: readonly FieldLine[]): boolean {
  const f = fields.find(([n]) => n === 'capsule-protocol');
  if (!f) return false;
  const v = f[1].trim();
  return v === '?1' || v.startsWith('?1;');
}

/** The first value of a regular field, or undefined. */
export function fieldValue(fields: readonly FieldLine[], name: string): string | undefined {
  for (const [n, v] of fields) if (n === name) return v;
  return undefined;
}
