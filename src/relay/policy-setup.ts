/**
 * The relay's target policy from its config, and a wrapper that lets SIGHUP swap it
 * without the proxies (which hold a reference) noticing.
 *
 * Defaults (RelayConfig → TargetPolicy, src/masque/policy.ts): loopback, link-local,
 * private, CGNAT, multicast and cloud-metadata destinations are refused; `allow_targets`
 * re-allows prefixes for labs; `deny_targets` always wins. An ingress allows exactly its
 * configured egress relays' addresses (they are often on private networks).
 */
import type { RelayConfig } from '../config/relay.js';
import { TargetPolicy, type PolicyDecision } from '../masque/policy.js';
import type { IpVersion } from '../masque/ip-prefix.js';
import { parseIpAddress, formatIpAddress } from '../masque/ip-prefix.js';

export class ReloadablePolicy extends TargetPolicy {
  constructor(private current: TargetPolicy) {
    super();
  }

  replace(next: TargetPolicy): void {
    this.current = next;
  }

  override check(version: IpVersion, bytes: Uint8Array): PolicyDecision {
    return this.current.check(version, bytes);
  }

  override isTcpPortDenied(port: number): boolean {
    return this.current.isTcpPortDenied(port);
  }
}

/** `host:port` / `[v6]:port` entries → canonical `host:port` keys (host without brackets). */
export function parseHostPortList(list: readonly string[]): string[] {
  return list.map((e) => {
    const m = /^\[([^\]]+)\]:(\d+)$/.exec(e) ?? /^([^:]+):(\d+)$/.exec(e);
    if (!m) throw new Error(`bad host:port ${JSON.stringify(e)}`);
    const host = m[1].toLowerCase();
    const bytes = parseIpAddress(host);
    return `${bytes ? canonical(host) : host}:${Number(m[2])}`;
  });
}

/** One spelling per address (RFC 5952), so '[2001:DB8::1]' and '2001:db8:0::1' match. */
function canonical(host: string): string {
  const a = parseIpAddress(host)!;
  return formatIpAddress(a.version, a.bytes);
}

export function buildPolicy(cfg: RelayConfig): TargetPolicy {
  const p = new TargetPolicy({ allow: cfg.egress.allowTargets, deny: cfg.egress.denyTargets, denyTcpPorts: cfg.egress.denyTcpPorts });
  if (cfg.role === 'ingress') {
    for (const hp of parseHostPortList(cfg.ingress.allowEgress)) {
      const host = hp.slice(0, hp.lastIndexOf(':'));
      const b = parseIpAddress(host);
      if (b) p.allowTarget(`${host}/${b.version === 4 ? 32 : 128}`);
    }
  }
  return p;
}
