// OpenVPN 2.6 baseline: one UDP tunnel client → egress, AES-256-GCM data channel, userspace
// (--disable-dco: no ovpn-dco module here, and a userspace data path is what we compare with).
//
// No CA: each side gets a fresh self-signed P-256 certificate (openssl, offline) and pins
// the other's SHA-256 fingerprint with --peer-fingerprint. Static-key mode (--secret) is not
// an option: OpenVPN allows AEAD ciphers only with TLS. Point-to-point mode (--ifconfig,
// no `server` directive) keeps the config minimal: tunnel 10.98.4.1 ⇄ 10.98.4.2.
import type { ChildProcess } from 'node:child_process';
import { stopChild, type Host, type Testbed } from '../../../test/helpers/testbed.js';
import { drain, makeTempDir, waitForOutput, type VpnPath, type VpnPathSpec } from '../path.js';

const PORT = '1194';
const ifName = (tag: string): string => `ovpn${process.pid}${tag}`; // unique per machine, ≤ 15 chars

class OpenVpnPath implements VpnPath {
  private tb: Testbed | null = null;
  private readonly procs = new Map<string, ChildProcess>();
  private removeTmp: (() => Promise<void>) | null = null;

  async setup(tb: Testbed): Promise<void> {
    this.tb = tb;
    const tmp = await makeTempDir('ovpn');
    this.removeTmp = tmp.remove;
    await tb.setForwarding('tunnel');
    const fp: Record<string, string> = {};
    for (const side of ['client', 'egress'] as const) fp[side] = await selfSigned(tb, side, tmp.file(side));

    const common = (side: Host, tag: string, peer: string): string[] => [
      '--dev-type', 'tun', '--dev', ifName(tag), '--proto', 'udp4', '--disable-dco',
      '--cert', tmp.file(`${side}.crt`), '--key', tmp.file(`${side}.key`), '--peer-fingerprint', fp[peer]!,
      '--data-ciphers', 'AES-256-GCM',
      '--fast-io', '--verb', '3', '--script-security', '1',
    ];
    const server = tb.spawn('egress', 'openvpn', [
      ...common('egress', 'e', 'client'), '--tls-server', '--dh', 'none', '--local', tb.addr.egress.v4, '--lport', PORT,
      '--ifconfig', '10.98.4.2', '10.98.4.1',
    ]);
    this.procs.set('openvpn-egress', server);
    const client = tb.spawn('client', 'openvpn', [
      ...common('client', 'c', 'egress'), '--tls-client', '--nobind', '--remote', tb.addr.egress.v4, PORT,
      '--ifconfig', '10.98.4.1', '10.98.4.2',
      // Only the server link goes into the tunnel; the remote itself stays on the veth.
      '--route', tb.links['egress-server'].net4.replace('/24', ''), '255.255.255.0', '10.98.4.2',
    ]);
    this.procs.set('openvpn-client', client);
    const ready = /Initialization Sequence Completed/;
    const logs = await Promise.all([waitForOutput(server, ready, 20_000, 'openvpn egress'), waitForOutput(client, ready, 20_000, 'openvpn client')]);
    // Refuse to report numbers for a different data channel than the one we claim to measure.
    for (const log of logs) {
      if (!/NCP negotiation result:.*cipher=AES-256-GCM/.test(log)) throw new Error(`openvpn: data channel is not AES-256-GCM:\n${log.slice(-1500)}`);
    }
    drain(server);
    drain(client);
  }

  pids(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [label, c] of this.procs) if (c.pid) out[label] = c.pid;
    return out;
  }

  async teardown(): Promise<void> {
    // SIGTERM: OpenVPN removes its tun device and route itself.
    await Promise.all([...this.procs.values()].map((c) => stopChild(c, 3000)));
    this.procs.clear();
    await this.removeTmp?.();
    this.removeTmp = null;
    await this.tb?.setForwarding('none');
  }
}

/**
 * Writes `<base>.key` / `<base>.crt` (self-signed P-256, 2 days) and returns the
 * certificate's SHA-256 fingerprint in OpenVPN's `AB:CD:…` form.
 */
async function selfSigned(tb: Testbed, side: Host, base: string): Promise<string> {
  await tb.exec(side, 'openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${base}.key`, '-out', `${base}.crt`, '-days', '2', '-subj', `/CN=mq-bench-${side}`,
  ]);
  const r = await tb.exec(side, 'openssl', ['x509', '-in', `${base}.crt`, '-noout', '-fingerprint', '-sha256']);
  const m = /=([0-9A-F:]+)/i.exec(r.stdout);
  if (!m) throw new Error(`openssl: no fingerprint in ${JSON.stringify(r.stdout)}`);
  return m[1]!.toUpperCase();
}

/** OpenVPN 2.6, UDP, AES-256-GCM, userspace data channel, client → egress. */
export const openVpnPath: VpnPathSpec = {
  name: 'openvpn',
  description: 'OpenVPN 2.6 UDP AES-256-GCM (--disable-dco), client → egress',
  create: () => new OpenVpnPath(),
};
