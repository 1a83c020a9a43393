/**
 * h3:get — fetch a URL over HTTP/3 with our H3 layer (like quiche's apps).
 *
 *   npm run h3:get -- URL [--ca F | --insecure] [-n COUNT] [--protocol P] [--body]
 *
 * Sends COUNT GET requests (default 1) on one connection and prints the status and headers
 * of each response plus its body size (--body prints the first response's body instead).
 * `--protocol P` sends an extended CONNECT (RFC 9220) with `:protocol P` instead, which is
 * refused locally unless the server enabled it. Exit 0 when every response is 2xx.
 */
import { readFile } from 'node:fs/promises';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { UdpPath } from '../src/quic/udp-path.js';
import { QuicEndpoint } from '../src/quic/endpoint.js';
import { createQuicConfig } from '../src/quic/config.js';
import { ClientH3Driver } from '../src/h3/client.js';
import type { FieldLine } from '../src/h3/qpack/types.js';
import { isMasqueError } from '../src/core/errors.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

interface Result { status: number; fields: FieldLine[]; bytes: number; body: Uint8Array[] }

function fetchOne(cli: ClientH3Driver, fields: FieldLine[], isConnect: boolean): Promise<Result> {
  return new Promise((resolveP, reject) => {
    const r: Result = { status: 0, fields: [], bytes: 0, body: [] };
    cli.request(fields, {
      endStream: !isConnect,
      handler: {
        onResponse: (s, head) => { r.status = head.status; r.fields = head.fields; if (isConnect) { s.reset(0x100); resolveP(r); } },
        onData: (_s, b) => { r.bytes += b.length; r.body.push(b); },
        onEnd: () => resolveP(r),
        onReset: (_s, code) => (r.status ? resolveP(r) : reject(new Error(`stream reset with 0x${code.toString(16)}`))),
      },
    });
  });
}

async function main(): Promise<number> {
  const url = new URL(process.argv.slice(2).find((a) => /^https:\/\//.test(a)) ?? '');
  const count = Number(arg('-n') ?? '1');
  const caFile = arg('--ca');
  const isInsecure = process.argv.includes('--insecure');
  if (!caFile && !isInsecure) throw new Error('need --ca FILE or --insecure');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const ip = isIP(host) ? host : (await lookup(host)).address;
  const port = Number(url.port || 443);
  const config = createQuicConfig({
    isServer: false, alpn: ['h3'], caPem: caFile ? await readFile(caFile, 'utf8') : undefined,
    verifyPeer: !!caFile, keylogPath: process.env.SSLKEYLOGFILE,
  });
  const path = await UdpPath.bind({ host: isIP(ip) === 6 ? '::' : '0.0.0.0', port: 0 });
  const ep = new QuicEndpoint({ path });
  const cli = new ClientH3Driver();
  ep.connect({ peer: { host: ip, port }, serverName: host, config, app: cli });
  const timer = setTimeout(() => { console.error('h3:get: timeout'); process.exit(3); }, 15000);
  try {
    await cli.ready;
    const protocol = arg('--protocol');
    const fields: FieldLine[] = protocol
      ? [[':method', 'CONNECT'], [':protocol', protocol], [':scheme', 'https'], [':authority', url.host], [':path', url.pathname + url.search]]
      : [[':method', 'GET'], [':scheme', 'https'], [':authority', url.host], [':path', url.pathname + url.search], ['user-agent', 'masque-relay-h3-get']];
    const results = await Promise.all(Array.from({ length: count }, () => fetchOne(cli, fields, !!protocol)));
    let isAllOk = true;
    for (const r of results) {
      console.log(`status: ${r.status}`);
      for (const [n, v] of r.fields) console.log(`${n}: ${v}`);
      console.log(`body: ${r.bytes} bytes`);
      if (r.status < 200 || r.status > 299) isAllOk = false;
    }
    if (process.argv.includes('--body') && results[0]) for (const b of results[0].body) process.stdout.write(b);
    cli.close();
    return isAllOk ? 0 : 1;
  } catch (e) {
    console.error(`h3:get: ${isMasqueError(e) ? `${e.code}: ` : ''}${(e as Error).message}`);
    return 2;
  } finally {
    clearTimeout(timer);
    await ep.close({ graceMs: 50 }).catch(() => undefined);
  }
}

main().then((code) => process.exit(code), (e) => {
  console.error(`h3:get: ${(e as Error).message}`);
  process.exit(2);
});
