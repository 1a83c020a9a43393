/**
 * One live tunnel: a Chain plus the local side (TUN addresses, MTU, routes, DNS) and the
 * pump between them. `start()` applies everything; `stop()` undoes it in reverse order.
 * The TUN device itself belongs to the engine and outlives reconnects.
 *
 * MTU (docs/protocol/mtu.md): the TUN gets min(configured MTU, what one CONNECT-IP datagram
 * carries through every QUIC layer), never below 1280 (RFC 9484 §10: the session would have
 * failed already).
 */
import type { Logger } from 'pino';
import type { ClientConfig } from '../config/client.js';
import type { TunDevice } from '../tun/device.js';
import { configureInterface, type AppliedConfig } from '../tun/config.js';
import { formatIpPrefix } from '../masque/ip-prefix.js';
import type { Chain } from './chain.js';
import { Pump } from './pump.js';
import { applyDns, type AppliedDns } from './dns.js';

/** RFC 9484 §4.7.1 sets no limit; one per family is what relays assign. */
const MAX_TUN_ADDRESSES = 16;

export class TunnelSession {
  readonly pump: Pump;
  addresses: string[] = [];
  routes: string[] = [];
  /** The TUN's MTU, set by start(). */
  mtu = 0;
  /** Called after the TUN's addresses followed a new ADDRESS_ASSIGN (`addresses` is current). */
  onAddressesChanged: (() => void) | null = null;
  private applied?: AppliedConfig;
  private dns?: AppliedDns;
  /** Address changes, one at a time, in the order the proxy sent them. */
  private addressSync: Promise<void> = Promise.resolve();

  constructor(
    readonly chain: Chain,
    private readonly tun: TunDevice,
    private readonly cfg: ClientConfig,
    private readonly log: Logger,
    private readonly resolvConfPath?: string,
  ) {
    this.pump = new Pump(tun, chain.ip);
  }

  async start(relayAddress: string): Promise<void> {
    const ip = this.chain.ip;
    const mtu = (this.mtu = Math.max(1280, Math.min(this.cfg.tun.mtu, ip.mtu)));
    this.addresses = this.assigned();
    const isFull = this.cfg.routing.mode === 'full';
    const include = isFull ? [] : this.cfg.routing.include;
    this.routes = isFull ? ['0.0.0.0/0', '::/0'] : include;
    this.applied = await configureInterface({
      name: this.tun.name,
      addresses: this.addresses,
      mtu,
      routes: include,
      // Both families, whatever the relay assigned: a family without an address still goes into
      // the TUN, where the session answers "no route" (ConnectIpSession), rather than leaving
      // on the physical path beside the tunnel. The relay stays reachable outside it; so do
      // excluded prefixes (split tunnel).
      fullTunnel: isFull ? { v4: true, v6: true, keepReachable: [relayAddress, ...this.cfg.routing.exclude] } : undefined,
    });
    const missing = ([4, 6] as const).filter((v) => !ip.addresses.some((a) => a.version === v)).map((v) => `IPv${v}`);
    if (missing.length > 0) this.log.info({ families: missing }, 'the relay assigned no address for these families: their packets are answered "no route" inside the tunnel');
    this.tun.setMtu(mtu);
    this.dns = await applyDns({ servers: this.cfg.dns.servers, resolvConfPath: this.resolvConfPath });
    if (this.dns.replacedLink?.includes('systemd/resolve')) {
      this.log.warn({ link: this.dns.replacedLink }, 'resolv.conf belongs to systemd-resolved: programs that ask resolved directly still use its servers (docs/client.md, DNS)');
    }
    this.pump.start();
    // The driver carrying CONNECT-IP (the inner one on two hops) ends each read pass by
    // flushing the packets it delivered, before it sends the ACKs for them.
    const parts = this.chain.parts;
    parts[parts.length - 1]!.h3.afterReads = () => this.pump.flush();
    // Two hops: what the outer connection delivered to the inner one is processed now, not
    // one event-loop iteration later (QuicEndpoint.flushNow).
    for (let i = 0; i + 1 < parts.length; i++) {
      const inner = parts[i + 1]!.endpoint;
      parts[i]!.h3.afterReads = () => inner.flushNow();
    }
    // RFC 9484 §4.7.1: each ADDRESS_ASSIGN is the full current list, and may come at any time.
    ip.onUpdate = () => {
      this.addressSync = this.addressSync.then(() => this.syncAddresses());
    };
    ip.onUpdate(); // one that came while the interface was being configured
    // mtuProbe: the RFC 9484 §7.2 check of 1280-byte packets ('unanswered': the relay has no echo responder).
    this.log.info({ addresses: this.addresses, mtu, mtuProbe: this.chain.ip.mtuProbe }, 'tunnel up');
  }

  /**
   * The proxy's addresses as the TUN takes them: at most MAX_TUN_ADDRESSES, so that a proxy
   * listing thousands (a 64 KiB capsule holds ~6 000) cannot bury the host in addresses.
   */
  private assigned(): string[] {
    const all = this.chain.ip.addresses;
    if (all.length > MAX_TUN_ADDRESSES) this.log.warn({ count: all.length, kept: MAX_TUN_ADDRESSES }, 'the relay assigned more addresses than the TUN takes');
    return all.slice(0, MAX_TUN_ADDRESSES).map((a) => formatIpPrefix(a));
  }

  private async syncAddresses(): Promise<void> {
    const next = this.assigned();
    if (!this.applied || next.join() === this.addresses.join()) return;
    try {
      await this.applied.setAddresses(next);
      this.log.info({ addresses: next, before: this.addresses }, 'tunnel addresses changed');
      this.addresses = next;
      this.onAddressesChanged?.();
    } catch (err) {
      this.log.warn({ err, addresses: next }, 'cannot apply the relay\'s new addresses');
    }
  }

  async stop(): Promise<void> {
    this.chain.ip.onUpdate = undefined;
    for (const p of this.chain.parts) p.h3.afterReads = null;
    this.pump.flush();
    this.pump.stop();
    await this.dns?.restore().catch(() => undefined);
    await this.addressSync;
    await this.applied?.restore().catch(() => undefined);
    await this.chain.close().catch(() => undefined);
  }
}
