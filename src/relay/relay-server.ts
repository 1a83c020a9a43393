/**
 * RelayServer: one UDP socket, one QUIC endpoint, one HTTP/3 server driver per connection,
 * and the MASQUE proxies of the relay's role behind a RequestRouter.
 */
import type { Logger } from 'pino';
import { POOL_OFF, type RelayConfig } from '../config/relay.js';
import type { Authorizer } from '../identity/authorizer.js';
import { QuicEndpoint } from '../quic/endpoint.js';
import { UdpPath } from '../quic/udp-path.js';
import { createQuicConfig } from '../quic/config.js';
import type { HostPort } from '../quic/path.js';
import { ServerH3Driver } from '../h3/server.js';
import { AddressPool } from '../masque/address-pool.js';
import { ipPrefix, formatIpAddress } from '../masque/ip-prefix.js';
import { parseUriTemplate, defaultIpTemplate, defaultUdpTemplate } from '../masque/template.js';
import { ConnectUdpProxy } from '../masque/connect-udp-proxy.js';
import { ConnectIpProxy } from '../masque/connect-ip-proxy.js';
import { EgressNetwork, type EgressPool } from './egress-network.js';
import { RelayMetrics, type RelaySample } from './metrics.js';
import { RequestRouter, isAggregatePrincipal, principalKey, type ConnState } from './request-router.js';
import { RateLimiterTable } from '../masque/rate-limit.js';
import type { Principal } from '../identity/authorizer.js';
import { parseHostPortList, ReloadablePolicy, buildPolicy } from './policy-setup.js';

/** Largest IP packet the egress TUN carries (RFC 9484 §10: tunnels carry ≥ 1280). */
const EGRESS_MTU = 1400;
/** The parser does not check :authority (a relay behind NAT or DNS does not know its name). */
const ANY_AUTHORITY = 'relay.invalid';

export interface RelayServerOptions {
  cfg: RelayConfig;
  cert: { certPem: string; keyPem: string; sha256: string };
  authorizer: Authorizer;
  log: Logger;
  /** Secret for stateless reset tokens (stable across restarts). */
  resetSecret?: Uint8Array;
}

/** The first host address of a pool: the relay's own address on its TUN. */
/**
 * A client pool from `egress.ipv4_pool`/`ipv6_pool` (null when `off`): its first address is
 * the TUN's gateway, reserved so no client gets it.
 */
function clientPool(text: string): { pool: AddressPool; egress: EgressPool } | null {
  if (text === POOL_OFF) return null;
  const p = ipPrefix(text);
  const b = Uint8Array.from(p.bytes);
  b[b.length - 1] |= 1;
  const gw = formatIpAddress(p.version, b);
  const pool = new AddressPool({ prefix: p });
  pool.reserve(ipPrefix(`${gw}/${b.length * 8}`));
  return { pool, egress: { version: p.version, prefix: text, gateway: `${gw}/${p.prefixLen}` } };
}

export class RelayServer {
  readonly listen: HostPort;
  metricsAddress?: HostPort;
  private authorizer: Authorizer;
  limiters?: RateLimiterTable;
  evictTimer?: NodeJS.Timeout;

  private constructor(
    private readonly opts: RelayServerOptions,
    private readonly endpoint: QuicEndpoint,
    private readonly policy: ReloadablePolicy,
    private readonly udpProxy: ConnectUdpProxy,
    private readonly ipProxy: ConnectIpProxy | null,
    private readonly network: EgressNetwork | null,
    private readonly metrics: RelayMetrics,
    private allowEgress: Set<string>,
    private readonly drivers: Set<ServerH3Driver>,
  ) {
    this.listen = endpoint.local;
    this.authorizer = opts.authorizer;
  }

  static async start(o: RelayServerOptions): Promise<RelayServer> {
    const { cfg, log } = o;
    const policy = new ReloadablePolicy(buildPolicy(cfg));
    // Per-client bandwidth and packet-rate limits, shared by all of a client's sessions.
    const limiters = new RateLimiterTable({ bytesPerSec: cfg.limits.bandwidthBytesPerSec, packetsPerSec: cfg.limits.packetsPerSec });
    const limiterFor = (p: unknown) => (p && !isAggregatePrincipal(p as Principal) ? limiters.get(principalKey(p as Principal)) : null);
    const allowEgress = new Set(parseHostPortList(cfg.ingress.allowEgress));
    const isIngress = cfg.role === 'ingress';
    let network: EgressNetwork | null = null;
    let ipProxy: ConnectIpProxy | null = null;
    if (!isIngress) {
      const v4 = clientPool(cfg.egress.ipv4Pool);
      const v6 = clientPool(cfg.egress.ipv6Pool);
      const pools = [v4, v6].filter((p) => p !== null).map((p) => p.egress);
      try {
        network = await EgressNetwork.open({ pools, mtu: EGRESS_MTU, log });
        ipProxy = new ConnectIpProxy({ pool4: v4?.pool ?? null, pool6: v6?.pool ?? null, policy, network, mtu: network.mtu, limiterFor });
        const proxy = ipProxy;
        network.attach((pkt) => proxy.deliver(pkt));
      } catch (err) {
        log.warn({ err }, 'CONNECT-IP disabled: cannot set up the egress network (needs CAP_NET_ADMIN, nft)');
      }
    }
    const self: { server?: RelayServer } = {};
    const udpProxy = new ConnectUdpProxy({
      policy,
      limiterFor,
      proxyName: 'masque-relay',
      // The ingress forwards only to configured egress relays (docs/self-hosting.md).
      isTargetAllowed: isIngress ? (host, port) => (self.server?.allowEgress ?? allowEgress).has(`${host}:${port}`) : undefined,
      quicForwarding: cfg.ingress.quicForwarding,
    });
    const sample = (): RelaySample => self.server!.sample();
    const metrics = new RelayMetrics(cfg.role, sample);
    const router = new RequestRouter({
      role: cfg.role,
      authorizer: () => self.server!.authorizer,
      tlsCertSha256: Buffer.from(o.cert.sha256, 'hex'),
      parseOptions: {
        udpTemplate: parseUriTemplate(defaultUdpTemplate(ANY_AUTHORITY), 'udp'),
        ipTemplate: ipProxy ? parseUriTemplate(defaultIpTemplate(ANY_AUTHORITY), 'ip') : undefined,
        isAuthorityChecked: false,
      },
      udpProxy,
      ipProxy,
      metrics,
      limits: cfg.limits,
      log,
    });
    // A failed start must undo what it set up: the egress network is a TUN, an nft table and
    // forwarding sysctls that outlive the process if nobody closes them.
    let path: UdpPath;
    try {
      path = await UdpPath.bind(cfg.listen);
    } catch (e) {
      await network?.close();
      throw e;
    }
    const quicConfig = createQuicConfig({ isServer: true, alpn: ['h3'], certPem: o.cert.certPem, keyPem: o.cert.keyPem, idleTimeoutMs: 60_000, resetSecret: o.resetSecret });
    const drivers = new Set<ServerH3Driver>();
    const endpoint = new QuicEndpoint({
      path,
      server: {
        config: quicConfig,
        maxHalfOpen: 2048,
        onConnection: (qc) => {
          const st: ConnState = { principal: null, authHeaders: [] };
          const h3 = new ServerH3Driver({
            settings: { enableConnectProtocol: true, h3Datagram: true },
            onRequest: (stream, fields) => router.onRequest(qc, st, stream, fields),
          });
          // What a read pass queued toward targets leaves in one write per TUN / socket.
          h3.afterReads = network ? () => {
            network.flush();
            udpProxy.flush();
          } : () => udpProxy.flush();
          metrics.connectionOpened();
          drivers.add(h3);
          void h3.closed.then(() => {
            drivers.delete(h3);
            metrics.connectionClosed();
          });
          return h3;
        },
      },
    });
    const server = new RelayServer(o, endpoint, policy, udpProxy, ipProxy, network, metrics, allowEgress, drivers);
    server.limiters = limiters;
    server.evictTimer = setInterval(() => limiters.evict(), 30_000).unref();
    self.server = server;
    if (cfg.metrics) {
      try {
        server.metricsAddress = await metrics.listen(cfg.metrics);
      } catch (e) {
        await server.close(0);
        throw e;
      }
    }
    return server;
  }

  /** Proxy counters for the metrics scrape. */
  sample(): RelaySample {
    const u = this.udpProxy.counters;
    const ip = this.ipProxy?.counters;
    const drops: Record<string, number> = {};
    for (const [k, v] of Object.entries(u)) if (k.startsWith('drop')) drops[`udp_${k}`] = v as number;
    drops.udp_forwarded = u.fwdDrops;
    if (ip) for (const [k, v] of Object.entries(ip)) if (k.startsWith('drop')) drops[`ip_${k}`] = v as number;
    const offload = this.network?.tsoStats();
    if (this.network) drops.egress_tun = this.network.dropped;
    if (offload) drops.egress_tun_offload = offload.dropped;
    return {
      sessions: { 'connect-udp': this.udpProxy.activeSessions, 'connect-ip': this.ipProxy?.activeSessions ?? 0 },
      bytes: {
        'connect-udp': { up: u.txBytes ?? 0, down: u.rxBytes ?? 0 },
        'connect-ip': { up: ip?.fromClientBytes ?? 0, down: ip?.toClientBytes ?? 0 },
      },
      packets: {
        'connect-udp': { up: u.txPackets ?? 0, down: u.rxPackets ?? 0 },
        'connect-ip': { up: ip?.fromClientPackets ?? 0, down: ip?.toClientPackets ?? 0 },
      },
      drops,
      forwarded: { up: u.fwdUp, down: u.fwdDown },
      tunOffload: offload && { superSegments: offload.superSegments, segments: offload.segments },
    };
  }

  reload(cfg: RelayConfig, authorizer: Authorizer): void {
    this.authorizer = authorizer;
    this.policy.replace(buildPolicy(cfg));
    this.allowEgress = new Set(parseHostPortList(cfg.ingress.allowEgress));
    this.limiters?.setLimits({ bytesPerSec: cfg.limits.bandwidthBytesPerSec, packetsPerSec: cfg.limits.packetsPerSec });
  }

  /** GOAWAY to everyone (RFC 9114 §5.2), a short drain, then everything down. */
  async close(drainMs = 1000): Promise<void> {
    clearInterval(this.evictTimer);
    for (const d of this.drivers) d.shutdown();
    const until = Date.now() + drainMs;
    while (this.endpoint.connectionCount > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
    this.udpProxy.closeAll();
    this.ipProxy?.closeAll();
    await this.endpoint.close({ graceMs: 200 });
    await this.network?.close();
    await this.metrics.close();
  }
}
