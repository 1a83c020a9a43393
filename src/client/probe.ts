/**
 * `relays`: one QUIC + HTTP/3 handshake per configured relay, in parallel, bounded by a
 * timeout; the latency is the time to the server's SETTINGS (handshake + one round trip).
 */
import type { RelayEntry } from '../config/client.js';
import type { RelayInfo } from '../control/schema.js';
import { createQuicConfig } from '../quic/config.js';
import { UdpPath } from '../quic/udp-path.js';
import { isMasqueError } from '../core/errors.js';
import { openHop } from './hop.js';
import { splitHostPort } from './plan.js';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

async function probeOne(r: RelayEntry, timeoutMs: number): Promise<RelayInfo> {
  const info: RelayInfo = { name: r.name, address: r.address, role: r.role, publicKey: r.publicKey, latencyMs: null };
  try {
    const { host, port } = splitHostPort(r.address);
    const ip = isIP(host) ? host : (await lookup(host)).address;
    const t0 = performance.now();
    const hop = await openHop({
      path: await UdpPath.bind({ host: ip.includes(':') ? '::' : '0.0.0.0', port: 0 }),
      peer: { host: ip, port },
      serverName: r.serverName ?? 'masque-relay',
      config: createQuicConfig({ isServer: false, alpn: ['h3'], idleTimeoutMs: timeoutMs }),
      timeoutMs,
    });
    info.latencyMs = Math.round((performance.now() - t0) * 100) / 100;
    await hop.endpoint.close({ graceMs: 50 });
  } catch (e) {
    info.errorCode = isMasqueError(e) ? e.code : 'ERR_PROBE_FAILED';
  }
  return info;
}

export function probeRelays(relays: readonly RelayEntry[], timeoutMs: number): Promise<RelayInfo[]> {
  return Promise.all(relays.map((r) => probeOne(r, timeoutMs)));
}
