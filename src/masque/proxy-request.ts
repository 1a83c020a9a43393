/**
 * Proxy side of an extended CONNECT (RFC 9220) for CONNECT-UDP (RFC 9298 §3.4) and CONNECT-IP
 * (RFC 9484 §4.4): validate the request's fields and extract the target. Sans-IO; DNS and the
 * target policy come later (policy.ts), so a name is only checked for syntax here.
 *
 * HTTP statuses (after masque-go's proxy_request.go, which this mirrors):
 * - 405 `:method` is not CONNECT                              ERR_PROXY_METHOD
 * - 501 `:protocol` missing, unknown or not served here       ERR_PROXY_PROTOCOL
 * - 400 `:scheme` not https, `:authority` missing/mismatched,  ERR_PROXY_SCHEME / _AUTHORITY
 *       Capsule-Protocol missing or false (masque-go requires it), ERR_PROXY_CAPSULE_PROTOCOL
 *       a forbidden or duplicate field                         ERR_PROXY_MALFORMED
 * - 404 `:path` does not have the template's shape (no such resource; masque-go answers 400
 *       here, but its router has already matched the path, so 404 is the closer analogue)
 *                                                              ERR_PROXY_PATH
 * - 400 bad variable values                                    ERR_PROXY_TARGET_HOST / _PORT,
 *                                                              ERR_PROXY_IP_TARGET / _IPPROTO
 * All carry the Proxy-Status error type `http_request_error` (RFC 9209 §2.3).
 */
import type { FieldLine } from '../h3/qpack/types.js';
import { ProxyRequestError } from './errors.js';
import { formatIpAddress, parseIpAddress, parseIpPrefix, type IpPrefix } from './ip-prefix.js';
import { matchTemplatePath, type UriTemplate } from './template.js';
import { parseCapsuleProtocol } from './sf-boolean.js';

export { parseCapsuleProtocol };

/** A validated CONNECT-UDP request (RFC 9298 §3.4). */
export interface ConnectUdpRequest {
  readonly protocol: 'connect-udp';
  readonly authority: string;
  readonly path: string;
  /** DNS name (lower-cased, not resolved) or canonical IP literal text. */
  readonly targetHost: string;
  readonly targetHostKind: 'dns' | 'ipv4' | 'ipv6';
  readonly targetPort: number;
  readonly hasCapsuleProtocol: boolean;
}

/** RFC 9484 §3 `target`: wildcard, a DNS name, or an address/prefix (host bits zero). */
export type IpTarget =
  | { readonly kind: 'any' }
  | { readonly kind: 'dns'; readonly host: string }
  | { readonly kind: 'prefix'; readonly prefix: IpPrefix };

/** A validated CONNECT-IP request (RFC 9484 §4.4). `ipProto` null = `*` (any). */
export interface ConnectIpRequest {
  readonly protocol: 'connect-ip';
  readonly authority: string;
  readonly path: string;
  readonly target: IpTarget;
  readonly ipProto: number | null;
  readonly hasCapsuleProtocol: boolean;
}

export type ProxyRequest = ConnectUdpRequest | ConnectIpRequest;

export interface ProxyRequestOptions {
  /** Template served for connect-udp; absent → connect-udp answered 501. */
  udpTemplate?: UriTemplate;
  /** Template served for connect-ip; absent → connect-ip answered 501. */
  ipTemplate?: UriTemplate;
  /** Compare `:authority` with the template's authority (default true; masque-go does). */
  isAuthorityChecked?: boolean;
  /** Require `Capsule-Protocol: ?1` (default true, as masque-go; RFC 9298 §3.2/9484 §4.2). */
  isCapsuleProtocolRequired?: boolean;
}

function bad(code: string, msg: string, status = 400): ProxyRequestError {
  return new ProxyRequestError(code, status, msg);
}

const PSEUDO = new Set([':method', ':protocol', ':scheme', ':authority', ':path']);
/** RFC 9297 §3.2: these make a Capsule Protocol message malformed. */
const FORBIDDEN = new Set(['content-length', 'content-type', 'transfer-encoding']);

function collect(fields: readonly FieldLine[]): { pseudo: Map<string, string>; capsule: string[] } {
  const pseudo = new Map<string, string>();
  const capsule: string[] = [];
  let isRegularSeen = false;
  for (const [name, value] of fields) {
    if (name.startsWith(':')) {
      // RFC 9114 §4.3: known pseudo-headers only, once each, before regular fields.
      if (!PSEUDO.has(name) || pseudo.has(name) || isRegularSeen) throw bad('ERR_PROXY_MALFORMED', `bad pseudo-header ${name}`);
      pseudo.set(name, value);
      continue;
    }
    isRegularSeen = true;
    if (name !== name.toLowerCase()) throw bad('ERR_PROXY_MALFORMED', 'upper-case field name');
    if (FORBIDDEN.has(name)) throw bad('ERR_PROXY_MALFORMED', `${name} not allowed with the Capsule Protocol`);
    if (name === 'capsule-protocol') capsule.push(value);
  }
  return { pseudo, capsule };
}

/** Lower-cases and drops an explicit default port, so `Example.org:443` = `example.org`. */
export function normalizeAuthority(a: string): string {
  return a.toLowerCase().replace(/:443$/, '');
}

/**
 * Validates an extended CONNECT request's fields (in QPACK order) and returns the target.
 * Throws ProxyRequestError with `httpStatus` (see the file header for the table).
 */
export function parseProxyRequest(fields: readonly FieldLine[], opts: ProxyRequestOptions): ProxyRequest {
  const { pseudo, capsule } = collect(fields);
  const method = pseudo.get(':method');
  if (method !== 'CONNECT') throw bad('ERR_PROXY_METHOD', `expected CONNECT, got ${method ?? 'none'}`, 405);
  const protocol = pseudo.get(':protocol');
  const template = protocol === 'connect-udp' ? opts.udpTemplate : protocol === 'connect-ip' ? opts.ipTemplate : undefined;
  if (template === undefined) throw bad('ERR_PROXY_PROTOCOL', `protocol not served: ${protocol ?? 'none'}`, 501);
  if (pseudo.get(':scheme') !== 'https') throw bad('ERR_PROXY_SCHEME', 'expected :scheme https');
  const authority = pseudo.get(':authority');
  if (authority === undefined || authority === '') throw bad('ERR_PROXY_AUTHORITY', 'missing :authority');
  if (opts.isAuthorityChecked !== false && normalizeAuthority(authority) !== normalizeAuthority(template.authority)) {
    throw bad('ERR_PROXY_AUTHORITY', ':authority does not match the template');
  }
  // RFC 9297 §3.4: the value is one sf-item; several field lines combine into a list → not a Boolean.
  const hasCapsuleProtocol = capsule.length > 0 && parseCapsuleProtocol(capsule.join(', '));
  if (!hasCapsuleProtocol && opts.isCapsuleProtocolRequired !== false) {
    throw bad('ERR_PROXY_CAPSULE_PROTOCOL', 'missing or false Capsule-Protocol');
  }
  const path = pseudo.get(':path') ?? '';
  const vars = matchTemplatePath(template, path);
  if (vars === null) throw bad('ERR_PROXY_PATH', ':path does not match the template', 404);
  if (protocol === 'connect-udp') {
    const t = parseTargetHost(vars.target_host ?? '');
    const targetPort = parseTargetPort(vars.target_port ?? '');
    return { protocol, authority, path, targetHost: t.host, targetHostKind: t.kind, targetPort, hasCapsuleProtocol };
  }
  return {
    protocol: 'connect-ip',
    authority,
    path,
    target: parseIpTarget(vars.target ?? '*'), // RFC 9484 §3: absent variable = wildcard
    ipProto: parseIpProto(vars.ipproto ?? '*'),
    hasCapsuleProtocol,
  };
}

/** RFC 1123 host name: labels of letters, digits, hyphens (and `_`, seen in the wild). */
function isDnsName(s: string): boolean {
  const name = s.endsWith('.') ? s.slice(0, -1) : s;
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  // An all-numeric last label is never a name (it would be a malformed IPv4 literal).
  if (/^\d+$/.test(labels[labels.length - 1])) return false;
  return labels.every((l) => /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/.test(l));
}

/**
 * RFC 9298 §3.4 target_host (already percent-decoded): a DNS name, an IPv4 literal or an IPv6
 * literal (brackets tolerated), never empty, no zone ID. IP literals come back canonical.
 * Throws ProxyRequestError ERR_PROXY_TARGET_HOST (400).
 */
export function parseTargetHost(s: string): { host: string; kind: 'dns' | 'ipv4' | 'ipv6' } {
  const bare = s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
  if (bare.includes(':') || bare.includes('%')) {
    const a = parseIpAddress(bare); // a zone ID ('%eth0') fails here
    if (a === null || a.version !== 6) throw bad('ERR_PROXY_TARGET_HOST', 'invalid IPv6 target_host');
    return { host: formatIpAddress(6, a.bytes), kind: 'ipv6' };
  }
  const v4 = parseIpAddress(bare);
  if (v4 !== null && bare === s) return { host: formatIpAddress(4, v4.bytes), kind: 'ipv4' };
  if (bare !== s || !isDnsName(s)) throw bad('ERR_PROXY_TARGET_HOST', 'invalid target_host');
  return { host: s.toLowerCase(), kind: 'dns' };
}

/** RFC 9298 §3.4 target_port: decimal 1–65535, no sign or leading zeros. ERR_PROXY_TARGET_PORT. */
export function parseTargetPort(s: string): number {
  if (!/^[1-9]\d{0,4}$/.test(s) || +s > 65535) throw bad('ERR_PROXY_TARGET_PORT', 'invalid target_port');
  return +s;
}

/**
 * RFC 9484 §3 target (percent-decoded): `*`, a DNS name, an IP address, or a prefix
 * `addr/len` whose bits after `len` are zero. Throws ERR_PROXY_IP_TARGET (400).
 */
export function parseIpTarget(s: string): IpTarget {
  if (s === '*') return { kind: 'any' };
  if (s.includes('/') || s.includes(':') || parseIpAddress(s) !== null) {
    const p = parseIpPrefix(s, true);
    if (p === null) throw bad('ERR_PROXY_IP_TARGET', 'invalid target prefix (or host bits set)');
    return { kind: 'prefix', prefix: p };
  }
  if (!isDnsName(s)) throw bad('ERR_PROXY_IP_TARGET', 'invalid target');
  return { kind: 'dns', host: s.toLowerCase() };
}

/** RFC 9484 §3 ipproto: `*` (null) or decimal 0–255. Throws ERR_PROXY_IPPROTO (400). */
export function parseIpProto(s: string): number | null {
  if (s === '*') return null;
  if (!/^(0|[1-9]\d{0,2})$/.test(s) || +s > 255) throw bad('ERR_PROXY_IPPROTO', 'invalid ipproto');
  return +s;
}
