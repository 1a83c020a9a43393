// Our client ↔ our server over real loopback QUIC (UdpPath + QuicEndpoint).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UdpPath } from '../../src/quic/udp-path.js';
import { QuicEndpoint } from '../../src/quic/endpoint.js';
import { createQuicConfig } from '../../src/quic/config.js';
import { generateSelfSigned } from '../../src/quic/certs.js';
import { ClientH3Driver } from '../../src/h3/client.js';
import { ServerH3Driver } from '../../src/h3/server.js';
import type { H3Stream } from '../../src/h3/h3-stream.js';

const te = new TextEncoder();
const td = new TextDecoder();

test('extended CONNECT + HTTP Datagrams + capsules + 1 MiB body over loopback QUIC', async () => {
  const cert = await generateSelfSigned({ names: ['localhost', '127.0.0.1'] });
  const srvPath = await UdpPath.bind({ host: '127.0.0.1', port: 0 });
  const server = new QuicEndpoint({
    path: srvPath,
    server: {
      config: createQuicConfig({ isServer: true, alpn: ['h3'], certPem: cert.certPem, keyPem: cert.keyPem, dgram: true }),
      onConnection: () => new ServerH3Driver({
        settings: { enableConnectProtocol: true, h3Datagram: true },
        onRequest(s: H3Stream) {
          if (s.request.method === 'CONNECT') {
            s.handler = {
              onDatagram: (st, p) => { st.sendDatagram(p); }, // echo
              onCapsule: (st, t, v) => { st.writeCapsule(t, v); },
            };
            s.respond([[':status', '200'], ['capsule-protocol', '?1']]);
            return;
          }
          s.respond([[':status', '200']]);
          s.write(new Uint8Array(1 << 20), true);
        },
      }),
    },
  });
  const cliPath = await UdpPath.bind({ host: '127.0.0.1', port: 0 });
  const client = new QuicEndpoint({ path: cliPath });
  const h3 = new ClientH3Driver({ settings: { h3Datagram: true } });
  client.connect({
    peer: srvPath.local, serverName: 'localhost', app: h3,
    config: createQuicConfig({ isServer: false, alpn: ['h3'], pinSha256: [cert.sha256], dgram: true }),
  });
  try {
    const settings = await h3.ready;
    assert.equal(settings.enableConnectProtocol, true);
    assert.equal(settings.h3Datagram, true);
    // 1 MiB GET
    const size = await new Promise<number>((resolve, reject) => {
      let n = 0;
      h3.request([[':method', 'GET'], [':scheme', 'https'], [':authority', 'localhost'], [':path', '/big']], {
        endStream: true,
        handler: { onData: (_s, b) => { n += b.length; }, onEnd: () => resolve(n), onReset: (_s, c) => reject(new Error(`reset ${c}`)) },
      });
    });
    assert.equal(size, 1 << 20);
    // CONNECT-UDP style stream with datagrams and a capsule echoed back
    const got = await new Promise<{ dgram: string; capsule: string }>((resolve) => {
      const r = { dgram: '', capsule: '' };
      const st = h3.request([[':method', 'CONNECT'], [':protocol', 'connect-udp'], [':scheme', 'https'], [':authority', 'localhost'],
        [':path', '/.well-known/masque/udp/192.0.2.6/443/'], ['capsule-protocol', '?1']], {
        handler: {
          onResponse: (s) => {
            assert.equal(h3.isDatagramEnabled, true);
            s.sendDatagram(te.encode('ping'));
            s.writeCapsule(0x1234, te.encode('cap'));
          },
          onDatagram: (_s, p) => { r.dgram = td.decode(p); if (r.capsule) resolve(r); },
          onCapsule: (_s, _t, v) => { r.capsule = td.decode(v); if (r.dgram) resolve(r); },
        },
      });
      assert.equal(st.id, 4);
    });
    assert.deepEqual(got, { dgram: 'ping', capsule: 'cap' });
  } finally {
    h3.close();
    await client.close({ graceMs: 50 });
    await server.close({ graceMs: 50 });
  }
});
