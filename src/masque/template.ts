/**
 * URI templates for CONNECT-UDP (RFC 9298 §2) and CONNECT-IP (RFC 9484 §3): the subset of
 * RFC 6570 they need — levels 1–3 with the simple, `?` and `&` operators only.
 *
 * - Client side: `expandTemplate` / `expandTemplatePath` build the request URI / `:path`.
 * - Proxy side: `matchTemplatePath` maps a request `:path` back to variables.
 *
 * Decisions: the scheme must be `https` and the authority literal (no expressions) so the proxy
 * can check `:authority` and `:path` separately; the path must start with `/`. A variable may
 * appear once. RFC 9298 §2 forbids the `+ # . / ;` operators; level-4 modifiers (`:n`, `*`) are
 * refused too (level ≤ 3).
 */
import { TemplateError } from './errors.js';

/** Which protocol a template is for: 'udp' requires target_host and target_port (RFC 9298 §2). */
export type TemplateKind = 'udp' | 'ip';

/** RFC 9298 §2 default path; prefix `https://<proxy host>:<port>`. */
export const DEFAULT_UDP_PATH_TEMPLATE = '/.well-known/masque/udp/{target_host}/{target_port}/';
/** RFC 9484 §3 default path. */
export const DEFAULT_IP_PATH_TEMPLATE = '/.well-known/masque/ip/{target}/{ipproto}/';

/** The default CONNECT-UDP template for a relay at `authority` (`host[:port]`). */
export function defaultUdpTemplate(authority: string): string {
  return `https://${authority}${DEFAULT_UDP_PATH_TEMPLATE}`;
}

/** The default CONNECT-IP template for a relay at `authority` (`host[:port]`). */
export function defaultIpTemplate(authority: string): string {
  return `https://${authority}${DEFAULT_IP_PATH_TEMPLATE}`;
}

type Operator = '' | '?' | '&';

/** One piece of the path-and-query part of a template. */
export type TemplatePart =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'expr'; readonly op: Operator; readonly vars: readonly string[] };

/** A validated template. Immutable; safe to share. */
export interface UriTemplate {
  readonly raw: string;
  /** Literal `host[:port]` of the template. */
  readonly authority: string;
  /** Path and query part, parsed. */
  readonly parts: readonly TemplatePart[];
  /** Every variable name, in order of appearance. */
  readonly variables: readonly string[];
  readonly matcher: RegExp;
}

/** Values for expansion; undefined variables are omitted (RFC 6570 §2.3). */
export type TemplateVars = Readonly<Record<string, string | number | undefined>>;

const VARNAME_RE = /^(?:[A-Za-z0-9_]|%[0-9A-Fa-f]{2})+(?:\.(?:[A-Za-z0-9_]|%[0-9A-Fa-f]{2})+)*$/;
/** RFC 6570 §2.1 literals, restricted by RFC 9298 §2 to printable ASCII 0x21–0x7E. */
const LITERAL_FORBIDDEN = /[^\x21-\x7e]|["'<>\\^`|#]/;
const VALUE_CLASS = "[^/?#&=,]*";

function tErr(code: string, raw: string, why: string): TemplateError {
  return new TemplateError(code, `masque: invalid URI template '${raw}': ${why}`);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function parseExpr(raw: string, body: string): TemplatePart {
  let op: Operator = '';
  let list = body;
  const c = body[0];
  if (c === '?' || c === '&') {
    op = c;
    list = body.slice(1);
  } else if (c !== undefined && '+#./;=,!@|'.includes(c)) {
    throw tErr('ERR_TEMPLATE_OPERATOR', raw, `operator '${c}' not allowed`);
  }
  const vars = list.split(',');
  for (const v of vars) {
    if (v.includes(':') || v.endsWith('*')) throw tErr('ERR_TEMPLATE_OPERATOR', raw, `level-4 modifier in '${v}'`);
    if (!VARNAME_RE.test(v)) throw tErr('ERR_TEMPLATE_SYNTAX', raw, `bad variable name '${v}'`);
  }
  return { kind: 'expr', op, vars };
}

function tokenize(raw: string, rest: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let i = 0;
  while (i < rest.length) {
    const open = rest.indexOf('{', i);
    const lit = rest.slice(i, open === -1 ? rest.length : open);
    if (lit.includes('}')) throw tErr('ERR_TEMPLATE_SYNTAX', raw, "unbalanced '}'");
    if (LITERAL_FORBIDDEN.test(lit)) throw tErr('ERR_TEMPLATE_CHARSET', raw, 'forbidden character in literal');
    if (lit !== '') parts.push({ kind: 'literal', text: lit });
    if (open === -1) break;
    const close = rest.indexOf('}', open);
    if (close === -1 || rest.slice(open + 1, close).includes('{')) throw tErr('ERR_TEMPLATE_SYNTAX', raw, "unbalanced '{'");
    parts.push(parseExpr(raw, rest.slice(open + 1, close)));
    i = close + 1;
  }
  return parts;
}

function buildMatcher(parts: readonly TemplatePart[]): RegExp {
  let re = '^';
  for (const p of parts) {
    if (p.kind === 'literal') {
      re += escapeRe(p.text);
    } else if (p.op === '') {
      re += `(${VALUE_CLASS}(?:,${VALUE_CLASS})*)`;
    } else {
      const name = `(?:${p.vars.map(escapeRe).join('|')})`;
      const item = `${name}=${VALUE_CLASS}`;
      re += p.op === '?' ? `((?:\\?${item}(?:&${item})*)?)` : `((?:&${item})*)`;
    }
  }
  return new RegExp(re + '$');
}

/**
 * Validates and parses a template. Throws TemplateError: ERR_TEMPLATE_CHARSET (outside
 * 0x21–0x7E, RFC 9298 §2), ERR_TEMPLATE_NOT_HTTPS (not an absolute https URI),
 * ERR_TEMPLATE_AUTHORITY (empty or templated authority), ERR_TEMPLATE_SYNTAX,
 * ERR_TEMPLATE_OPERATOR (operator other than simple/`?`/`&`, or a level-4 modifier),
 * ERR_TEMPLATE_MISSING_VARIABLE (kind 'udp' without target_host and target_port).
 * RFC 9484 §3: for kind 'ip' both variables are optional.
 */
export function parseUriTemplate(raw: string, kind?: TemplateKind): UriTemplate {
  if (/[^\x21-\x7e]/.test(raw)) throw tErr('ERR_TEMPLATE_CHARSET', raw, 'characters outside 0x21-0x7E');
  const m = /^https:\/\/([^/?#{}]*)(\/.*)$/i.exec(raw);
  if (m === null) {
    if (!/^https:\/\//i.test(raw)) throw tErr('ERR_TEMPLATE_NOT_HTTPS', raw, 'not an absolute https URI');
    throw tErr('ERR_TEMPLATE_AUTHORITY', raw, 'authority must be literal and followed by a path');
  }
  const authority = m[1];
  if (authority === '' || authority.includes('@')) throw tErr('ERR_TEMPLATE_AUTHORITY', raw, 'bad authority');
  const parts = tokenize(raw, m[2]);
  const variables: string[] = [];
  for (const p of parts) {
    if (p.kind !== 'expr') continue;
    for (const v of p.vars) {
      if (variables.includes(v)) throw tErr('ERR_TEMPLATE_SYNTAX', raw, `variable '${v}' repeated`);
      variables.push(v);
    }
  }
  if (kind === 'udp') {
    for (const v of ['target_host', 'target_port']) {
      if (!variables.includes(v)) throw tErr('ERR_TEMPLATE_MISSING_VARIABLE', raw, `missing {${v}}`);
    }
  }
  return { raw, authority, parts, variables, matcher: buildMatcher(parts) };
}

/**
 * RFC 6570 §3.2.1 encoding for the simple, `?` and `&` operators: every byte of the UTF-8 form
 * outside the unreserved set becomes `%XX` (upper case). So `2001:db8::42` → `2001%3Adb8%3A%3A42`
 * and `192.0.2.0/24` → `192.0.2.0%2F24` (RFC 9298 §2, RFC 9484 §3).
 */
export function percentEncode(s: string): string {
  let out = '';
  for (const b of new TextEncoder().encode(s)) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Inverse of percentEncode (any `%XX` decoded, UTF-8 checked). Null on malformed input. */
export function percentDecode(s: string): string | null {
  if (!s.includes('%')) return s;
  if (/%(?![0-9A-Fa-f]{2})/.test(s)) return null;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%') {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      const c = s.charCodeAt(i);
      if (c > 0x7f) return null; // a :path is ASCII; anything else is not a URI
      bytes.push(c);
    }
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
  } catch {
    return null;
  }
}

/** Expands the path-and-query part: the value of `:path` (RFC 9298 §3.4, RFC 9484 §4.4). */
export function expandTemplatePath(t: UriTemplate, vars: TemplateVars): string {
  let out = '';
  for (const p of t.parts) {
    if (p.kind === 'literal') {
      out += p.text;
      continue;
    }
    const defined = p.vars.filter((v) => vars[v] !== undefined);
    if (p.op === '') {
      out += defined.map((v) => percentEncode(String(vars[v]))).join(',');
    } else {
      defined.forEach((v, i) => {
        out += `${i === 0 ? p.op : '&'}${v}=${percentEncode(String(vars[v]))}`;
      });
    }
  }
  return out;
}

/** Expands the whole template to an absolute URI. */
export function expandTemplate(t: UriTemplate, vars: TemplateVars): string {
  return `https://${t.authority}${expandTemplatePath(t, vars)}`;
}

function assign(out: Record<string, string>, name: string, raw: string): boolean {
  const v = percentDecode(raw);
  if (v === null) return false;
  out[name] = v;
  return true;
}

/**
 * Proxy side: matches a request `:path` against the template and returns the percent-decoded
 * variables (absent ones are missing from the record), or null when the path does not have the
 * template's shape or carries malformed percent-encoding. Values are not validated here — the
 * caller checks target_host, target_port, etc. (proxy-request.ts).
 */
export function matchTemplatePath(t: UriTemplate, path: string): Record<string, string> | null {
  const m = t.matcher.exec(path);
  if (m === null) return null;
  const out: Record<string, string> = {};
  let g = 1;
  for (const p of t.parts) {
    if (p.kind === 'literal') continue;
    const text = m[g++];
    if (p.op === '') {
      // Values fill variables left to right; a shorter list leaves the last ones undefined.
      const vals = text.split(',');
      if (vals.length > p.vars.length) return null;
      for (let i = 0; i < vals.length; i++) if (!assign(out, p.vars[i], vals[i])) return null;
      continue;
    }
    let last = -1;
    for (const item of text.split(/[?&]/).slice(1)) {
      const eq = item.indexOf('=');
      const idx = p.vars.indexOf(item.slice(0, eq));
      if (idx <= last) return null; // RFC 6570 expands in list order, each name once
      last = idx;
      if (!assign(out, p.vars[idx], item.slice(eq + 1))) return null;
    }
  }
  return out;
}
