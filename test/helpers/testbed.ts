// A line of four network namespaces for netns tests and the VPN benchmark
// (STYLE.md §9 item 12; compare wireguard-go tests/netns.sh):
//
//  ┌───────────────┐     ┌───────────────────────────────┐     ┌───────────────────────────────┐     ┌───────────────┐
//  │ client        │     │ ingress                       │     │ egress                        │     │ server        │
//  │ v-ingress     │─────│ v-client        v-egress      │─────│ v-ingress       v-server      │─────│ v-egress      │
//  │ 10.99.1.1     │     │ 10.99.1.2       10.99.2.1     │     │ 10.99.2.2       10.99.3.1     │     │ 10.99.3.2     │
//  │ fd00:99:1::1  │     │ fd00:99:1::2    fd00:99:2::1  │     │ fd00:99:2::2    fd00:99:3::1  │     │ fd00:99:3::2  │
//  └───────────────┘     └───────────────────────────────┘     └───────────────────────────────┘     └───────────────┘
//        link client-ingress              link ingress-egress                   link egress-server
//        10.99.1.0/24, fd00:99:1::/64     10.99.2.0/24, fd00:99:2::/64          10.99.3.0/24, fd00:99:3::/64
//
// Namespaces are named `mq-<pid>-<seq>-<host>` so parallel runs never collide. Veths are
// created directly inside the namespaces (never in the root namespace) and vanish with them.
// Default routes point toward the server; whether a packet crosses a router depends only on
// the forwarding mode (see ForwardingMode). Everything is removed by dispose(), on process
// exit and on SIGINT/SIGTERM/SIGHUP (testbed-cleanup.ts), and stale namespaces of SIGKILLed
// runs are swept by the next create(). All commands run with argument arrays, never a shell.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { NS_PREFIX, killAndDeleteNamespace, sweepStale, track, untrack } from './testbed-cleanup.js';
import {
  HOSTS, LINKS, addressScripts, forwardingSysctls, guardScript, linkTable, lossScript, primaryAddrs, rateArgs,
  type ForwardingMode, type Host, type IfAddr, type LinkInfo, type LinkName, type LinkShaping,
} from './testbed-net.js';

export { HOSTS, LINKS, type ForwardingMode, type Host, type IfAddr, type LinkInfo, type LinkName, type LinkShaping };

/** Options of Testbed.create(). */
export interface TestbedOptions {
  /** Add IPv6 addresses and routes (default true). */
  ipv6?: boolean;
  /** Shortcut for `forwarding: 'routed'` (true) or `'none'` (false, the default). */
  routed?: boolean;
  /** Forwarding mode of ingress and egress; wins over `routed`. */
  forwarding?: ForwardingMode;
  /** Per-link loss and rate, both directions. */
  links?: Partial<Record<LinkName, LinkShaping>>;
}

/** Options of Testbed.exec(). */
export interface ExecOptions {
  /** Kill the command (SIGKILL) after this many ms (default 30 000). */
  timeoutMs?: number;
  /** Written to the command's stdin, which is then closed. */
  input?: string;
  /** Resolve with the result instead of rejecting on a non-zero exit. */
  allowFail?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** Outcome of a finished command. */
export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

let seq = 0;
// setpriv --pdeathsig makes the kernel kill a spawned command if this process dies without
// running any handler (SIGKILL, crash): nothing outlives us even then.
const hasSetpriv = existsSync('/usr/bin/setpriv');

/**
 * The four-namespace line. Create with `Testbed.create()`; always `dispose()` (it is also
 * done for you on exit and on SIGINT/SIGTERM/SIGHUP). Methods may be called concurrently,
 * except setForwarding()/setShaping() which should not race with themselves.
 */
export class Testbed {
  /** `mq-<pid>-<seq>`: prefix of this testbed's namespace names. */
  readonly id: string;
  /** Namespace name of each host. */
  readonly ns: Record<Host, string>;
  /** Static link facts (devices, both ends' addresses, prefixes). */
  readonly links: Record<LinkName, LinkInfo>;
  /** The address used to reach each host: see primaryAddrs() in testbed-net.ts. */
  readonly addr: Record<Host, IfAddr>;
  readonly hasIpv6: boolean;
  private mode: ForwardingMode = 'none';
  private readonly shaping = new Map<LinkName, LinkShaping>();
  private readonly children = new Set<ChildProcess>();
  private disposing: Promise<void> | null = null;

  private constructor(hasIpv6: boolean) {
    this.id = `${NS_PREFIX}${++seq}`;
    this.hasIpv6 = hasIpv6;
    this.ns = Object.fromEntries(HOSTS.map((h) => [h, `${this.id}-${h}`])) as Record<Host, string>;
    this.links = linkTable(hasIpv6);
    this.addr = primaryAddrs(this.links);
  }

  /** Builds the line. On failure everything built so far is removed and the error rethrown. */
  static async create(opts: TestbedOptions = {}): Promise<Testbed> {
    sweepStale();
    const tb = new Testbed(opts.ipv6 ?? true);
    track(tb);
    try {
      await tb.build(opts);
    } catch (e) {
      await tb.dispose();
      throw new Error(`testbed: create failed: ${(e as Error).message}`, { cause: e });
    }
    return tb;
  }

  private async build(opts: TestbedOptions): Promise<void> {
    await run('ip', ['-batch', '-'], { input: HOSTS.map((h) => `netns add ${this.ns[h]}`).join('\n') + '\n' });
    await Promise.all(HOSTS.map(async (h) => {
      // Set every knob we depend on explicitly: a new namespace may inherit the root's IPv4
      // settings (net.core.devconf_inherit_init_net), which differ between machines. This
      // runs before the veths exist so they copy the `default` values: without DAD even the
      // link-local addresses are usable at once (else the first routed IPv6 packet waits ~1 s).
      const sysctls = [...forwardingSysctls(false), 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0'];
      if (this.hasIpv6) {
        sysctls.push('net.ipv6.conf.all.disable_ipv6=0', 'net.ipv6.conf.default.disable_ipv6=0');
        sysctls.push('net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0');
      }
      await this.exec(h, 'sysctl', ['-q', '-w', ...sysctls]);
    }));
    await Promise.all(Object.values(this.links).map((l) =>
      run('ip', ['-n', this.ns[l.left], 'link', 'add', l.leftDev, 'type', 'veth', 'peer', 'name', l.rightDev, 'netns', this.ns[l.right]])));
    const scripts = addressScripts(this.links, this.hasIpv6);
    await Promise.all(HOSTS.map((h) => run('ip', ['-n', this.ns[h], '-batch', '-'], { input: scripts[h].join('\n') + '\n' })));
    if (this.hasIpv6) await this.waitIpv6Ready(3000);
    await this.setForwarding(opts.forwarding ?? (opts.routed ? 'routed' : 'none'));
    for (const [name, s] of Object.entries(opts.links ?? {})) await this.setShaping(name as LinkName, s);
  }

  /**
   * Waits until every veth has its link-local address. Until then the kernel has not yet
   * processed the carrier-up event (linkwatch defers it up to ~1 s), the interface has not
   * joined its solicited-node groups, and neighbour solicitations for our addresses go
   * unanswered: the first IPv6 packet would stall for a second.
   */
  private async waitIpv6Ready(timeoutMs: number): Promise<void> {
    const devs = Object.values(this.links).flatMap((l) => [[l.left, l.leftDev], [l.right, l.rightDev]] as const);
    for (const end = Date.now() + timeoutMs; ; await new Promise((r) => setTimeout(r, 25))) {
      const ready = await Promise.all(devs.map(async ([h, dev]) => {
        const r = await run('ip', ['-n', this.ns[h], '-6', '-o', 'addr', 'show', 'dev', dev, 'scope', 'link'], { allowFail: true });
        return r.stdout.includes('fe80:') && !r.stdout.includes('tentative');
      }));
      if (ready.every(Boolean)) return;
      if (Date.now() > end) throw new Error('testbed: IPv6 link-local addresses did not come up');
    }
  }

  /** Current forwarding mode. */
  get forwarding(): ForwardingMode {
    return this.mode;
  }

  /**
   * Sets forwarding on ingress and egress (see ForwardingMode). The guard stays installed in
   * every mode but `routed`, so `none` → `tunnel` never opens a plain path to the server.
   */
  async setForwarding(mode: ForwardingMode): Promise<void> {
    await Promise.all((['ingress', 'egress'] as const).map(async (h) => {
      await this.exec(h, 'nft', ['-f', '-'], { input: guardScript(this.links, mode !== 'routed') });
      await this.exec(h, 'sysctl', ['-q', '-w', ...forwardingSysctls(mode !== 'none')]);
    }));
    this.mode = mode;
  }

  /** `setForwarding('routed')` or `setForwarding('none')`. */
  setRouted(isRouted: boolean): Promise<void> {
    return this.setForwarding(isRouted ? 'routed' : 'none');
  }

  /**
   * Replaces the loss/rate of one link (both directions); `{}` clears it. Lossy links get
   * gso_max_segs 1 on both ends so locally sent TCP is dropped per wire packet, not per
   * 64 KB super-packet (forwarded super-packets from another link still count as one).
   */
  async setShaping(link: LinkName, s: LinkShaping): Promise<void> {
    this.shaping.set(link, { ...s });
    const l = this.links[link];
    for (const [host, dev] of [[l.left, l.leftDev], [l.right, l.rightDev]] as const) {
      const loss = new Map<string, number>();
      for (const other of Object.values(this.links)) {
        const pct = this.shaping.get(other.name)?.lossPct ?? 0;
        if (other.left === host) loss.set(other.leftDev, pct);
        if (other.right === host) loss.set(other.rightDev, pct);
      }
      await this.exec(host, 'nft', ['-f', '-'], { input: lossScript(loss) });
      const segs = (s.lossPct ?? 0) > 0 ? '1' : '65535';
      await run('ip', ['-n', this.ns[host], 'link', 'set', 'dev', dev, 'gso_max_segs', segs]);
      // Deleting a root qdisc that is not there fails harmlessly.
      await this.exec(host, 'tc', rateArgs(dev, s.rateMbit), { allowFail: !s.rateMbit });
    }
  }

  /** Runs `cmd args` inside `host`'s namespace and collects its output. Rejects on non-zero exit unless allowFail. */
  exec(host: Host, cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return run('ip', this.nsArgv(host, cmd, args), opts);
  }

  /**
   * Starts `cmd args` inside `host`'s namespace. The child is tracked: dispose() sends it
   * SIGTERM (SIGKILL after 2 s), the exit handler SIGKILLs it, and the kernel kills it if
   * this process dies first. The PID is the command's own (`ip netns exec` execs in place).
   */
  spawn(host: Host, cmd: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    if (this.disposing) throw new Error('testbed: spawn after dispose');
    const child = spawn('ip', this.nsArgv(host, cmd, args), { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    child.once('error', () => this.children.delete(child));
    return child;
  }

  /** True if one ping from `from` to `addr` gets an answer within `timeoutS` seconds. */
  async canReach(from: Host, addr: string, timeoutS = 1): Promise<boolean> {
    const r = await this.exec(from, 'ping', ['-n', '-q', '-c', '1', '-W', String(timeoutS), addr], { allowFail: true });
    return r.code === 0;
  }

  private nsArgv(host: Host, cmd: string, args: readonly string[]): string[] {
    const pre = hasSetpriv ? ['setpriv', '--pdeathsig', 'KILL', '--'] : [];
    return ['netns', 'exec', this.ns[host], ...pre, cmd, ...args];
  }

  /** Stops tracked children, kills anything left in the namespaces and deletes them. Idempotent. */
  dispose(): Promise<void> {
    this.disposing ??= (async () => {
      await Promise.all([...this.children].map((c) => stopChild(c, 2000)));
      for (const h of HOSTS) killAndDeleteNamespace(this.ns[h]);
      untrack(this);
    })();
    return this.disposing;
  }

  /** Synchronous last-resort cleanup for the process 'exit' and signal handlers. */
  disposeSync(): void {
    for (const c of this.children) if (c.pid && c.exitCode === null && c.signalCode === null) safeKill(c.pid, 'SIGKILL');
    for (const h of HOSTS) killAndDeleteNamespace(this.ns[h]);
  }
}

function safeKill(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child has exited. */
export function stopChild(c: ChildProcess, graceMs: number): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null || !c.pid) return Promise.resolve();
  const pid = c.pid;
  return new Promise((resolve) => {
    const t = setTimeout(() => safeKill(pid, 'SIGKILL'), graceMs);
    c.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    safeKill(pid, 'SIGTERM');
  });
}

/** Runs a program (argument array, no shell) and collects its output. */
function run(file: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ? { ...process.env, ...opts.env } : process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const r = { stdout, stderr, code, signal };
      if (code === 0 || opts.allowFail) resolve(r);
      else reject(new Error(`testbed: ${file} ${args.join(' ')} → ${code ?? signal}: ${stderr.trim()}`));
    });
    child.stdin.on('error', () => {}); // the command may exit before reading its input
    child.stdin.end(opts.input ?? '');
  });
}
