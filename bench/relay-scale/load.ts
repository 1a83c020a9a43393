/**
 * Holds idle CONNECT-IP tunnels open to a relay: `node load.js HOST PORT COUNT`. One UDP
 * socket, one QUIC connection + HTTP/3 + CONNECT-IP session per tunnel (each gets an address
 * assigned). Prints {"opened":N} every 250 tunnels and at the end; stays until SIGTERM, then closes them.
 */
import { QuicEndpoint } from '../../src/quic/endpoint.js';
import { UdpPath } from '../../src/quic/udp-path.js';
import { createQuicConfig } from '../../src/quic/config.js';
import { ClientH3Driver } from '../../src/h3/client.js';
import { openConnectIp } from '../../src/masque/connect-ip-client.js';
import { defaultIpTemplate } from '../../src/masque/template.js';

const [host, portArg, countArg] = process.argv.slice(2);
const port = Number(portArg);
const ep = new QuicEndpoint({ path: await UdpPath.bind({ host: '0.0.0.0', port: 0 }) });
const config = createQuicConfig({ isServer: false, alpn: ['h3'], keepAliveMs: 15_000, idleTimeoutMs: 60_000 });
let opened = 0;
let failed = 0;

async function one(): Promise<void> {
  const h3 = new ClientH3Driver({ settings: { h3Datagram: true } });
  ep.connect({ peer: { host, port }, serverName: 'masque-relay', config, app: h3 });
  await h3.ready;
  await openConnectIp(h3, { template: defaultIpTemplate(`${host}:${port}`), requestAddresses: ['v4'] });
}

const total = Number(countArg);
const inFlight = 32;
let next = 0;
await Promise.all(Array.from({ length: inFlight }, async () => {
  while (next < total) {
    next++;
    try {
      await one();
      opened++;
      if (opened % 250 === 0) process.stdout.write(JSON.stringify({ opened }) + '\n');
    } catch {
      failed++;
    }
  }
}));
process.stdout.write(JSON.stringify({ opened, failed, done: true }) + '\n');
// SIGTERM: close every connection (CONNECTION_CLOSE), so the relay frees the sessions now
// instead of at its idle timeout and the next round starts from an empty relay.
process.once('SIGTERM', () => void ep.close({ graceMs: 500 }).finally(() => process.exit(0)));
setInterval(() => undefined, 1 << 30);
