/**
 * Address syntax shared by the relay and client configs: `HOST:PORT`, `[IPv6]:PORT`, and
 * whether a host is loopback (the `auth = "none"` rule). Pure; throws plain Errors whose
 * message the config reader prefixes with the key and line.
 */
import { isIP } from 'node:net';
import { formatIpPrefix, maskBytes, parseIpPrefix } from '../masque/ip-prefix.js';

/** Same shape as quic/path.ts HostPort; `host` has no brackets. */
export interface HostPort {
  host: string;
  port: number;
}

const HOSTNAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/**
 * Parse `host:port` or `[v6]:port`. With `isBind` the host must be an IP literal (what we
 * bind to: quiche takes IP literals only) and port 0 ("any free port") is allowed; otherwise
 * the port is 1..65535.
 */
export function parseHostPort(text: string, isBind = false): HostPort {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]]+):(\d+)$/.exec(text);
  if (m === null) throw new Error(`expected HOST:PORT (IPv6 as [ADDR]:PORT), got ${JSON.stringify(text)}`);
  const host = m[1]!;
  const port = Number(m[2]);
  const minPort = isBind ? 0 : 1;
  if (!(port >= minPort && port <= 65535)) throw new Error(`port out of range ${minPort}..65535 in ${JSON.stringify(text)}`);
  const isBracketed = text.startsWith('[');
  if (isBracketed && isIP(host) !== 6) throw new Error(`not an IPv6 address in brackets: ${JSON.stringify(text)}`);
  if (isBind && isIP(host) === 0) throw new Error(`expected an IP address, not a name, in ${JSON.stringify(text)}`);
  if (isIP(host) === 0 && !HOSTNAME.test(host)) throw new Error(`invalid host name in ${JSON.stringify(text)}`);
  return { host, port };
}

/** `host:port`, bracketing IPv6. */
export function formatHostPort(hp: HostPort): string {
  return isIP(hp.host) === 6 ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

/** True for 127.0.0.0/8, ::1, ::ffff:127.x and `localhost`. The unspecified address is not loopback. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/**
 * Checks a network prefix (`10.0.0.0/8`, `2001:db8::/32`, or a bare address: one host) the
 * way its users will read it: the target policy, the address pools and the client's routes
 * all refuse host bits after the length (so does `ip route`), and a length is written without
 * leading zeros. Refusing here names the key and line; otherwise the relay would start and
 * then fail, or the client would fail at connect. `version` requires one family.
 */
export function checkNetworkPrefix(text: string, version?: 4 | 6): void {
  const p = parseIpPrefix(text);
  if (p === null) {
    const loose = parseIpPrefix(text, false);
    if (loose === null) throw new Error(`expected ADDRESS/LENGTH, got ${JSON.stringify(text)}`);
    const net = formatIpPrefix({ ...loose, bytes: maskBytes(loose.bytes, loose.prefixLen) });
    throw new Error(`host bits set after /${loose.prefixLen} in ${JSON.stringify(text)}: did you mean ${JSON.stringify(net)}?`);
  }
  if (version !== undefined && p.version !== version) throw new Error(`expected an IPv${version} prefix, got ${JSON.stringify(text)}`);
}
