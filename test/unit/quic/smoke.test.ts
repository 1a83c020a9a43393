import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QuicEndpoint } from '../../../src/quic/endpoint.js';
import { MemoryNetwork } from '../../../src/quic/memory-path.js';
import { createQuicConfig } from '../../../src/quic/config.js';
import { generateSelfSigned } from '../../../src/quic/certs.js';
import { EchoServerApp, EchoClientApp } from '../../../src/quic/examples/echo.js';

test('smoke: handshake + stream echo + datagram echo over memory', async () => {
  const cert = await generateSelfSigned({ names: ['localhost'] });
  const net = new MemoryNetwork();
  const sp = net.bind('10.0.0.1', 443);
  const cp = net.bind('10.0.0.2');
  const server = new QuicEndpoint({ path: sp, server: { config: createQuicConfig({ isServer: true, alpn: ['echo'], ...cert }), onConnection: () => new EchoServerApp() } });
  const client = new QuicEndpoint({ path: cp });
  const app = new EchoClientApp();
  const done = new Promise<void>((resolve) => {
    app.onReadCb = () => {
      if (app.received.get(0)?.fin && app.dgramCount >= 1) resolve();
    };
  });
  app.onEstablishedCb = (c) => {
    c.streamSend(0, Buffer.from('hello'), true);
    assert.equal(c.dgramSend(Buffer.from('dg')), true);
    c.wake();
  };
  client.connect({ peer: sp.local, serverName: 'localhost', config: createQuicConfig({ isServer: false, alpn: ['echo'] }), app });
  await done;
  assert.equal(Buffer.concat(app.received.get(0)!.chunks).toString(), 'hello');
  assert.equal(Buffer.from(app.dgrams[0]).toString(), 'dg');
  await client.close();
  await server.close();
});
