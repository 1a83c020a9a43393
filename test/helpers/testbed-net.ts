// Pure description of the testbed line and the command scripts that build it: addresses,
// device names, routes, the nftables forwarding guard and per-link shaping. No I/O here, so
// the plan can be read (and reviewed) in one place; testbed.ts runs it.

/** The four hosts of the line, left to right. */
export const HOSTS = ['client', 'ingress', 'egress', 'server'] as const;
export type Host = (typeof HOSTS)[number];

/** The three links, named `left-right`. Link N (1-based) uses 10.99.N.0/24 and fd00:99:N::/64. */
export const LINKS = ['client-ingress', 'ingress-egress', 'egress-server'] as const;
export type LinkName = (typeof LINKS)[number];

/**
 * How ingress and egress forward packets:
 * - `none`: no forwarding; every host reaches only its direct neighbours.
 * - `tunnel`: forwarding on, but a guard drops plain client-link ⇄ server-link transit
 *   between veths, so the client reaches the server only through a tunnel that ends on a
 *   tunnel device (wg/tun) of a router. Client → egress (e.g. a single-hop VPN endpoint)
 *   is forwarded.
 * - `routed`: plain routing end to end, no guard.
 */
export type ForwardingMode = 'none' | 'tunnel' | 'routed';

/** Impairment of one link, applied to both directions (both ends' egress). */
export interface LinkShaping {
  /** Drop probability per packet leaving each end, in percent (0–100). */
  lossPct?: number;
  /** Token-bucket rate limit per direction, in Mbit/s (tbf). */
  rateMbit?: number;
}

/** One interface address pair; `v6` is null when the testbed was built without IPv6. */
export interface IfAddr {
  v4: string;
  v6: string | null;
}

/** Static facts about one link. */
export interface LinkInfo {
  name: LinkName;
  index: number;
  left: Host;
  right: Host;
  /** Device name inside `left`'s namespace (named after the peer: `v-<right>`). */
  leftDev: string;
  rightDev: string;
  leftAddr: IfAddr;
  rightAddr: IfAddr;
  net4: string;
  net6: string;
}

/** Builds the link table. `.1` is always the left end, `.2` the right end. */
export function linkTable(hasIpv6: boolean): Record<LinkName, LinkInfo> {
  const out = {} as Record<LinkName, LinkInfo>;
  LINKS.forEach((name, i) => {
    const n = i + 1;
    const [left, right] = name.split('-') as [Host, Host];
    out[name] = {
      name,
      index: n,
      left,
      right,
      leftDev: `v-${right}`,
      rightDev: `v-${left}`,
      leftAddr: { v4: `10.99.${n}.1`, v6: hasIpv6 ? `fd00:99:${n}::1` : null },
      rightAddr: { v4: `10.99.${n}.2`, v6: hasIpv6 ? `fd00:99:${n}::2` : null },
      net4: `10.99.${n}.0/24`,
      net6: `fd00:99:${n}::/64`,
    };
  });
  return out;
}

/**
 * The address other hosts use to reach each host: the client's and server's only address,
 * ingress's client-facing address, egress's ingress-facing address (the one a client or the
 * ingress dials). Other addresses are in `linkTable()`.
 */
export function primaryAddrs(links: Record<LinkName, LinkInfo>): Record<Host, IfAddr> {
  return {
    client: links['client-ingress'].leftAddr,
    ingress: links['client-ingress'].rightAddr,
    egress: links['ingress-egress'].rightAddr,
    server: links['egress-server'].rightAddr,
  };
}

/**
 * `ip -batch` lines per host: addresses, links up, routes. Defaults all point "toward the
 * internet" (the server side), which cannot loop: the server is a host and never forwards.
 * egress additionally routes the client link back through ingress.
 */
export function addressScripts(links: Record<LinkName, LinkInfo>, hasIpv6: boolean): Record<Host, string[]> {
  const s: Record<Host, string[]> = { client: ['link set lo up'], ingress: ['link set lo up'], egress: ['link set lo up'], server: ['link set lo up'] };
  for (const l of Object.values(links)) {
    for (const [host, dev, a] of [[l.left, l.leftDev, l.leftAddr], [l.right, l.rightDev, l.rightAddr]] as const) {
      s[host].push(`addr add ${a.v4}/24 dev ${dev}`);
      // nodad: the address is usable at once instead of after duplicate-address detection.
      if (hasIpv6 && a.v6) s[host].push(`addr add ${a.v6}/64 dev ${dev} nodad`);
      s[host].push(`link set ${dev} up`);
    }
  }
  const ci = links['client-ingress'];
  const ie = links['ingress-egress'];
  const es = links['egress-server'];
  const route = (host: Host, dst: string, via: IfAddr): void => {
    s[host].push(`route add ${dst} via ${via.v4}`);
    if (hasIpv6 && via.v6) s[host].push(`route add ${dst === 'default' ? 'default' : v6Net(links, dst)} via ${via.v6}`);
  };
  route('client', 'default', ci.rightAddr);
  route('ingress', 'default', ie.rightAddr);
  route('egress', 'default', es.rightAddr);
  route('egress', ci.net4, ie.leftAddr);
  route('server', 'default', es.leftAddr);
  return s;
}

function v6Net(links: Record<LinkName, LinkInfo>, net4: string): string {
  const l = Object.values(links).find((x) => x.net4 === net4);
  if (!l) throw new Error(`testbed: no IPv6 prefix for ${net4}`);
  return l.net6;
}

/** sysctl assignments for a router in the given mode (plus fixed, deterministic defaults). */
export function forwardingSysctls(isOn: boolean): string[] {
  const v = isOn ? '1' : '0';
  return [`net.ipv4.ip_forward=${v}`, `net.ipv6.conf.all.forwarding=${v}`];
}

/**
 * nftables script for the forwarding guard of one router (`inet mq_guard`). It replaces the
 * table atomically; with `isActive` false it only deletes it. The guard drops veth-to-veth
 * transit between the client link and the server link in either direction; packets that
 * enter or leave through a tunnel device are not matched.
 */
export function guardScript(links: Record<LinkName, LinkInfo>, isActive: boolean): string {
  const c = links['client-ingress'];
  const srv = links['egress-server'];
  const lines = ['table inet mq_guard {}', 'delete table inet mq_guard'];
  if (isActive) {
    const veth = 'iifname "v-*" oifname "v-*"';
    lines.push(
      'table inet mq_guard {',
      '  chain forward {',
      '    type filter hook forward priority 0; policy accept;',
      `    ${veth} ip saddr ${c.net4} ip daddr ${srv.net4} counter drop`,
      `    ${veth} ip saddr ${srv.net4} ip daddr ${c.net4} counter drop`,
      `    ${veth} ip6 saddr ${c.net6} ip6 daddr ${srv.net6} counter drop`,
      `    ${veth} ip6 saddr ${srv.net6} ip6 daddr ${c.net6} counter drop`,
      '  }',
      '}',
    );
  }
  return lines.join('\n') + '\n';
}

/** Resolution of the random drop: probability is compared against numgen mod this. */
const LOSS_SCALE = 1_000_000;

/**
 * nftables script for the loss rules of one host (`inet mq_loss`), one rule per device with
 * loss. Why nftables and not `tc … action gact`: this kernel is built without act_gact and
 * cls_matchall, but with nft numgen. Rules sit in postrouting, so they see locally sent and
 * forwarded IP packets (ARP is never dropped); a GSO super-packet counts as one, which is
 * why testbed.ts caps gso_max_segs to 1 on lossy links.
 */
export function lossScript(lossPctByDev: Map<string, number>): string {
  const lines = ['table inet mq_loss {}', 'delete table inet mq_loss'];
  const active = [...lossPctByDev].filter(([, p]) => p > 0);
  if (active.length > 0) {
    lines.push('table inet mq_loss {', '  chain post {', '    type filter hook postrouting priority 0; policy accept;');
    for (const [dev, pct] of active) {
      const threshold = Math.round((Math.min(pct, 100) / 100) * LOSS_SCALE);
      lines.push(`    oifname "${dev}" numgen random mod ${LOSS_SCALE} < ${threshold} counter drop`);
    }
    lines.push('  }', '}');
  }
  return lines.join('\n') + '\n';
}

/** `tc` argument list that sets (or, with no rate, removes) the tbf rate limit of `dev`. */
export function rateArgs(dev: string, rateMbit: number | undefined): string[] {
  if (!rateMbit || rateMbit <= 0) return ['qdisc', 'del', 'dev', dev, 'root'];
  // Burst: at least 32 KiB (so one TSO burst passes without being torn apart) and at least
  // 5 ms worth of rate (tbf needs burst >= rate / HZ to reach the configured rate).
  const burstBytes = Math.max(32 * 1024, Math.ceil((rateMbit * 1e6) / 8 / 200));
  return ['qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', `${rateMbit}mbit`, 'burst', String(burstBytes), 'latency', '50ms'];
}
