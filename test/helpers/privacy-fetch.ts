/**
 * Fetches Privacy Pass tokens from an issuer relay and prints them, one base64url token a
 * line (run in the client namespace by test/netns/privacy.test.ts):
 *   node privacy-fetch.js '{"peer":{host,port},"relayPublicKey","clientPrivateKey","egressPublicKey","count"}'
 * The first token request of the connection carries the Noise hello (issuer-route.ts).
 */
import { UdpPath } from '../../src/quic/udp-path.js';
import { createQuicConfig } from '../../src/quic/config.js';
import { openHop, noiseHello, checkNoiseResponse } from '../../src/client/hop.js';
import { decodeKey, parsePrivateKey } from '../../src/identity/keys.js';
import { H3IssuerTransport } from '../../src/privacy/h3-issuer-client.js';
import { TokenWallet } from '../../src/privacy/wallet.js';

interface Spec { peer: { host: string; port: number }; relayPublicKey: string; clientPrivateKey: string; egressPublicKey: string; count: number }
const spec = JSON.parse(process.argv[2]!) as Spec;
const hop = await openHop({
  path: await UdpPath.bind({ host: '0.0.0.0', port: 0 }),
  peer: spec.peer,
  serverName: 'masque-relay',
  config: createQuicConfig({ isServer: false, alpn: ['h3'] }),
  timeoutMs: 5000,
});
const hello = noiseHello(hop, parsePrivateKey(spec.clientPrivateKey), decodeKey(spec.relayPublicKey));
let isPinned = false;
const transport = new H3IssuerTransport(hop.h3, {
  authority: `${spec.peer.host}:${spec.peer.port}`,
  timeoutMs: 10_000,
  firstHeaders: hello.headers,
  onFirstResponse: (fields) => {
    checkNoiseResponse(hello.state, fields);
    isPinned = true;
  },
});
const egress = decodeKey(spec.egressPublicKey);
const opts = { issuerName: 'masque-relay-issuer', refillBelow: 0 };
// One request alone first (it authenticates the connection), then the rest in parallel.
const first = new TokenWallet({ ...opts, batchSize: 1 });
await first.refill(transport, egress);
const rest = new TokenWallet({ ...opts, batchSize: Math.max(1, spec.count - 1) });
if (spec.count > 1) await rest.refill(transport, egress);
if (!isPinned) throw new Error('the issuer did not answer the Noise hello');
for (const w of [first, rest]) for (let t = w.take(egress); t !== null; t = w.take(egress)) process.stdout.write(Buffer.from(t).toString('base64url') + '\n');
await hop.endpoint.close({ graceMs: 50 });
process.exit(0);
