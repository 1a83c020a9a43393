/**
 * h3:serve — a small HTTP/3 file server on our H3 layer (like quiche's apps).
 *
 *   npm run h3:serve -- --listen HOST:PORT [--cert F --key F] [--dir DIR]
 *
 * GET/HEAD serve files under DIR (default: the current directory); anything else under DIR
 * that is not a regular file is 404. A request with a body (POST, or a GET with data as
 * `gtlsclient -d` sends) answers 200 with the number of body bytes received.
 * Without --cert/--key a self-signed certificate for localhost/127.0.0.1 is generated.
 * Prints one line per request and "listening on HOST:PORT" once ready.
 */
import { readFile, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { UdpPath } from '../src/quic/udp-path.js';
import { QuicEndpoint } from '../src/quic/endpoint.js';
import { createQuicConfig } from '../src/quic/config.js';
import { generateSelfSigned } from '../src/quic/certs.js';
import { ServerH3Driver } from '../src/h3/server.js';
import type { H3Stream } from '../src/h3/h3-stream.js';

const CHUNK = 64 * 1024;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function parseHostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  if (i < 0) throw new Error(`--listen wants HOST:PORT, got ${s}`);
  return { host: s.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(s.slice(i + 1)) };
}

/** Writes `body` in chunks, pausing on back-pressure until onWritable. */
function sendBody(s: H3Stream, body: Uint8Array): void {
  let off = 0;
  const pump = (): void => {
    while (off < body.length) {
      const end = Math.min(off + CHUNK, body.length);
      const ok = s.write(body.subarray(off, end), end === body.length);
      off = end;
      if (!ok) return; // resume from onWritable
    }
    if (body.length === 0) s.end();
  };
  s.handler = { ...s.handler, onWritable: pump };
  pump();
}

async function serveFile(s: H3Stream, root: string): Promise<number> {
  const path = decodeURIComponent((s.request.path ?? '/').split('?')[0]);
  const file = resolve(root, '.' + path);
  if (file !== root && !file.startsWith(root + sep)) return 404;
  try {
    const st = await stat(file);
    if (!st.isFile()) return 404;
    const body = await readFile(file);
    s.respond([[':status', '200'], ['content-length', String(body.length)]], { endStream: s.request.method === 'HEAD' });
    if (s.request.method !== 'HEAD') sendBody(s, body);
    return 200;
  } catch {
    return 404;
  }
}

/** Reads the whole request first: a request with a body (POST, or GET with data as gtlsclient -d sends) gets an echo of its size. */
function onRequest(s: H3Stream, root: string): void {
  let n = 0;
  s.handler = { onData: (_s, b) => { n += b.length; }, onEnd: () => respond(s, root, n) };
}

function respond(s: H3Stream, root: string, bodyBytes: number): void {
  const { method, path } = s.request;
  const log = (status: number) => console.log(`${method} ${path ?? ''} ${status}${bodyBytes ? ` (${bodyBytes} body bytes)` : ''}`);
  if (bodyBytes > 0 || method === 'POST' || method === 'PUT') {
    s.respond([[':status', '200'], ['content-type', 'text/plain']]);
    sendBody(s, new TextEncoder().encode(`received ${bodyBytes} bytes\n`));
    log(200);
    return;
  }
  if (method !== 'GET' && method !== 'HEAD') {
    s.respond([[':status', '405']], { endStream: true });
    log(405);
    return;
  }
  void serveFile(s, root).then((status) => {
    if (status !== 200) s.respond([[':status', String(status)]], { endStream: true });
    log(status);
  });
}

async function main(): Promise<void> {
  const listen = parseHostPort(arg('--listen') ?? '127.0.0.1:4433');
  const root = resolve(arg('--dir') ?? '.');
  const certFile = arg('--cert');
  const keyFile = arg('--key');
  let certPem: string;
  let keyPem: string;
  if (certFile && keyFile) {
    certPem = await readFile(certFile, 'utf8');
    keyPem = await readFile(keyFile, 'utf8');
  } else {
    ({ certPem, keyPem } = await generateSelfSigned({ names: ['localhost', '127.0.0.1'] }));
  }
  const config = createQuicConfig({ isServer: true, alpn: ['h3'], certPem, keyPem, keylogPath: process.env.SSLKEYLOGFILE });
  const path = await UdpPath.bind(listen);
  const ep = new QuicEndpoint({
    path,
    server: { config, onConnection: () => new ServerH3Driver({ onRequest: (s) => onRequest(s, root) }) },
  });
  console.log(`listening on ${path.local.host}:${path.local.port}`);
  const stop = () => { void ep.close().then(() => process.exit(0)); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e) => {
  console.error(`h3:serve: ${(e as Error).message}`);
  process.exit(1);
});
