/**
 * The tunnel engine the daemon hosts (TunnelBackend, src/control/schema.ts) and that
 * `relay-cli connect --foreground` runs in-process.
 *
 * States (Mullvad's TunnelState): disconnected → connecting{stage} → connected, and on loss
 * reconnecting{attempt, stage} with exponential backoff (250 ms … 8 s) and failover along
 * the planned relays; error{code} when a user-started attempt fails for good. While
 * connecting and reconnecting, traffic is blocked (the kill switch's rules, also with
 * `kill_switch` off, until a tunnel is up or the attempt fails): between two tunnels it would
 * otherwise leave on the physical link, where wg-quick's routes would have held it (Mullvad's
 * "blocked" state). A watchdog
 * declares the chain dead when the first hop has been silent for 3 keep-alive intervals, so
 * a restarted relay is noticed in ~1.5 s instead of the 30 s idle timeout.
 * connect/disconnect are serialised through one promise chain.
 */
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import { LinuxTun } from '../tun/linux.js';
import type { TunDevice } from '../tun/device.js';
import type { ClientConfig } from '../config/client.js';
import { patchClientConfig } from '../config/client.js';
import { redactSecrets } from '../control/redact.js';
import {
  emptyStats, type BackendEvent, type ClientConfigView, type ConfigPatch, type ConnectOptions, type ConnectStage,
  type RelayInfo, type TunnelBackend, type TunnelState, type TunnelStats,
} from '../control/schema.js';
import { isMasqueError } from '../core/errors.js';
import { openChain, type ChainPlan } from './chain.js';
import { planChains } from './plan.js';
import { TunnelSession } from './tunnel-session.js';
import { disableKillSwitch, enableKillSwitch, isKillSwitchPresent, type KillSwitchOptions } from './kill-switch.js';
import { probeRelays } from './probe.js';
import { restoreStaleDns } from './dns.js';
import { UdpPath } from '../quic/udp-path.js';

export interface EngineDeps {
  log: Logger;
  /** Opens the TUN (tests inject a MemoryTun). Default: LinuxTun named cfg.tun.name. */
  openTun?: (cfg: ClientConfig) => TunDevice;
  /** resolv.conf to manage (default /etc/resolv.conf). */
  resolvConfPath?: string;
}

const BACKOFF_MS = [250, 500, 1000, 2000, 4000, 8000];

export class Engine implements TunnelBackend {
  private state: TunnelState = { state: 'disconnected' };
  private readonly listeners = new Set<(ev: BackendEvent) => void>();
  private session?: TunnelSession;
  private tun?: TunDevice;
  private connectedAt = 0;
  private isWanted = false;
  private generation = 0;
  private watchdog?: NodeJS.Timeout;
  private queue: Promise<unknown> = Promise.resolve();
  /** What the user connected with: a reconnect keeps it (`--relay`, `--single-hop`…). */
  private opts: ConnectOptions = {};
  /**
   * The chains of the last tunnel that came up, resolved. A reconnect uses them: behind the
   * block the system resolver is unreachable, and relays do not move while a tunnel drops.
   */
  private lastPlans: ChainPlan[] = [];
  /** The config changed since lastPlans were made: the next reconnect plans afresh. */
  private isPlanStale = false;
  /** The nft block (kill switch, or the one while connecting) is in force: states say so. */
  private isBlocked = false;

  constructor(private cfg: ClientConfig, private readonly deps: EngineDeps) {}

  // ---- TunnelBackend ----
  connect(opts: ConnectOptions): Promise<TunnelState> {
    if (this.state.state !== 'disconnected' && this.state.state !== 'error') return Promise.resolve(this.state);
    this.isWanted = true;
    this.opts = opts;
    this.lastPlans = [];
    const gen = ++this.generation;
    this.setState({ state: 'connecting', stage: 'resolving' });
    void this.serial(() => this.attempt(gen, opts, 0));
    return Promise.resolve(this.state);
  }

  disconnect(): Promise<TunnelState> {
    this.isWanted = false;
    this.generation++;
    return this.serial(async () => {
      await this.teardown();
      await this.unblock();
      // What a crashed run left behind (dns.ts keeps a backup): disconnect restores it too.
      await restoreStaleDns(this.deps.resolvConfPath).catch(() => undefined);
      this.tun?.close();
      this.tun = undefined;
      this.setState({ state: 'disconnected' });
      return this.state;
    });
  }

  status(): TunnelState {
    return this.state;
  }

  stats(): TunnelStats {
    const s = this.session;
    if (!s) return emptyStats();
    const p = s.pump.stats;
    let rttMs: number | null = null;
    try {
      rttMs = s.chain.parts[0].quic.stats().rttMs;
    } catch {
      /* closing */
    }
    return { rttMs, ...p, packetsDropped: s.pump.dropped, uptimeMs: this.state.state === 'connected' ? Date.now() - this.connectedAt : null };
  }

  relays(): Promise<RelayInfo[]> {
    return probeRelays(this.cfg.relays, 3000);
  }

  getConfig(): ClientConfigView {
    return redactSecrets({ ...this.cfg }) as ClientConfigView;
  }

  async setConfig(patch: ConfigPatch): Promise<ClientConfigView> {
    this.cfg = patchClientConfig(this.cfg, patch);
    this.isPlanStale = true; // the relays may have changed (lastPlans still serve the block)
    return this.getConfig();
  }

  subscribe(listener: (ev: BackendEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    await this.disconnect();
  }

  // ---- internals ----
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private setState(s: TunnelState): void {
    this.state = s;
    for (const l of this.listeners) l({ type: 'state', state: s });
  }

  private stage(gen: number, attempt: number): (st: ConnectStage) => void {
    return (stage) => {
      if (gen !== this.generation) return;
      const blocked = this.isBlocked;
      this.setState(attempt === 0 ? { state: 'connecting', stage, blocked } : { state: 'reconnecting', attempt, stage, blocked });
    };
  }

  /** One attempt through the failover list; on failure schedules the next (reconnects only). */
  private async attempt(gen: number, opts: ConnectOptions, attempt: number): Promise<void> {
    if (gen !== this.generation || !this.isWanted) return;
    const onStage = this.stage(gen, attempt);
    let lastErr: unknown;
    try {
      onStage('resolving');
      const isReconnect = attempt > 0;
      const plans = isReconnect && this.lastPlans.length > 0 && !this.isPlanStale ? this.lastPlans : await planChains(this.cfg, opts);
      // Blocked from here until a tunnel is up, as wg-quick's routes and Mullvad's connecting
      // state hold traffic; the kill switch keeps its block for good, a failure lifts ours.
      await this.block(plans);
      for (const plan of plans) {
        try {
          await this.bringUp(gen, plan, onStage);
          this.lastPlans = plans;
          this.isPlanStale = false;
          // The new tunnel's routes are in place: the block can go.
          if (!this.cfg.killSwitch && gen === this.generation) await this.unblock();
          return;
        } catch (e) {
          lastErr = e;
          this.deps.log.warn({ err: e, relay: plan.first.name }, 'relay attempt failed');
        }
      }
    } catch (e) {
      lastErr = e;
    }
    if (gen !== this.generation) return;
    if (attempt === 0) {
      if (!this.cfg.killSwitch) await this.unblock(); // an error state blocks nothing
      const code = isMasqueError(lastErr) ? lastErr.code : 'ERR_TUNNEL_FAILED';
      this.setState({ state: 'error', code, message: (lastErr as Error)?.message ?? 'connect failed' });
      this.isWanted = false;
      return;
    }
    this.scheduleReconnect(gen, opts, attempt + 1);
  }

  private async bringUp(gen: number, plan: ChainPlan, onStage: (s: ConnectStage) => void): Promise<void> {
    const chain = await openChain(plan, onStage);
    if (gen !== this.generation) {
      await chain.close();
      return;
    }
    if (!this.tun) {
      // TSO: the machine's own TCP uploads come off the TUN in reads of up to 32 segments.
      const tun = this.deps.openTun ? this.deps.openTun(this.cfg) : LinuxTun.open({ name: this.cfg.tun.name, vnetHdr: true, tso: true });
      if (tun instanceof LinuxTun && tun.tsoError) this.deps.log.warn({ err: tun.tsoError }, 'TUN offloads (TSO) unavailable: one read per packet');
      this.tun = tun;
    }
    const session = new TunnelSession(chain, this.tun, this.cfg, this.deps.log, this.deps.resolvConfPath);
    try {
      await session.start(plan.first.peer.host);
    } catch (e) {
      await session.stop();
      throw e;
    }
    this.session = session;
    this.connectedAt = Date.now();
    this.setState({
      state: 'connected', chain: chain.hops, addresses: session.addresses, routes: session.routes, since: new Date().toISOString(),
      mtu: session.mtu, mtuProbe: chain.ip.mtuProbe,
      ...(chain.udp ? { forwarding: chain.udp.isForwarding } : {}),
    });
    session.onAddressesChanged = () => {
      if (gen === this.generation && this.state.state === 'connected') this.setState({ ...this.state, addresses: session.addresses });
    };
    this.armWatchdog(gen, plan);
    void chain.closed.then(() => this.onLost(gen));
  }

  /**
   * Liveness of the first hop: keep-alives are acked, so silence means trouble. After 1.5
   * intervals we migrate to a fresh socket (RFC 9000 §9: our address may have changed and
   * a connected socket keeps the old source); after 3.5 intervals we give up and reconnect.
   */
  private armWatchdog(gen: number, plan: ChainPlan): void {
    clearInterval(this.watchdog);
    const first = this.session!.chain.parts[0];
    const quic = first.quic;
    let last = quic.stats().recvPackets;
    let silentSince = Date.now();
    let hasMigrated = false;
    this.watchdog = setInterval(() => {
      if (gen !== this.generation) return clearInterval(this.watchdog);
      let now: number;
      try {
        now = quic.stats().recvPackets;
      } catch {
        return this.onLost(gen);
      }
      const silentMs = Date.now() - silentSince;
      if (now !== last) {
        last = now;
        silentSince = Date.now();
        hasMigrated = false;
      } else if (silentMs > 3.5 * plan.keepAliveMs) this.onLost(gen);
      else if (silentMs > 1.5 * plan.keepAliveMs && !hasMigrated) {
        hasMigrated = true;
        const peer = plan.first.peer;
        UdpPath.bind({ host: peer.host.includes(':') ? '::' : '0.0.0.0', port: 0 }, { connect: peer })
          .then((p) => {
            if (gen !== this.generation) return p.close();
            first.endpoint.rebind(p);
            if (this.session?.chain.udp?.renewForwarding()) this.deps.log.info('asked the ingress for fresh forwarding VCIDs on the new path');
          })
          .catch(() => undefined);
        this.deps.log.info('first hop silent; migrating to a new local socket');
      }
    }, plan.keepAliveMs / 2);
    this.watchdog.unref();
  }

  private onLost(gen: number): void {
    if (gen !== this.generation || !this.isWanted || this.state.state !== 'connected') return;
    clearInterval(this.watchdog);
    this.deps.log.warn('tunnel lost; reconnecting');
    const g = ++this.generation;
    this.setState({ state: 'reconnecting', attempt: 1, stage: 'resolving', blocked: this.isBlocked });
    void this.serial(async () => {
      // Before the routes go. A kill switch that fails to be replaced here is still in place.
      await this.block(this.lastPlans).catch((err: unknown) => this.deps.log.warn({ err }, 'cannot renew the kill switch'));
      await this.teardown();
      await this.attempt(g, this.opts, 1);
    });
  }

  /**
   * What the block lets through: full tunnel, the first hops and what the user excluded;
   * split tunnel, everything but the included prefixes.
   */
  private blockFor(plans: readonly ChainPlan[]): KillSwitchOptions {
    const { routing } = this.cfg;
    const base = { tunName: this.cfg.tun.name, endpoints: plans.map((p) => p.first.peer) };
    return routing.mode === 'full' ? { ...base, allowPrefixes: routing.exclude } : { ...base, onlyPrefixes: routing.include };
  }

  /**
   * Installs the block for these relays: the kill switch itself (a failure is the attempt's
   * failure), or with `kill_switch` off the same rules while (re)connecting. Without nft (or
   * CAP_NET_ADMIN) that one cannot block; connecting still beats giving up.
   */
  private async block(plans: readonly ChainPlan[]): Promise<void> {
    if (plans.length === 0) return;
    const installed = enableKillSwitch(this.blockFor(plans)).then(() => {
      this.isBlocked = true;
    });
    if (this.cfg.killSwitch) return installed;
    await installed.catch((err: unknown) => this.deps.log.warn({ err }, 'cannot block traffic until the tunnel is up'));
  }

  private async unblock(): Promise<void> {
    await disableKillSwitch();
    this.isBlocked = false;
  }

  private scheduleReconnect(gen: number, opts: ConnectOptions, attempt: number): void {
    const delay = BACKOFF_MS[Math.min(attempt - 2, BACKOFF_MS.length - 1)];
    this.setState({ state: 'reconnecting', attempt, stage: 'resolving', blocked: this.isBlocked });
    setTimeout(() => void this.serial(() => this.attempt(gen, opts, attempt)), delay);
  }

  private async teardown(): Promise<void> {
    clearInterval(this.watchdog);
    const s = this.session;
    this.session = undefined;
    await s?.stop();
  }
}

/**
 * Daemon start: what a crashed run left behind. Its TUN died with it, so a TUN of this name
 * means another client is running, and nothing is touched. Otherwise the DNS backup is
 * restored, and a block is lifted unless `kill_switch` is on: a kill switch is meant to outlive
 * a crash, the block while (re)connecting is not (this daemon starts disconnected).
 */
export async function recoverAfterCrash(cfg: ClientConfig, deps: Pick<EngineDeps, 'log' | 'resolvConfPath'>): Promise<void> {
  if (existsSync(`/sys/class/net/${cfg.tun.name}`)) return;
  await restoreStaleDns(deps.resolvConfPath).catch((err: unknown) => deps.log.warn({ err }, 'cannot restore the DNS backup'));
  if (cfg.killSwitch || !(await isKillSwitchPresent())) return;
  await disableKillSwitch();
  deps.log.warn('lifted the traffic block a crashed run left (kill switch off)');
}

/** The daemon's factory (cli/engines.ts contract). */
export function createEngine(cfg: ClientConfig, deps: EngineDeps): TunnelBackend {
  return new Engine(cfg, deps);
}
