/**
 * The egress relay's network side for CONNECT-IP: a TUN device in the relay's namespace,
 * kernel forwarding, and an nftables masquerade for the client pools, so client packets
 * leave with the relay's address and replies come back through conntrack to the TUN
 * (routed to the pool prefixes) and from there to the owning session (proxy.deliver).
 *
 * Everything set up here is removed by close(): the nft table, the forwarding sysctls
 * (restored to their previous values) and the TUN (which takes its addresses and routes).
 * Packets to the kernel are written in batches, once per event-loop turn.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { LinuxTun, type TsoStats } from '../tun/linux.js';
import { configureInterface, type AppliedConfig } from '../tun/config.js';
import type { PacketBatch } from '../tun/device.js';
import { TunWriter } from '../tun/writer.js';
import { MasqueError } from '../core/errors.js';

export interface EgressNetworkOptions {
  /** Interface name (default `mqegress0`). */
  name?: string;
  /** The client pools (one per IP version that is on): masqueraded, gateway on the TUN. */
  pools: readonly EgressPool[];
  mtu: number;
  log: Logger;
}

export interface EgressPool {
  version: 4 | 6;
  /** The pool prefix, e.g. 100.64.0.0/10. */
  prefix: string;
  /** The gateway address with the pool's length, e.g. 100.64.0.1/10. */
  gateway: string;
}

const FORWARDING = { 4: '/proc/sys/net/ipv4/ip_forward', 6: '/proc/sys/net/ipv6/conf/all/forwarding' } as const;
const NFT_FAMILY = { 4: 'ip', 6: 'ip6' } as const;

function run(cmd: string, args: string[], input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = execFile(cmd, args, (err, _o, stderr) =>
      err ? reject(new MasqueError('ERR_RELAY_NETWORK', `${cmd} ${args.join(' ')}: ${stderr || err.message}`.trim())) : resolve());
    if (input !== undefined) p.stdin?.end(input);
  });
}

export class EgressNetwork {
  private readonly out: TunWriter;
  private readonly table: string;
  /** Forwarding sysctls this instance set, with the values to put back. */
  private sysctlBefore: { path: string; value: string }[] = [];

  private constructor(
    private readonly tun: LinuxTun,
    private readonly applied: AppliedConfig,
    private readonly opts: EgressNetworkOptions,
  ) {
    this.table = `masque_relay_${process.pid}`;
    this.out = new TunWriter(tun);
  }

  /** Opens the TUN and sets up forwarding and NAT. Needs CAP_NET_ADMIN. Throws TunError/MasqueError. */
  static async open(o: EgressNetworkOptions): Promise<EgressNetwork> {
    // TSO: what the host's GRO merged on the way in (a NIC's downloads) reaches us in one read.
    const tun = LinuxTun.open({ name: o.name ?? 'mqegress0', batchSize: 64, vnetHdr: true, tso: true });
    let applied: AppliedConfig;
    try {
      applied = await configureInterface({ name: tun.name, addresses: o.pools.map((p) => p.gateway), mtu: o.mtu });
      tun.refreshMtu();
    } catch (e) {
      tun.close();
      throw e;
    }
    if (tun.tsoError) o.log.warn({ err: tun.tsoError }, 'TUN offloads (TSO) unavailable: one read per packet');
    const net = new EgressNetwork(tun, applied, o);
    try {
      await net.enableForwarding();
      await net.installNat();
    } catch (e) {
      await net.close();
      throw e;
    }
    // What an operator finds in `ip link` and `nft list tables`, and what close() removes.
    o.log.info({ tun: tun.name, table: net.table, pools: o.pools.map((p) => p.prefix) }, 'egress network up');
    return net;
  }

  get name(): string {
    return this.tun.name;
  }

  get mtu(): number {
    return this.tun.mtu;
  }

  /** Starts delivering packets from the kernel (replies for the pools) to `deliver`. */
  attach(deliver: (pkt: Uint8Array) => boolean): void {
    this.tun.onRead(
      (b: PacketBatch) => {
        for (let i = 0; i < b.count; i++) deliver(b.bufs[i].subarray(b.offset, b.offset + b.sizes[i]));
      },
      (err) => this.opts.log.error({ err }, 'egress TUN read failed'),
    );
  }

  /** IpNetwork.send: a client packet that passed the proxy's checks. Copied; written at flush(). */
  send(pkt: Uint8Array): void {
    this.out.push(pkt);
  }

  /** Writes what send() queued (each client connection's H3 driver calls this after its reads). */
  flush(): void {
    this.out.flush();
  }

  /** Packets the kernel would not take (queue full) or that were too big. */
  get dropped(): number {
    return this.out.dropped;
  }

  /** TSO/USO reads on the TUN so far (zeros when the kernel gave no offload). */
  tsoStats(): TsoStats {
    return this.tun.tsoStats();
  }

  private async enableForwarding(): Promise<void> {
    for (const { version } of this.opts.pools) {
      const path = FORWARDING[version];
      const value = (await readFile(path, 'utf8')).trim();
      this.sysctlBefore.push({ path, value });
      await writeFile(path, '1');
    }
  }

  private async installNat(): Promise<void> {
    const o = this.opts;
    // Masquerade only the client pools, and only when leaving through another interface:
    // client-to-gateway traffic stays untouched.
    const table = (family: 'ip' | 'ip6', pool: string) => [
      `table ${family} ${this.table} {`,
      '  chain post {',
      '    type nat hook postrouting priority srcnat; policy accept;',
      `    ${family} saddr ${pool} oifname != "${this.tun.name}" masquerade`,
      '  }',
      '}',
    ].join('\n');
    const rules = o.pools.map((p) => table(NFT_FAMILY[p.version], p.prefix)).join('\n');
    await run('nft', ['-f', '-'], rules + '\n');
  }

  /** Removes everything open() set up. Idempotent, best effort (each step is tried). */
  async close(): Promise<void> {
    this.tun.close();
    await this.applied.restore().catch(() => undefined);
    for (const p of this.opts.pools) await run('nft', ['delete', 'table', NFT_FAMILY[p.version], this.table]).catch(() => undefined);
    for (const { path, value } of this.sysctlBefore) await writeFile(path, value).catch(() => undefined);
    this.sysctlBefore = [];
  }
}
