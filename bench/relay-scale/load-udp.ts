/**
 * Holds idle CONNECT-UDP sessions open through an ingress relay, as two-hop clients do:
 * `node load-udp.js INGRESS_HOST PORT INGRESS_PUBLIC_KEY EGRESS_HOST EGRESS_PORT COUNT KEYS_OUT`.
 * Each session is its own client: a key pair made here (the private halves never leave this
 * process), a QUIC connection + HTTP/3 on one shared UDP socket, and a Noise-authenticated
 * CONNECT-UDP request for the egress. The public keys are written to KEYS_OUT in
 * authorized_keys form; the line "go" on stdin starts the connects once the relay has them.
 * Prints {"opened":N} every 250 sessions and {"opened","failed","done":true} at the end; stays
 * until SIGTERM, then closes them.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { QuicEndpoint } from '../../src/quic/endpoint.js';
import { UdpPath } from '../../src/quic/udp-path.js';
import { createQuicConfig } from '../../src/quic/config.js';
import { ClientH3Driver } from '../../src/h3/client.js';
import { openConnectUdp } from '../../src/masque/connect-udp-client.js';
import { defaultUdpTemplate } from '../../src/masque/template.js';
import { encodeKey, generateKeyPair, parsePublicKey } from '../../src/identity/keys.js';
import { checkNoiseResponse, noiseHello } from '../../src/client/hop.js';
import { MonotonicTimestamper } from '../../src/identity/noise-payload.js';

const [host, portArg, relayKeyArg, egressHost, egressPortArg, countArg, keysOut] = process.argv.slice(2);
const port = Number(portArg);
const total = Number(countArg);
const relayKey = parsePublicKey(relayKeyArg!);
const keys = Array.from({ length: total }, generateKeyPair);
writeFileSync(keysOut!, keys.map((k, i) => `${encodeKey(k.publicKey)} load-${i}\n`).join(''), { mode: 0o600 });
process.stdout.write(JSON.stringify({ keys: total }) + '\n');
await new Promise<void>((resolve) => createInterface({ input: process.stdin }).on('line', (l) => l === 'go' && resolve()));

const ep = new QuicEndpoint({ path: await UdpPath.bind({ host: '0.0.0.0', port: 0 }) });
const config = createQuicConfig({ isServer: false, alpn: ['h3'], keepAliveMs: 15_000, idleTimeoutMs: 60_000 });
const timestamper = new MonotonicTimestamper();
let opened = 0;
let failed = 0;

async function one(i: number): Promise<void> {
  const h3 = new ClientH3Driver({ settings: { h3Datagram: true } });
  ep.connect({ peer: { host: host!, port }, serverName: 'masque-relay', config, app: h3 });
  await h3.ready;
  const leaf = h3.quic!.peerCertChain()?.[0];
  if (!leaf) throw new Error('no certificate');
  const hop = { endpoint: ep, h3, quic: h3.quic!, certSha256: createHash('sha256').update(leaf).digest() };
  const hello = noiseHello(hop, keys[i]!, relayKey, timestamper);
  const udp = await openConnectUdp(h3, {
    template: defaultUdpTemplate(`${host}:${port}`), targetHost: egressHost!, targetPort: Number(egressPortArg), headers: hello.headers,
  });
  checkNoiseResponse(hello.state, udp.responseFields);
}

const inFlight = 32;
let next = 0;
await Promise.all(Array.from({ length: inFlight }, async () => {
  while (next < total) {
    const i = next++;
    try {
      await one(i);
      opened++;
      if (opened % 250 === 0) process.stdout.write(JSON.stringify({ opened }) + '\n');
    } catch (e) {
      if (failed++ === 0) process.stderr.write(`load-udp: first failure: ${(e as Error).message}\n`);
    }
  }
}));
process.stdout.write(JSON.stringify({ opened, failed, done: true }) + '\n');
// SIGTERM: close every connection (CONNECTION_CLOSE), so the relay frees the sessions now
// instead of at its idle timeout and the next round starts from an empty relay.
process.once('SIGTERM', () => void ep.close({ graceMs: 500 }).finally(() => process.exit(0)));
setInterval(() => undefined, 1 << 30);
