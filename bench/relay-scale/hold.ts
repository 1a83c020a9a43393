/**
 * What the load scripts (load.ts, load-udp.ts) share: one client QUIC endpoint on one UDP
 * socket, `total` tunnels opened 32 at a time, progress on stdout as JSON lines
 * ({"opened":N} every 250, then {"opened","failed","done":true}), and then the tunnels held
 * until SIGTERM, which closes every connection (CONNECTION_CLOSE) so the relay frees the
 * sessions at once instead of at its idle timeout and the next round starts from an empty relay.
 */
import { QuicEndpoint } from '../../src/quic/endpoint.js';
import { UdpPath } from '../../src/quic/udp-path.js';
import { createQuicConfig, type QuicConfig } from '../../src/quic/config.js';

/** Opens tunnel i on ep; rejects when it fails (counted, the first failure printed). */
export type OpenTunnel = (ep: QuicEndpoint, config: QuicConfig, i: number) => Promise<void>;

export async function holdTunnels(name: string, total: number, open: OpenTunnel): Promise<void> {
  const ep = new QuicEndpoint({ path: await UdpPath.bind({ host: '0.0.0.0', port: 0 }) });
  const config = createQuicConfig({ isServer: false, alpn: ['h3'], keepAliveMs: 15_000, idleTimeoutMs: 60_000 });
  let opened = 0;
  let failed = 0;
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < total) {
      const i = next++;
      try {
        await open(ep, config, i);
        opened++;
        if (opened % 250 === 0) process.stdout.write(JSON.stringify({ opened }) + '\n');
      } catch (e) {
        if (failed++ === 0) process.stderr.write(`${name}: first failure: ${(e as Error).message}\n`);
      }
    }
  }));
  process.stdout.write(JSON.stringify({ opened, failed, done: true }) + '\n');
  process.once('SIGTERM', () => void ep.close({ graceMs: 500 }).finally(() => process.exit(0)));
  setInterval(() => undefined, 1 << 30);
}
