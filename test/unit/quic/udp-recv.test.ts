/**
 * UdpPath batched receives (native/udp recvmmsg) from plain dgram senders on loopback: every
 * datagram arrives intact and in order with the right source, v4 and v6, connected and not;
 * oversize datagrams and ICMP errors are counted, never thrown, and the reader keeps going.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { UdpPath } from '../../../src/quic/udp-path.js';
import { loadUdpBatchAddon } from '../../../src/quic/udp-batch.js';
import type { HostPort } from '../../../src/quic/path.js';

const noAddon = loadUdpBatchAddon() === undefined ? 'native/udp not built' : false;

async function sender(type: 'udp4' | 'udp6' = 'udp4', host = '127.0.0.1'): Promise<dgram.Socket> {
  const s = dgram.createSocket(type);
  await new Promise<void>((r) => s.bind(0, host, r));
  s.unref();
  return s;
}

function send(s: dgram.Socket, pkt: Uint8Array, to: HostPort): Promise<void> {
  return new Promise((res, rej) => s.send(pkt, to.port, to.host, (e) => (e ? rej(e) : res())));
}

/** Records (copies of) what the path hands out; the views are only valid during the call. */
function record(path: UdpPath): { got: Array<{ data: Buffer; from: HostPort }>; until(n: number): Promise<void> } {
  const got: Array<{ data: Buffer; from: HostPort }> = [];
  path.onReceive((pkt, from) => got.push({ data: Buffer.from(pkt), from }));
  const until = async (n: number) => {
    const end = Date.now() + 5000;
    while (got.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  };
  return { got, until };
}

const pkt = (k: number, size = 100 + ((k * 53) % 1300)) => {
  const p = Buffer.alloc(size, k & 0xff);
  p.writeUInt32BE(k, 0);
  return p;
};

test('unconnected v4: 300 datagrams from two senders arrive intact, in order per sender, with their sources', { skip: noAddon }, async () => {
  const path = await UdpPath.bind({ host: '127.0.0.1', port: 0 });
  const { got, until } = record(path);
  assert.equal(path.isRecvBatched, true);
  const [a, b] = [await sender(), await sender()];
  // Sent without waiting, so the kernel queue holds several recvmmsg batches at once.
  const sends: Promise<void>[] = [];
  for (let k = 0; k < 150; k++) sends.push(send(a, pkt(k), path.local), send(b, pkt(1000 + k), path.local));
  await Promise.all(sends);
  await until(300);
  assert.equal(got.length, 300);
  for (const [s, base] of [[a, 0], [b, 1000]] as const) {
    const mine = got.filter((g) => g.from.port === s.address().port);
    assert.equal(mine.length, 150);
    mine.forEach((g, i) => {
      assert.equal(g.from.host, '127.0.0.1');
      assert.deepEqual(g.data, pkt(base + i));
    });
  }
  assert.equal(path.errors, 0);
  path.close();
});

test('v6: the source is the canonical address text dgram would give', { skip: noAddon }, async () => {
  const path = await UdpPath.bind({ host: '::1', port: 0 });
  const { got, until } = record(path);
  const s = await sender('udp6', '::1');
  await send(s, pkt(7), path.local);
  await until(1);
  assert.deepEqual(got[0]!.from, { host: '::1', port: s.address().port });
  assert.deepEqual(got[0]!.data, pkt(7));
  path.close();
});

test('connected: datagrams from the peer arrive as from the peer; an oversize one is counted and skipped', { skip: noAddon }, async () => {
  const peer = await sender();
  const at = { host: '127.0.0.1', port: peer.address().port };
  const path = await UdpPath.bind({ host: '127.0.0.1', port: 0 }, { connect: at });
  const { got, until } = record(path);
  assert.equal(path.isRecvBatched, true);
  await send(peer, pkt(1), path.local);
  await send(peer, Buffer.alloc(6000, 9), path.local); // longer than a receive slot
  await send(peer, pkt(2), path.local);
  await until(2);
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(got.map((g) => g.data), [pkt(1), pkt(2)]);
  assert.deepEqual(got[0]!.from, at);
  assert.equal(path.errors, 1);
  path.close();
});

test('connected: an ICMP port unreachable is counted and the reader keeps reading', { skip: noAddon }, async () => {
  const gone = await sender();
  const port = gone.address().port;
  await new Promise<void>((r) => gone.close(() => r()));
  const path = await UdpPath.bind({ host: '127.0.0.1', port: 0 }, { connect: { host: '127.0.0.1', port } });
  const back = dgram.createSocket('udp4');
  back.unref();
  try {
    const { got, until } = record(path);
    path.send(pkt(1), { host: '127.0.0.1', port });
    path.flush();
    const end = Date.now() + 2000;
    while (path.errors === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    assert.ok(path.errors >= 1, 'ECONNREFUSED counted');
    assert.equal(path.isRecvBatched, true, 'a soft error does not stop the reader');
    await new Promise<void>((r) => back.bind(port, '127.0.0.1', r));
    await send(back, pkt(5), path.local);
    await until(1);
    assert.deepEqual(got[0]?.data, pkt(5));
  } finally {
    back.close();
    path.close();
  }
});

test('close() inside the handler stops delivery of the rest of the batch', { skip: noAddon }, async () => {
  const path = await UdpPath.bind({ host: '127.0.0.1', port: 0 });
  let calls = 0;
  path.onReceive(() => {
    calls++;
    path.close();
  });
  const s = await sender();
  await Promise.all([1, 2, 3, 4].map((k) => send(s, pkt(k), path.local)));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(calls, 1);
});

test('MASQUE_UDP_RECV_BATCH=0 keeps dgram receiving', async () => {
  process.env.MASQUE_UDP_RECV_BATCH = '0';
  try {
    const path = await UdpPath.bind({ host: '127.0.0.1', port: 0 });
    const { got, until } = record(path);
    assert.equal(path.isRecvBatched, false);
    const s = await sender();
    await send(s, pkt(3), path.local);
    await until(1);
    assert.deepEqual(got[0]!.data, pkt(3));
    path.close();
  } finally {
    delete process.env.MASQUE_UDP_RECV_BATCH;
  }
});
