/**
 * Interface configuration through iproute2: addresses, MTU, up/down, routes, and a full
 * tunnel that keeps the relay reachable outside it — all undone by `restore()`.
 *
 * Why `ip -batch -` (one process, commands on stdin) and not one execFile per step or
 * netlink: measured 4–6 ms for a whole configuration vs 14–20 ms for execFile per step
 * (FACTS.md; `npm run bench:tun` re-measures both), and no dependency; npm `netlink` is
 * faster (~1.5 ms) but early-stage. Configuration happens once per session, so ms do not
 * matter, robustness does. Never a shell: every value is validated and ip tokenizes lines.
 *
 * Full tunnel = split routes 0.0.0.0/1 + 128.0.0.0/1 (and ::/1 + 8000::/1): more specific
 * than any default route, so they win without touching it, and vanish with the device. The
 * relay's own address gets a host route via the path it used before (`ip route get`), so
 * the tunnel's outer packets do not loop into the tunnel.
 *
 * Acts in the caller's network namespace and needs CAP_NET_ADMIN.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { parseIpAddress } from '../wire/ip-address.js';
import { TunError } from './errors.js';

export interface InterfaceConfig {
  /** Interface name, e.g. LinuxTun.name. */
  name: string;
  /** CIDR addresses: `10.0.0.2/24`, `fd00::2/64`. IPv6 ones skip DAD (`nodad`): usable at once. */
  addresses?: readonly string[];
  mtu?: number;
  /** Bring the link up (default true). `false` leaves it as it was. */
  isUp?: boolean;
  /** CIDR prefixes to route into the interface. */
  routes?: readonly string[];
  /** Route everything (per family) into the interface, except `keepReachable`. */
  fullTunnel?: { v4?: boolean; v6?: boolean; keepReachable?: readonly string[] };
  /** Path of the ip binary (default `ip` on PATH). */
  ipPath?: string;
}

/** A configuration in force. */
export interface AppliedConfig {
  /** The `ip -batch` lines that were applied (for logs and tests). */
  readonly commands: readonly string[];
  /**
   * Makes `addresses` (CIDR) the device's addresses from now on: adds the missing ones and
   * removes those this handle added that are not listed (addresses the device had before are
   * never removed). One `ip -batch`; throws ERR_TUN_CONFIG, after which the handle still
   * knows which addresses it owns. RFC 9484 §4.7.1: a proxy may change them mid-session.
   */
  setAddresses(addresses: readonly string[]): Promise<void>;
  /**
   * Undoes what was applied, best effort (every step is tried: `ip -force`): relay host
   * routes, routes, addresses, MTU and link state. Safe after the device was closed — steps
   * on a vanished interface are skipped silently — and idempotent.
   */
  restore(): Promise<void>;
}

interface RouteInfo {
  type?: string;
  dst?: string;
  gateway?: string;
  dev?: string;
}

const NAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;

const IPV6_PROC = '/proc/sys/net/ipv6';

/**
 * A device created while `net.ipv6.conf.default.disable_ipv6` is 1 takes no IPv6 address
 * or route ("IPv6 is disabled on nexthop device"), and a full tunnel must route IPv6 into it
 * even when the host never uses IPv6 elsewhere. The device is ours: IPv6 is turned on for it
 * alone. Resolves to the undo, or null when there was nothing to change.
 */
async function enableIpv6(dev: string): Promise<(() => Promise<void>) | null> {
  const path = `${IPV6_PROC}/conf/${dev}/disable_ipv6`;
  const was = await readFile(path, 'utf8').then((s) => s.trim(), () => null);
  if (was !== '1') return null;
  await writeFile(path, '0').catch((e: Error) => {
    throw new TunError('ERR_TUN_CONFIG', `tun: cannot enable IPv6 on ${dev}: ${e.message}`);
  });
  return () => writeFile(path, '1').catch(() => undefined); // the device may be gone
}

/** Validates `a/len` (or a bare address, as a host prefix) and returns it normalized. */
function cidr(text: string, what: string): { addr: string; prefix: string; isV6: boolean } {
  const [addr, len, extra] = text.split('/');
  const bytes = parseIpAddress(addr);
  const max = bytes?.length === 16 ? 128 : 32;
  const n = len === undefined ? max : Number(len);
  if (!bytes || extra !== undefined || !Number.isInteger(n) || n < 0 || n > max || (len !== undefined && !/^\d+$/.test(len))) {
    throw new TunError('ERR_TUN_CONFIG', `tun: bad ${what} ${JSON.stringify(text)}`);
  }
  return { addr, prefix: `${addr}/${n}`, isV6: max === 128 };
}

/** Runs ip with `args`, feeding `stdin`; resolves with its output, never rejects. */
export function runIp(ipPath: string, args: readonly string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(ipPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e) => resolve({ code: -1, stdout, stderr: stderr + String(e) }));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.on('error', () => {}); // ip may exit before reading everything
    child.stdin.end(stdin ?? '');
  });
}

async function ipJson<T>(ipPath: string, args: readonly string[]): Promise<T> {
  const r = await runIp(ipPath, ['-j', ...args]);
  if (r.code !== 0) throw new TunError('ERR_TUN_CONFIG', `tun: ip ${args.join(' ')}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout || '[]') as T;
}

/**
 * Applies `cfg` in one `ip -batch` run. On failure, rolls back what got applied and throws
 * TunError `ERR_TUN_CONFIG` (message carries ip's complaint). Resolves to a handle whose
 * `restore()` undoes everything.
 */
export async function configureInterface(cfg: InterfaceConfig): Promise<AppliedConfig> {
  const ipPath = cfg.ipPath ?? 'ip';
  const dev = cfg.name;
  if (!NAME_RE.test(dev)) throw new TunError('ERR_TUN_CONFIG', `tun: bad interface name ${JSON.stringify(dev)}`);
  if (cfg.mtu !== undefined && (!Number.isInteger(cfg.mtu) || cfg.mtu < 68 || cfg.mtu > 65535)) {
    throw new TunError('ERR_TUN_CONFIG', `tun: bad MTU ${cfg.mtu}`);
  }
  const addrs = (cfg.addresses ?? []).map((a) => cidr(a, 'address'));
  const routes = (cfg.routes ?? []).map((r) => cidr(r, 'route'));
  const keep = (cfg.fullTunnel?.keepReachable ?? []).map((a) => cidr(a, 'relay address'));

  // Snapshot what restore() must put back (one ip run: `addr show` has MTU and flags too).
  const [link] = await ipJson<(LinkAddrs & { mtu: number; flags: string[] })[]>(ipPath, ['addr', 'show', 'dev', dev]);
  if (!link) throw new TunError('ERR_TUN_CONFIG', `tun: no interface ${dev}`);
  const wasUp = link.flags.includes('UP');
  const had = addressesOf(link);

  const apply: string[] = [];
  // Undo in three parts, run in reverse: routes and link state, then the addresses we own
  // (setAddresses may change them), then the relay host routes and the MTU.
  const undo: string[] = [];
  const undoLate: string[] = [];
  const owned = new Set<string>();
  // Relay host routes first, resolved before our routes exist (else they would point at us).
  for (const k of keep) {
    const [r] = await ipJson<RouteInfo[]>(ipPath, ['route', 'get', k.addr]);
    if (!r || r.type === 'local') continue; // local addresses never leave the box
    if (r.dev === dev) throw new TunError('ERR_TUN_CONFIG', `tun: relay ${k.addr} is already routed into ${dev}`);
    const exact = await ipJson<unknown[]>(ipPath, ['route', 'show', 'exact', k.prefix]);
    if (exact.length > 0) continue; // an operator's own host route: leave it alone
    const via = r.gateway ? ` via ${r.gateway}` : '';
    apply.push(`route add ${k.prefix}${via} dev ${r.dev}`);
    undo.push(`route del ${k.prefix}${via} dev ${r.dev}`);
  }
  if (cfg.mtu !== undefined) {
    apply.push(`link set dev ${dev} mtu ${cfg.mtu}`);
    undo.push(`link set dev ${dev} mtu ${link.mtu}`);
  }
  for (const a of addrs) {
    if (had.has(a.prefix)) continue;
    apply.push(addrAdd(a, dev));
    owned.add(a.prefix);
  }
  if (cfg.isUp !== false) {
    apply.push(`link set dev ${dev} up`);
    if (!wasUp) undoLate.push(`link set dev ${dev} down`);
  }
  const all = [...routes.map((r) => r.prefix)];
  if (cfg.fullTunnel?.v4) all.push('0.0.0.0/1', '128.0.0.0/1');
  // A kernel without IPv6 has nothing to route, nor anything to leak.
  const isFullV6 = !!cfg.fullTunnel?.v6 && existsSync(IPV6_PROC);
  if (isFullV6) all.push('::/1', '8000::/1');
  for (const p of all) {
    apply.push(`route add ${p} dev ${dev}`);
    undoLate.push(`route del ${p} dev ${dev}`);
  }
  const isV6Needed = isFullV6 || addrs.some((a) => a.isV6) || routes.some((r) => r.isV6);
  let reenableV6 = isV6Needed ? await enableIpv6(dev) : null;

  let restored = false;
  const restore = async (): Promise<void> => {
    if (restored) return;
    restored = true;
    // Reverse order: routes before the addresses and link state they depend on.
    const lines = [...undoLate.reverse(), ...[...owned].map((a) => `addr del ${a} dev ${dev}`), ...undo.reverse()];
    if (lines.length > 0) await runIp(ipPath, ['-force', '-batch', '-'], lines.join('\n') + '\n');
    await reenableV6?.();
  };
  const r = await runIp(ipPath, ['-batch', '-'], apply.join('\n') + '\n');
  if (r.code !== 0) {
    await restore();
    throw new TunError('ERR_TUN_CONFIG', `tun: configuring ${dev} failed: ${r.stderr.trim()}`);
  }

  const setAddresses = async (addresses: readonly string[]): Promise<void> => {
    if (restored) throw new TunError('ERR_TUN_CONFIG', `tun: ${dev} was restored`);
    const want = addresses.map((a) => cidr(a, 'address'));
    const wanted = new Set(want.map((a) => a.prefix));
    const add = want.filter((a) => !owned.has(a.prefix) && !had.has(a.prefix));
    const del = [...owned].filter((a) => !wanted.has(a));
    if (add.length === 0 && del.length === 0) return;
    if (add.some((a) => a.isV6) && !reenableV6) reenableV6 = await enableIpv6(dev);
    const res = await runIp(ipPath, ['-force', '-batch', '-'], [...add.map((a) => addrAdd(a, dev)), ...del.map((a) => `addr del ${a} dev ${dev}`)].join('\n') + '\n');
    // Whatever ip managed, own what the device now has of ours.
    const [now] = await ipJson<LinkAddrs[]>(ipPath, ['addr', 'show', 'dev', dev]);
    const present = addressesOf(now);
    for (const a of [...owned, ...add.map((x) => x.prefix)]) {
      if (present.has(a)) owned.add(a);
      else owned.delete(a);
    }
    if (res.code !== 0) throw new TunError('ERR_TUN_CONFIG', `tun: changing the addresses of ${dev} failed: ${res.stderr.trim()}`);
  };
  return { commands: apply, restore, setAddresses };
}

/** `ip -j addr show` of one device, the part we read. */
interface LinkAddrs {
  addr_info?: { local: string; prefixlen: number }[];
}

/** The device's addresses as `addr/len`, the form `cidr()` normalizes to. */
function addressesOf(link: LinkAddrs | undefined): Set<string> {
  return new Set((link?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`));
}

function addrAdd(a: { prefix: string; isV6: boolean }, dev: string): string {
  return `addr add ${a.prefix} dev ${dev}${a.isV6 ? ' nodad' : ''}`;
}
