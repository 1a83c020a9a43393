/**
 * One side of a bench:quic case, run as its own process (so sender and receiver each have
 * a core, as in production). Usage:
 *   node peer.js server <case>                 → prints {"port":N}, then a result JSON line on close
 *   node peer.js client <case> <port> <secs>   → prints a result JSON line
 * Cases: dgram-oneway, dgram-echo, stream.
 */
import { QuicEndpoint } from '../../src/quic/endpoint.js';
import { UdpPath } from '../../src/quic/udp-path.js';
import { createQuicConfig } from '../../src/quic/config.js';
import { generateSelfSigned } from '../../src/quic/certs.js';
import type { QuicApp, QuicConnHandle } from '../../src/quic/app.js';
import { EchoServerApp } from '../../src/quic/examples/echo.js';

const [role, kase, portArg, secsArg] = process.argv.slice(2);
const DGRAM = 1200;
const out = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');

function cpuMeter() {
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  return () => {
    const c = process.cpuUsage(c0);
    const wallUs = Number(process.hrtime.bigint() - t0) / 1e3;
    return { cpuPct: ((c.user + c.system) / wallUs) * 100, wallMs: wallUs / 1e3 };
  };
}

/** Receiver: counts datagrams and stream bytes; reports when the client closes. */
class CountingApp implements QuicApp {
  dgrams = 0;
  bytes = 0;
  private meter?: () => { cpuPct: number; wallMs: number };
  private readonly buf = new Uint8Array(65536);
  processReads(c: QuicConnHandle): void {
    this.meter ??= cpuMeter();
    while (c.dgramRecv(this.buf) !== null) this.dgrams++;
    for (const id of c.readableStreams()) {
      for (let r = c.streamRecv(id, this.buf); r; r = c.streamRecv(id, this.buf)) {
        this.bytes += r[0];
        if (r[1]) break;
      }
    }
  }
  onClosed(): void {
    out({ dgrams: this.dgrams, bytes: this.bytes, ...(this.meter?.() ?? { cpuPct: 0, wallMs: 0 }) });
    setTimeout(() => process.exit(0), 50);
  }
}

async function server(): Promise<void> {
  const cert = await generateSelfSigned({ names: ['localhost'] });
  const path = await UdpPath.bind({ host: '127.0.0.1', port: 0 });
  const config = createQuicConfig({ isServer: true, alpn: ['bench'], ...cert, idleTimeoutMs: 10_000 });
  new QuicEndpoint({ path, server: { config, onConnection: () => (kase === 'dgram-echo' ? new EchoServerApp() : new CountingApp()) } });
  out({ port: path.local.port });
}

/** Sender: keeps quiche's queues full for `secs`, then closes. */
class SenderApp implements QuicApp {
  sent = 0;
  refused = 0;
  echoed = 0;
  inFlight = 0;
  bytes = 0;
  onClosed?: QuicApp['onClosed'];
  private isRunning = true;
  private readonly payload = new Uint8Array(DGRAM).fill(7);
  private readonly chunk = new Uint8Array(64 * 1024).fill(9);
  private readonly buf = new Uint8Array(65536);
  constructor(private readonly secs: number, private readonly done: (r: object) => void) {}

  onEstablished(c: QuicConnHandle): void {
    const meter = cpuMeter();
    setTimeout(() => {
      this.isRunning = false;
      const m = meter();
      this.done({ sent: this.sent, refused: this.refused, echoed: this.echoed, bytes: this.bytes, ...m });
      setTimeout(() => c.close(true, 0, 'done'), 200); // let the tail arrive before closing
    }, this.secs * 1000);
    const pump = () => {
      if (!this.isRunning) return;
      this.processWrites(c);
      c.wake();
      setImmediate(pump);
    };
    pump();
  }

  processReads(c: QuicConnHandle): void {
    while (c.dgramRecv(this.buf) !== null) {
      this.echoed++;
      this.inFlight--;
    }
  }

  processWrites(c: QuicConnHandle): void {
    if (!this.isRunning) return;
    if (kase === 'stream') {
      for (let i = 0; i < 16; i++) {
        const n = c.streamSend(0, this.chunk, false);
        if (!n) break;
        this.bytes += n;
      }
      return;
    }
    const limit = kase === 'dgram-echo' ? 64 : Infinity;
    for (let i = 0; i < 128 && this.inFlight < limit; i++) {
      if (!c.dgramSend(this.payload)) {
        this.refused++;
        break;
      }
      this.sent++;
      if (kase === 'dgram-echo') this.inFlight++;
    }
  }
}

async function client(): Promise<void> {
  const path = await UdpPath.bind({ host: '127.0.0.1', port: 0 }, { connect: { host: '127.0.0.1', port: Number(portArg) } });
  const ep = new QuicEndpoint({ path });
  const config = createQuicConfig({ isServer: false, alpn: ['bench'], idleTimeoutMs: 10_000 });
  const app = new SenderApp(Number(secsArg), (r) => out(r));
  app.onClosed = () => void ep.close().then(() => process.exit(0));
  ep.connect({ peer: { host: '127.0.0.1', port: Number(portArg) }, serverName: 'localhost', config, app });
}

await (role === 'server' ? server() : client());
