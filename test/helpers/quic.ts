/**
 * Test helpers for the QUIC core: an echo server plus a client on one path kind, promises
 * for handshake/close, and a PacketPath that carries packets as DATAGRAMs of an outer
 * QUIC connection (how the client's inner connection rides a CONNECT-UDP tunnel).
 */
import { QuicEndpoint, type ServerOptions } from '../../src/quic/endpoint.js';
import { createQuicConfig, type QuicConfigOptions } from '../../src/quic/config.js';
import { generateSelfSigned, type CertBundle } from '../../src/quic/certs.js';
import type { CloseInfo, QuicApp, QuicConnHandle } from '../../src/quic/app.js';
import type { HostPort, PacketPath } from '../../src/quic/path.js';
import { EchoClientApp, EchoServerApp } from '../../src/quic/examples/echo.js';
import { MemoryNetwork } from '../../src/quic/memory-path.js';

let certP: Promise<CertBundle> | undefined;
/** One self-signed cert per test process (key generation is the slow part). */
export function testCert(): Promise<CertBundle> {
  return (certP ??= generateSelfSigned({ names: ['localhost', '127.0.0.1'] }));
}

export async function echoServer(path: PacketPath, extra: Partial<QuicConfigOptions> = {}, srv: Partial<ServerOptions> = {},
  makeApp: () => EchoServerApp = () => new EchoServerApp()) {
  const cert = await testCert();
  const closed: CloseInfo[] = [];
  const conns: QuicConnHandle[] = [];
  const ep = new QuicEndpoint({
    path,
    server: {
      config: createQuicConfig({ isServer: true, alpn: ['echo'], ...cert, ...extra }),
      onConnection: (c) => {
        conns.push(c);
        const app = makeApp();
        return Object.assign(app, { onClosed: (_c: QuicConnHandle, i: CloseInfo) => closed.push(i) });
      },
      ...srv,
    },
  });
  return { ep, closed, conns, cert };
}

/**
 * An echo server and one client connected to it over a MemoryNetwork, `settleMs` after the
 * handshake (≥ 250 gets past the driver's handshake guard on held ACKs, driver.ts holdFrom).
 * ACK delays: the server's default unless given; serverApp: an EchoServerApp of the test's own.
 * close() ends both endpoints.
 */
export async function memoryEchoPair(o: { clientAckDelayMs: number; serverAckDelayMs?: number; settleMs: number;
  serverApp?: () => EchoServerApp; }) {
  const net = new MemoryNetwork();
  const sp = net.bind('10.0.0.1', 443);
  const server = await echoServer(sp, o.serverAckDelayMs === undefined ? {} : { ackDelayMs: o.serverAckDelayMs }, {}, o.serverApp);
  const client = new QuicEndpoint({ path: net.bind('10.0.0.2') });
  const app = new TestClient();
  const conn = client.connect({ peer: sp.local, serverName: 'localhost', config: clientConfig({ ackDelayMs: o.clientAckDelayMs }), app });
  await within(app.established, 5000, 'handshake');
  await new Promise((r) => setTimeout(r, o.settleMs));
  const close = async () => {
    await client.close();
    await server.ep.close();
  };
  return { srv: server.conns[0]!, conn, app, close };
}

/** A client app with promises for the milestones tests wait on. */
export class TestClient extends EchoClientApp {
  readonly established: Promise<QuicConnHandle>;
  readonly closed: Promise<CloseInfo>;
  constructor() {
    super();
    let res!: (c: QuicConnHandle) => void;
    let resClose!: (i: CloseInfo) => void;
    this.established = new Promise((r) => (res = r));
    this.closed = new Promise((r) => (resClose = r));
    this.onEstablishedCb = res;
    this.onClosedCb = (_c, i) => resClose(i);
  }

  /** Resolves when `pred` holds after some read. */
  until(pred: () => boolean, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      if (pred()) return resolve();
      const t = setTimeout(() => reject(new Error('timeout waiting for condition')), timeoutMs);
      const prev = this.onReadCb;
      this.onReadCb = (c) => {
        prev?.(c);
        if (pred()) {
          clearTimeout(t);
          this.onReadCb = prev;
          resolve();
        }
      };
    });
  }
}

export function clientConfig(extra: Partial<QuicConfigOptions> = {}) {
  return createQuicConfig({ isServer: false, alpn: ['echo'], ...extra });
}

/** Races a promise against a timeout, so a hung handshake fails the test instead of hanging it. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, rej) => setTimeout(() => rej(new Error(`timeout: ${what}`)), ms).unref())]);
}

/**
 * PacketPath over an outer QUIC connection's DATAGRAMs: every inner packet is one outer
 * datagram. `local`/`peer` are nominal addresses quiche uses for the inner path.
 */
export class DatagramTunnelPath implements PacketPath, QuicApp {
  private handler?: (pkt: Uint8Array, from: HostPort) => void;
  private readonly buf = new Uint8Array(65536);
  conn?: QuicConnHandle;
  tooBig = 0;
  constructor(readonly local: HostPort, private readonly peer: HostPort) {}
  send(pkt: Uint8Array): void {
    if (!this.conn) return;
    if (!this.conn.dgramSend(pkt)) this.tooBig++;
    this.conn.wake();
  }
  onReceive(h: (pkt: Uint8Array, from: HostPort) => void): void {
    this.handler = h;
  }
  close(): void {
    this.handler = undefined;
  }
  onEstablished(c: QuicConnHandle): void {
    this.conn = c;
  }
  processReads(c: QuicConnHandle): void {
    this.conn = c;
    for (let n = c.dgramRecv(this.buf); n !== null; n = c.dgramRecv(this.buf)) this.handler?.(this.buf.subarray(0, n), this.peer);
  }
}
