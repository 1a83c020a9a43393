/**
 * The kill switch (lockdown): nftables rules that drop every packet except loopback, the
 * tunnel interface, the relays' UDP endpoints and the prefixes excluded from the tunnel while
 * the tunnel is meant to be up — also while connecting and reconnecting, and after a daemon
 * crash (nft state outlives the process). Only `disconnect` removes them. One table, so
 * removal is one atomic command. The engine also installs it while reconnecting when the
 * kill switch is off, and removes it once the next tunnel is up.
 */
import { execFile } from 'node:child_process';
import { MasqueError } from '../core/errors.js';

export const KILL_SWITCH_TABLE = 'masque_killswitch';

export interface KillSwitchOptions {
  tunName: string;
  /** The relays the client talks to directly (its first hop): `{ host, port }` with IP literals. */
  endpoints: readonly { host: string; port: number }[];
  /**
   * Prefixes the user keeps outside the tunnel (`routing.exclude`, e.g. the LAN): the routes
   * send them to the physical link, so the block must let them pass too. Validated prefixes.
   */
  allowPrefixes?: readonly string[];
  /**
   * Split tunnel (`routing.include`): only these prefixes belong in the tunnel, so only they
   * are blocked outside it; everything else keeps its normal path. Replaces the drop-all policy.
   */
  onlyPrefixes?: readonly string[];
}

function nft(args: string[], input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = execFile('nft', args, (err, _o, stderr) =>
      err ? reject(new MasqueError('ERR_KILL_SWITCH', `nft ${args.join(' ')}: ${(stderr || err.message).trim()}`)) : resolve());
    if (input !== undefined) p.stdin?.end(input);
  });
}

/** The nft address family of an IP literal or prefix. */
function family(addr: string): 'ip' | 'ip6' {
  return addr.includes(':') ? 'ip6' : 'ip';
}

/** The ruleset (exported for tests and docs). */
export function killSwitchRules(o: KillSwitchOptions): string {
  if (o.onlyPrefixes) return splitRules(o.tunName, o.onlyPrefixes);
  const allow = o.endpoints.map((e) =>
    `    ${family(e.host)} daddr ${e.host} udp dport ${e.port} accept\n    ${family(e.host)} saddr ${e.host} udp sport ${e.port} accept`);
  const excluded = (dir: 'o' | 'i') => (o.allowPrefixes ?? []).map((p) =>
    `    ${family(p)} ${dir === 'o' ? 'daddr' : 'saddr'} ${p} accept`);
  const chain = (hook: string, dir: 'o' | 'i') => [
    `  chain ${hook} {`,
    `    type filter hook ${hook} priority filter; policy drop;`,
    `    ${dir}ifname "lo" accept`,
    `    ${dir}ifname "${o.tunName}" accept`,
    ...allow,
    ...excluded(dir),
    // IPv6 neighbour discovery keeps the physical link usable for the relay traffic.
    '    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert } accept',
    // So does DHCP: a lease that cannot be renewed during a long block would take the link
    // down, and the relay with it (Mullvad allows DHCP in its blocked state for this reason).
    dir === 'o' ? '    udp sport 68 udp dport 67 accept' : '    udp sport 67 udp dport 68 accept',
    dir === 'o' ? '    ip6 daddr ff02::1:2 udp sport 546 udp dport 547 accept' : '    udp sport 547 udp dport 546 accept',
    '  }',
  ].join('\n');
  return `table inet ${KILL_SWITCH_TABLE} {\n${chain('output', 'o')}\n${chain('input', 'i')}\n}\n`;
}

/** A split tunnel's block: the included prefixes leave through the TUN or not at all. */
function splitRules(tunName: string, prefixes: readonly string[]): string {
  const drops = prefixes.map((p) => `    oifname != "${tunName}" ${family(p)} daddr ${p} drop`);
  const chain = ['  chain output {', '    type filter hook output priority filter; policy accept;', ...drops, '  }'].join('\n');
  return `table inet ${KILL_SWITCH_TABLE} {\n${chain}\n}\n`;
}

/**
 * Installs (or replaces) the kill switch. Needs CAP_NET_ADMIN. One nft transaction: the old
 * rules give way to the new ones atomically (no instant without a block, e.g. when a reconnect
 * changes the relays), and one process start on the connect path instead of two.
 */
export async function enableKillSwitch(o: KillSwitchOptions): Promise<void> {
  // `add` makes the `delete` valid when there is no table yet.
  await nft(['-f', '-'], `add table inet ${KILL_SWITCH_TABLE}\ndelete table inet ${KILL_SWITCH_TABLE}\n${killSwitchRules(o)}`);
}

/** Whether the table is installed (by us, or by a run that crashed). */
export async function isKillSwitchPresent(): Promise<boolean> {
  return nft(['list', 'table', 'inet', KILL_SWITCH_TABLE]).then(() => true, () => false);
}

/** Removes the kill switch; no-op if absent. */
export async function disableKillSwitch(): Promise<void> {
  await nft(['delete', 'table', 'inet', KILL_SWITCH_TABLE]).catch(() => undefined);
}
