// WireGuard baselines with Debian's wireguard-go (this kernel has no WireGuard module):
//
//   wg-1hop:  client ══ wg (10.98.1.0/24) ══════════════════ egress → server
//             UDP to 10.99.2.2:51820, forwarded by ingress as ordinary traffic.
//   wg-2hop:  client ══ outer wg (10.98.2.0/24) ══ ingress
//             client ══ inner wg (10.98.3.0/24), carried inside the outer one ══ egress → server
//             The inner tunnel's endpoint (egress, 10.99.2.2) is routed into the outer tunnel,
//             so ingress sees only outer-tunnel packets from the client and egress sees the
//             inner tunnel coming from the client's outer address (the MASQUE two-hop shape).
//
// The testbed stays in `tunnel` forwarding mode: plain client → server transit is dropped,
// so every measured packet went through the tunnels.
import { existsSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { ChildProcess } from 'node:child_process';
import { stopChild, type Host, type Testbed } from '../../../test/helpers/testbed.js';
import { drain, makeTempDir, sleep, type VpnPath, type VpnPathSpec } from '../path.js';

// wireguard-go's UAPI sockets live in this directory of the shared filesystem (not per
// namespace), named after the interface: interface names must be unique on the machine.
const SOCKET_DIR = '/var/run/wireguard';
const ifName = (tag: string): string => `wg${process.pid}${tag}`; // ≤ 15 chars (IFNAMSIZ)

/** One running wireguard-go interface. */
interface WgEnd {
  label: string;
  host: Host;
  ifname: string;
  child: ChildProcess;
  publicKey: string;
}

interface EndSpec {
  /** Label in the CPU report. */
  label: string;
  host: Host;
  tag: string;
  /** Tunnel address with prefix, e.g. 10.98.1.1/24. */
  cidr: string;
  mtu: number;
  listenPort?: number;
}

interface PeerSpec {
  publicKey: string;
  allowedIps: string[];
  endpoint?: string;
}

class WireGuardPath implements VpnPath {
  private tb: Testbed | null = null;
  private readonly ends: WgEnd[] = [];
  private readonly undo: (() => Promise<unknown>)[] = [];

  constructor(private readonly isNested: boolean) {}

  async setup(tb: Testbed): Promise<void> {
    this.tb = tb;
    const tmp = await makeTempDir('wg');
    this.undo.push(() => tmp.remove());
    await tb.setForwarding('tunnel');
    const egress = tb.addr.egress.v4;
    const serverNet = tb.links['egress-server'].net4;
    if (!this.isNested) {
      const c = await this.start(tmp.file, { label: 'wg-client', host: 'client', tag: '1c', cidr: '10.98.1.1/24', mtu: 1420 });
      const e = await this.start(tmp.file, { label: 'wg-egress', host: 'egress', tag: '1e', cidr: '10.98.1.2/24', mtu: 1420, listenPort: 51820 });
      await this.peer(e, { publicKey: c.publicKey, allowedIps: ['10.98.1.1/32'] });
      await this.peer(c, { publicKey: e.publicKey, allowedIps: ['10.98.1.2/32', serverNet], endpoint: `${egress}:51820` });
      await tb.exec('client', 'ip', ['route', 'add', serverNet, 'dev', c.ifname]);
      return;
    }
    // Outer tunnel client ⇄ ingress; it carries the egress link, where the inner endpoint is.
    const egressNet = tb.links['ingress-egress'].net4;
    const oc = await this.start(tmp.file, { label: 'wg-client-outer', host: 'client', tag: 'oc', cidr: '10.98.2.1/24', mtu: 1420 });
    const oi = await this.start(tmp.file, { label: 'wg-ingress', host: 'ingress', tag: 'oi', cidr: '10.98.2.2/24', mtu: 1420, listenPort: 51821 });
    await this.peer(oi, { publicKey: oc.publicKey, allowedIps: ['10.98.2.1/32'] });
    await this.peer(oc, { publicKey: oi.publicKey, allowedIps: ['10.98.2.2/32', egressNet], endpoint: `${tb.addr.ingress.v4}:51821` });
    await tb.exec('client', 'ip', ['route', 'add', egressNet, 'dev', oc.ifname]);
    // egress answers the inner tunnel's source (the client's outer address) through ingress.
    await tb.exec('egress', 'ip', ['route', 'add', '10.98.2.0/24', 'via', tb.links['ingress-egress'].leftAddr.v4]);
    this.undo.push(() => tb.exec('egress', 'ip', ['route', 'del', '10.98.2.0/24'], { allowFail: true }));
    // Inner tunnel client ⇄ egress: 80 bytes of outer WireGuard overhead below it.
    const ic = await this.start(tmp.file, { label: 'wg-client-inner', host: 'client', tag: 'ic', cidr: '10.98.3.1/24', mtu: 1340 });
    const ie = await this.start(tmp.file, { label: 'wg-egress', host: 'egress', tag: 'ie', cidr: '10.98.3.2/24', mtu: 1340, listenPort: 51822 });
    await this.peer(ie, { publicKey: ic.publicKey, allowedIps: ['10.98.3.1/32'] });
    await this.peer(ic, { publicKey: ie.publicKey, allowedIps: ['10.98.3.2/32', serverNet], endpoint: `${egress}:51822` });
    await tb.exec('client', 'ip', ['route', 'add', serverNet, 'dev', ic.ifname]);
  }

  /** Starts wireguard-go in `s.host`, gives it a fresh key, its address and MTU. */
  private async start(file: (n: string) => string, s: EndSpec): Promise<WgEnd> {
    const tb = this.tb!;
    const ifname = ifName(s.tag);
    const privateKey = (await tb.exec(s.host, 'wg', ['genkey'])).stdout.trim();
    const publicKey = (await tb.exec(s.host, 'wg', ['pubkey'], { input: privateKey + '\n' })).stdout.trim();
    const keyFile = file(`${s.tag}.key`);
    await writeFile(keyFile, privateKey + '\n', { mode: 0o600 });
    const child = tb.spawn(s.host, 'wireguard-go', ['-f', ifname], {
      // wireguard-go refuses to run on Linux without this (it would prefer the kernel module).
      env: { ...process.env, WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1', LOG_LEVEL: 'error' },
    });
    drain(child);
    const end: WgEnd = { label: s.label, host: s.host, ifname, child, publicKey };
    this.ends.push(end);
    await waitForSocket(ifname, child, 5000);
    const set = ['set', ifname, 'private-key', keyFile];
    if (s.listenPort) set.push('listen-port', String(s.listenPort));
    await tb.exec(s.host, 'wg', set);
    await tb.exec(s.host, 'ip', ['addr', 'add', s.cidr, 'dev', ifname]);
    await tb.exec(s.host, 'ip', ['link', 'set', ifname, 'mtu', String(s.mtu), 'up']);
    return end;
  }

  private async peer(end: WgEnd, p: PeerSpec): Promise<void> {
    const args = ['set', end.ifname, 'peer', p.publicKey, 'allowed-ips', p.allowedIps.join(',')];
    if (p.endpoint) args.push('endpoint', p.endpoint);
    await this.tb!.exec(end.host, 'wg', args);
  }

  pids(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const e of this.ends) if (e.child.pid) out[e.label] = e.child.pid;
    return out;
  }

  async teardown(): Promise<void> {
    // Reverse order: inner tunnels before the outer one they ride on.
    for (const e of this.ends.reverse()) {
      await stopChild(e.child, 2000);
      // A killed (not terminated) wireguard-go leaves its socket behind; remove only ours.
      rmSync(`${SOCKET_DIR}/${e.ifname}.sock`, { force: true });
    }
    this.ends.length = 0;
    for (const u of this.undo.reverse()) await u();
    this.undo.length = 0;
    await this.tb?.setForwarding('none');
  }
}

/** Polls for wireguard-go's UAPI socket: `wg set` works only once it exists. */
async function waitForSocket(ifname: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  for (const end = Date.now() + timeoutMs; Date.now() < end; await sleep(20)) {
    if (existsSync(`${SOCKET_DIR}/${ifname}.sock`)) return;
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`wireguard-go ${ifname} exited (${child.exitCode ?? child.signalCode})`);
  }
  throw new Error(`wireguard-go ${ifname}: no UAPI socket after ${timeoutMs} ms`);
}

/** wireguard-go, one tunnel client ⇄ egress. */
export const wireguardOneHop: VpnPathSpec = {
  name: 'wg-1hop',
  description: 'wireguard-go, one tunnel client → egress',
  create: () => new WireGuardPath(false),
};

/** wireguard-go, a tunnel to egress nested inside a tunnel to ingress. */
export const wireguardTwoHop: VpnPathSpec = {
  name: 'wg-2hop',
  description: 'wireguard-go nested: client → egress inside client → ingress',
  create: () => new WireGuardPath(true),
};
