/**
 * Sends MASQUE requests to a relay and prints what came back, one JSON line per request:
 *   node masque-request.js '<json spec>'
 * spec: { peer: {host, port}, relayPublicKey?, clientPrivateKey?, requests: [{ protocol, path,
 *   noise?: 'ok' | 'bad-cert' | 'replay-previous' | 'none', headers?: [[n,v]] }], sameConnection?: boolean }
 * Used by the netns relay tests to exercise refusals from a real client stack.
 */
import { randomBytes } from 'node:crypto';
import { UdpPath } from '../../src/quic/udp-path.js';
import { createQuicConfig } from '../../src/quic/config.js';
import type { FieldLine } from '../../src/h3/qpack/types.js';
import { openHop, type Hop } from '../../src/client/hop.js';
import { createClientHello } from '../../src/identity/noise-auth.js';
import { decodeKey, parsePrivateKey } from '../../src/identity/keys.js';

interface Req { protocol: 'connect-udp' | 'connect-ip'; path: string; noise?: 'ok' | 'bad-cert' | 'replay-previous' | 'none'; headers?: FieldLine[] }
interface Spec { peer: { host: string; port: number }; relayPublicKey?: string; clientPrivateKey?: string; requests: Req[]; sameConnection?: boolean }

const spec = JSON.parse(process.argv[2]) as Spec;
let previousHello: string | undefined;

async function hop(): Promise<Hop> {
  return openHop({
    path: await UdpPath.bind({ host: '0.0.0.0', port: 0 }),
    peer: spec.peer,
    serverName: 'masque-relay',
    config: createQuicConfig({ isServer: false, alpn: ['h3'] }),
    timeoutMs: 5000,
  });
}

function send(h: Hop, r: Req): Promise<Record<string, unknown>> {
  const fields: FieldLine[] = [
    [':method', 'CONNECT'], [':protocol', r.protocol], [':scheme', 'https'], [':authority', `${spec.peer.host}:${spec.peer.port}`],
    [':path', r.path], ['capsule-protocol', '?1'], ...(r.headers ?? []),
  ];
  if (r.noise && r.noise !== 'none') {
    let value: string;
    if (r.noise === 'replay-previous' && previousHello) value = previousHello;
    else {
      const hash = r.noise === 'bad-cert' ? randomBytes(32) : h.certSha256;
      value = createClientHello({ clientStatic: parsePrivateKey(spec.clientPrivateKey!), relayPublicKey: decodeKey(spec.relayPublicKey!), tlsCertSha256: hash, nowMs: Date.now() }).headerValue;
    }
    previousHello = value;
    fields.push(['masque-noise', value]);
  }
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve({ status: 0, error: 'timeout' }), 5000);
    h.h3.request(fields, {
      handler: {
        onResponse: (_s, head) => {
          clearTimeout(t);
          const get = (n: string) => head.fields.find(([k]) => k === n)?.[1];
          resolve({ status: head.status, proxyStatus: get('proxy-status'), hasNoiseResponse: get('masque-noise') !== undefined });
        },
        onReset: (_s, code) => {
          clearTimeout(t);
          resolve({ status: 0, resetCode: code });
        },
      },
    });
  });
}

let shared: Hop | undefined;
for (const r of spec.requests) {
  const h = spec.sameConnection ? (shared ??= await hop()) : await hop();
  process.stdout.write(JSON.stringify(await send(h, r)) + '\n');
  if (!spec.sameConnection) await h.endpoint.close({ graceMs: 50 });
}
await shared?.endpoint.close({ graceMs: 50 });
process.exit(0);
