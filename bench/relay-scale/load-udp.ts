/**
 * Holds idle CONNECT-UDP sessions open through an ingress relay, as two-hop clients do:
 * `node load-udp.js INGRESS_HOST PORT INGRESS_PUBLIC_KEY EGRESS_HOST EGRESS_PORT COUNT KEYS_OUT`.
 * Each session is its own client: a key pair made here (the private halves never leave this
 * process), a QUIC connection + HTTP/3 on one shared UDP socket, and a Noise-authenticated
 * CONNECT-UDP request for the egress. The public keys are written to KEYS_OUT in
 * authorized_keys form; the line "go" on stdin starts the connects once the relay has them.
 * Progress lines and SIGTERM as in hold.ts.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { ClientH3Driver } from '../../src/h3/client.js';
import { openConnectUdp } from '../../src/masque/connect-udp-client.js';
import { defaultUdpTemplate } from '../../src/masque/template.js';
import { encodeKey, generateKeyPair, parsePublicKey } from '../../src/identity/keys.js';
import { checkNoiseResponse, noiseHello } from '../../src/client/hop.js';
import { MonotonicTimestamper } from '../../src/identity/noise-payload.js';
import { holdTunnels } from './hold.js';

const [host, portArg, relayKeyArg, egressHost, egressPortArg, countArg, keysOut] = process.argv.slice(2);
const port = Number(portArg);
const total = Number(countArg);
const relayKey = parsePublicKey(relayKeyArg!);
const keys = Array.from({ length: total }, generateKeyPair);
writeFileSync(keysOut!, keys.map((k, i) => `${encodeKey(k.publicKey)} load-${i}\n`).join(''), { mode: 0o600 });
process.stdout.write(JSON.stringify({ keys: total }) + '\n');
await new Promise<void>((resolve) => createInterface({ input: process.stdin }).on('line', (l) => l === 'go' && resolve()));

const timestamper = new MonotonicTimestamper();

await holdTunnels('load-udp', total, async (ep, config, i) => {
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
});
