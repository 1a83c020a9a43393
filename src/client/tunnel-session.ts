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

export class TunnelSession {
  readonly pump: Pump;
  addresses: string[] = [];
  routes: string[] = [];
  /** The TUN's MTU, set by start(). */
  mtu = 0;
  private applied?: AppliedConfig;
  private dns?: AppliedDns;

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
    this.addresses = ip.addresses.map((a) => formatIpPrefix(a));
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
    // mtuProbe: the RFC 9484 §7.2 check of 1280-byte packets ('unanswered': the relay has no echo responder).
    this.log.info({ addresses: this.addresses, mtu, mtuProbe: this.chain.ip.mtuProbe }, 'tunnel up');
  }

  async stop(): Promise<void> {
    for (const p of this.chain.parts) p.h3.afterReads = null;
    this.pump.flush();
    this.pump.stop();
    await this.dns?.restore().catch(() => undefined);
    await this.applied?.restore().catch(() => undefined);
    await this.chain.close().catch(() => undefined);
  }
}
