/**
 * MASQUE test harness: a proxy server (ServerH3Driver routing extended CONNECTs through
 * `parseProxyRequest` to ConnectUdpProxy / ConnectIpProxy, answering GET with a small body) and
 * a client, either over the in-memory H3Pipe (byte-level, synchronous) or over loopback QUIC.
 */
import { ClientH3Driver } from '../../src/h3/client.js';
import { ServerH3Driver } from '../../src/h3/server.js';
import type { H3Stream } from '../../src/h3/h3-stream.js';
import type { FieldLine } from '../../src/h3/qpack/types.js';
import { H3Pipe } from './h3-pipe.js';
import { UdpPath } from '../../src/quic/udp-path.js';
import { QuicEndpoint } from '../../src/quic/endpoint.js';
import { createQuicConfig, type QuicConfigOptions } from '../../src/quic/config.js';
import type { PacketPath } from '../../src/quic/path.js';
import { testCert } from './quic.js';
import { parseProxyRequest } from '../../src/masque/proxy-request.js';
import { parseUriTemplate, type UriTemplate } from '../../src/masque/template.js';
import { errToStatus, formatProxyStatus } from '../../src/masque/proxy-status.js';
import type { ConnectUdpProxy } from '../../src/masque/connect-udp-proxy.js';
import type { ConnectIpProxy } from '../../src/masque/connect-ip-proxy.js';

export const AUTHORITY = 'localhost';
export const UDP_TEMPLATE = `https://${AUTHORITY}/.well-known/masque/udp/{target_host}/{target_port}/`;
export const IP_TEMPLATE = `https://${AUTHORITY}/.well-known/masque/ip/{target}/{ipproto}/`;

export interface ProxyRoutes {
  udp?: ConnectUdpProxy;
  ip?: ConnectIpProxy;
  udpTemplate?: UriTemplate;
  ipTemplate?: UriTemplate;
  /** Every request's fields, in arrival order. */
  seen?: FieldLine[][];
}

/** The relay's request router in miniature: validate, refuse with Proxy-Status, or hand over. */
export function proxyOnRequest(r: ProxyRoutes) {
  const udpTemplate = r.udpTemplate ?? parseUriTemplate(UDP_TEMPLATE, 'udp');
  const ipTemplate = r.ipTemplate ?? parseUriTemplate(IP_TEMPLATE, 'ip');
  return (s: H3Stream, fields: FieldLine[]): void => {
    r.seen?.push(fields);
    if (s.request.method === 'GET') {
      s.respond([[':status', '200']]);
      s.write(new TextEncoder().encode(`hello ${s.request.path}`), true);
      return;
    }
    let req;
    try {
      req = parseProxyRequest(fields, {
        udpTemplate: r.udp ? udpTemplate : undefined, ipTemplate: r.ip ? ipTemplate : undefined,
      });
    } catch (e) {
      const st = errToStatus(e);
      s.respond([[':status', String(st.httpStatus)], ['proxy-status', formatProxyStatus('test-proxy', st)]], { endStream: true });
      return;
    }
    if (req.protocol === 'connect-udp') r.udp!.handle(s, req);
    else r.ip!.handle(s, req, 'test-principal');
  };
}

/** Client ↔ proxy over the in-memory pipe. `dgram: false` = no QUIC DATAGRAMs (capsule path). */
export function pipeHarness(routes: ProxyRoutes, o: { dgram?: boolean } = {}) {
  const isDgram = o.dgram ?? true;
  const srv = new ServerH3Driver({ settings: { enableConnectProtocol: true, h3Datagram: true }, onRequest: proxyOnRequest(routes) });
  const cli = new ClientH3Driver({ settings: { h3Datagram: true } });
  const pipe = new H3Pipe(cli, srv, { clientDgram: isDgram, serverDgram: isDgram }).start();
  /** Alternates event-loop turns and pipe rounds until `p` settles. */
  async function pump<T>(p: Promise<T>, rounds = 200): Promise<T> {
    let isDone = false;
    const q = p.finally(() => { isDone = true; });
    q.catch(() => undefined); // handled by the caller's await; avoid an unhandled-rejection report meanwhile
    for (let i = 0; i < rounds && !isDone; i++) {
      await new Promise((r) => setImmediate(r));
      pipe.advance();
    }
    return q;
  }
  /** A few turns + rounds (let async proxy work finish). */
  async function settle(turns = 5): Promise<void> {
    for (let i = 0; i < turns; i++) {
      await new Promise((r) => setImmediate(r));
      pipe.advance();
    }
  }
  return { pipe, cli, srv, pump, settle };
}

/** A proxy endpoint on loopback QUIC. */
export async function loopbackProxy(routes: ProxyRoutes, o: { path?: PacketPath; quic?: Partial<QuicConfigOptions>; h3Datagram?: boolean } = {}) {
  const cert = await testCert();
  const path = o.path ?? await UdpPath.bind({ host: '127.0.0.1', port: 0 });
  const ep = new QuicEndpoint({
    path,
    server: {
      config: createQuicConfig({ isServer: true, alpn: ['h3'], certPem: cert.certPem, keyPem: cert.keyPem, ...o.quic }),
      onConnection: () => new ServerH3Driver({
        settings: { enableConnectProtocol: true, h3Datagram: o.h3Datagram ?? true }, onRequest: proxyOnRequest(routes),
      }),
    },
  });
  return { ep, cert, local: path.local };
}

/** An HTTP/3 client connected to `peer` over `path` (a UdpPath by default). */
export async function h3Client(peer: { host: string; port: number }, o: { path?: PacketPath; quic?: Partial<QuicConfigOptions>; h3Datagram?: boolean } = {}) {
  const cert = await testCert();
  const path = o.path ?? await UdpPath.bind({ host: '127.0.0.1', port: 0 });
  const ep = new QuicEndpoint({ path });
  const h3 = new ClientH3Driver({ settings: { h3Datagram: o.h3Datagram ?? true } });
  ep.connect({
    peer, serverName: AUTHORITY, app: h3,
    config: createQuicConfig({ isServer: false, alpn: ['h3'], pinSha256: [cert.sha256], ...o.quic }),
  });
  await h3.ready;
  return { ep, h3 };
}

/** Waits until `pred()` holds (polling each turn), or throws after `ms`. */
export async function until(pred: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
