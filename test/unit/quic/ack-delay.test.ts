/**
 * Held ACKs (QuicConfigOptions.ackDelayMs, RFC 9000 §13.2): a packet that asks for nothing
 * but an ACK is acknowledged after the delay, not at once; a second packet, or anything the
 * app writes, sends at once; ackDelayMs 0 restores ACK-at-once. Also QuicEndpoint.flushNow,
 * and the early path flush of the first packet after a quiet spell (endpoint.ts transmit).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QuicEndpoint } from '../../../src/quic/endpoint.js';
import { MemoryNetwork } from '../../../src/quic/memory-path.js';
import type { PacketPath } from '../../../src/quic/path.js';
import type { QuicConnHandle } from '../../../src/quic/app.js';
import { EchoServerApp } from '../../../src/quic/examples/echo.js';
import { echoServer, TestClient, clientConfig, within, memoryEchoPair } from '../../helpers/quic.js';

/**
 * A datagram the size of tunnel traffic: packets shorter than ~60 bytes count as ACK-only
 * and are acknowledged at once (driver.ts ACK_ONLY_MAX_LEN).
 */
const dgram = (k: number): Uint8Array => new Uint8Array(100).fill(k);

const turns = (n: number) => new Promise<void>((r) => {
  const step = (k: number) => (k === 0 ? r() : setImmediate(() => step(k - 1)));
  step(n);
});

async function setup(ackDelayMs: number) {
  const pair = await memoryEchoPair({ clientAckDelayMs: ackDelayMs, settleMs: 250 });
  return { ...pair, sent: () => pair.conn.stats().sentPackets };
}

test('a lone ACK waits for ackDelayMs, then goes out', async () => {
  const { app, srv, sent, close } = await setup(20);
  const before = sent();
  srv.dgramSend(dgram(1));
  srv.wake();
  await app.until(() => app.dgramCount === 1);
  await turns(5);
  assert.equal(sent() - before, 0, 'no ACK-only packet right away');
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(sent() - before, 1, 'the ACK went out after the delay');
  await close();
});

test('a second packet, or an app write, sends at once', async () => {
  const { app, conn, srv, sent, close } = await setup(1000);
  let before = sent();
  srv.dgramSend(dgram(1));
  srv.wake();
  await app.until(() => app.dgramCount === 1);
  srv.dgramSend(dgram(2));
  srv.wake();
  await app.until(() => app.dgramCount === 2);
  await turns(5);
  assert.equal(sent() - before, 1, 'every second packet is acknowledged at once (RFC 9000 §13.2.2)');
  before = sent();
  srv.dgramSend(dgram(3));
  srv.wake();
  await app.until(() => app.dgramCount === 3);
  conn.dgramSend(dgram(4));
  conn.wake();
  await turns(5);
  assert.equal(sent() - before, 1, 'the app write carried the ACK without waiting');
  await close();
});

/** Echoes and then wakes its connection, as a relay does after writing an answer it read back. */
class WakingEchoApp extends EchoServerApp {
  override processReads(conn: QuicConnHandle): void {
    super.processReads(conn);
    conn.wake();
  }
}

/** A WakingEchoApp server and a client, both holding ACKs for 1 s, connected and past the handshake guard. */
const wakingEchoPair = () => memoryEchoPair({ serverAckDelayMs: 1000, clientAckDelayMs: 1000, settleMs: 250, serverApp: () => new WakingEchoApp() });

test('the flush after a send that carried the ACK holds nothing (no wake-up 1 ms later to send nothing)', async () => {
  const { srv, conn, app, close } = await wakingEchoPair();
  conn.dgramSend(dgram(7));
  conn.wake();
  await app.until(() => app.dgramCount === 1); // the echo, which carried the server's ACK
  await turns(5);
  // A wake() inside the read pass, after the echo's send: nothing was received since, so
  // there is no ACK to hold and no hold timer may be armed.
  assert.equal((srv as unknown as { ackDeadline: number }).ackDeadline, Infinity);
  await close();
});

test('ackDelayMs 0 acknowledges at once', async () => {
  const { app, srv, sent, close } = await setup(0);
  const before = sent();
  srv.dgramSend(dgram(1));
  srv.wake();
  await app.until(() => app.dgramCount === 1);
  await turns(5);
  assert.equal(sent() - before, 1);
  await close();
});

test('flushNow() runs a pending flush at once instead of on the next setImmediate', async () => {
  const { conn, sent, close } = await setup(1);
  const endpoint = (conn as unknown as { host: QuicEndpoint }).host;
  const before = sent();
  conn.dgramSend(dgram(9));
  conn.wake();
  assert.equal(sent() - before, 0, 'nothing sent before the flush');
  endpoint.flushNow();
  assert.equal(sent() - before, 1, 'sent synchronously');
  endpoint.flushNow(); // nothing pending: a no-op
  assert.equal(sent() - before, 1);
  await close();
});

/** A PacketPath over `inner` that records the order of sends and flushes. */
function recordingPath(inner: PacketPath): PacketPath & { events: string[] } {
  const events: string[] = [];
  return {
    events,
    local: inner.local,
    send: (pkt, to) => { events.push('send'); inner.send(pkt, to); },
    onReceive: (h) => inner.onReceive(h),
    flush: () => { events.push('flush'); },
    close: () => inner.close(),
  };
}

test('the first packet after a quiet spell is flushed before quiche is asked for more; a busy burst is flushed once', async () => {
  const net = new MemoryNetwork();
  const sp = net.bind('10.0.0.1', 443);
  const server = await echoServer(sp);
  const path = recordingPath(net.bind('10.0.0.2'));
  const client = new QuicEndpoint({ path });
  const app = new TestClient();
  const conn = client.connect({ peer: sp.local, serverName: 'localhost', config: clientConfig({ ackDelayMs: 0 }), app });
  await within(app.established, 5000, 'handshake');
  const endpoint = (conn as unknown as { host: QuicEndpoint }).host;
  // Three datagrams too big to share a packet: three packets in one burst. The clock is pinned
  // during each burst (the endpoint reads Date.now()), so a slow CI machine cannot stretch a
  // burst past the quiet threshold and turn "busy" into "quiet".
  const realNow = Date.now;
  const burst = (at: number) => {
    Date.now = () => at;
    try {
      for (let i = 0; i < 3; i++) conn.dgramSend(new Uint8Array(1000).fill(i));
      conn.wake();
      endpoint.flushNow();
    } finally {
      Date.now = realNow;
    }
  };
  const t0 = realNow() + 20; // quiet: nothing sent for ≥ 20 ms
  path.events.length = 0;
  burst(t0);
  assert.deepEqual(path.events, ['send', 'flush', 'send', 'send', 'flush'], 'quiet: the first packet leaves at once');
  path.events.length = 0;
  burst(t0 + 1); // 1 ms after the last send: not quiet (QUIET_MS is 1: more than 1 ms)
  assert.deepEqual(path.events, ['send', 'send', 'send', 'flush'], 'busy: one flush for the burst');
  path.events.length = 0;
  burst(t0 + 3); // 2 ms of silence: quiet again
  assert.deepEqual(path.events, ['send', 'flush', 'send', 'send', 'flush'], 'quiet again after 2 ms');
  await client.close();
  await server.ep.close();
});

test("a relay's wake() inside its own read pass is carried by that pass's send: no second flush", async () => {
  const { srv, conn, app, close } = await wakingEchoPair();
  // Count the server connection's passes from here (the endpoint calls driver.flush()).
  const d = srv as unknown as { flush(isTimer?: boolean): void };
  const flush = d.flush.bind(d);
  let passes = 0;
  d.flush = (isTimer?: boolean) => {
    passes++;
    flush(isTimer);
  };
  conn.dgramSend(dgram(7));
  conn.wake();
  await app.until(() => app.dgramCount === 1);
  await turns(5);
  assert.equal(passes, 1, 'one pass: read, echo, send');
  await close();
});

test('an ACK-only packet is not held: nothing to answer, so no timer to wake for', async () => {
  // The client acknowledges the echo after 5 ms, in a packet of its own.
  const { srv, conn, app, close } = await memoryEchoPair({ serverAckDelayMs: 1000, clientAckDelayMs: 5, settleMs: 250 });
  const recvd = () => srv.stats().recvPackets;
  conn.dgramSend(new Uint8Array(200).fill(7));
  conn.wake();
  await app.until(() => app.dgramCount === 1);
  const before = recvd();
  const t0 = Date.now();
  while (recvd() === before && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 1));
  assert.equal(recvd(), before + 1, "the client's ACK arrived");
  await turns(3);
  assert.equal((srv as unknown as { ackDeadline: number }).ackDeadline, Infinity, 'no hold armed for an ACK-only packet');
  await close();
});
