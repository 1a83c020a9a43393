/**
 * The anchor: the same one-stream transfer through @matrixai/quic's high-level
 * QUICServer/QUICClient (async locks, a promise per packet, web streams). Usage:
 *   node highlevel.js server            → {"port":N}, then {"bytes":…, cpuPct, wallMs} on close
 *   node highlevel.js client PORT SECS  → {"bytes":…, cpuPct, wallMs}
 */
import { webcrypto } from 'node:crypto';
import { QUICServer, QUICClient, events } from '@matrixai/quic';
import { generateSelfSigned } from '../../src/quic/certs.js';

const [role, portArg, secsArg] = process.argv.slice(2);
const out = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');
const cpu = () => {
  const c0 = process.cpuUsage();
  const t0 = Date.now();
  return () => {
    const c = process.cpuUsage(c0);
    const wallMs = Date.now() - t0;
    return { cpuPct: ((c.user + c.system) / 1000 / wallMs) * 100, wallMs };
  };
};

async function server() {
  const cert = await generateSelfSigned({ names: ['localhost'] });
  const key = webcrypto.getRandomValues(new Uint8Array(32)).buffer;
  const hmac = await webcrypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
  const srv = new QUICServer({
    crypto: { key, ops: { sign: async (_k, d) => webcrypto.subtle.sign('HMAC', hmac, d), verify: async (_k, d, s) => webcrypto.subtle.verify('HMAC', hmac, s, d) } },
    config: { key: cert.keyPem, cert: cert.certPem, verifyPeer: false, applicationProtos: ['bench'] },
  });
  srv.addEventListener(events.EventQUICServerConnection.name, (e: Event) => {
    const conn = (e as events.EventQUICServerConnection).detail;
    conn.addEventListener(events.EventQUICConnectionStream.name, async (se: Event) => {
      const stream = (se as events.EventQUICConnectionStream).detail;
      let bytes = 0;
      let meter: (() => object) | undefined;
      try {
        for await (const chunk of stream.readable) {
          meter ??= cpu();
          bytes += chunk.byteLength;
        }
      } catch {
        /* reset at the end of the run */
      }
      out({ bytes, ...(meter?.() ?? {}) });
      setTimeout(() => process.exit(0), 50);
    });
  });
  await srv.start({ host: '127.0.0.1', port: 0 });
  out({ port: srv.port });
}

async function client() {
  const c = await QUICClient.createQUICClient({
    host: '127.0.0.1', port: Number(portArg), serverName: 'localhost',
    crypto: { ops: { randomBytes: async (d: ArrayBuffer) => void webcrypto.getRandomValues(new Uint8Array(d)) } },
    config: { verifyPeer: false, applicationProtos: ['bench'] },
  });
  const stream = c.connection.newStream();
  const w = stream.writable.getWriter();
  const chunk = new Uint8Array(64 * 1024).fill(9);
  const meter = cpu();
  const end = Date.now() + Number(secsArg) * 1000;
  let bytes = 0;
  while (Date.now() < end) {
    await w.write(chunk);
    bytes += chunk.length;
  }
  out({ bytes, ...meter() });
  await w.close();
  await new Promise((r) => setTimeout(r, 300));
  await c.destroy({ force: true });
  process.exit(0);
}

await (role === 'server' ? server() : client());
