/**
 * UdpPath batched sends (native/udp sendmmsg, optional GSO) against plain dgram receivers on
 * loopback: every packet arrives, in order, connected and unconnected, with and without the
 * addon; EAGAIN and oversize packets never throw.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { UdpPath } from '../../../src/quic/udp-path.js';
import { loadUdpBatchAddon, socketFd, UdpSendBatch, type UdpBatchAddon } from '../../../src/quic/udp-batch.js';
import type { HostPort } from '../../../src/quic/path.js';

const addon = loadUdpBatchAddon();
const noAddon = addon === undefined ? 'native/udp not built' : false;

/** A receiver that records every datagram (as a Buffer) in arrival order. */
async function receiver(): Promise<{ sock: dgram.Socket; at: HostPort; got: Buffer[]; until(n: number): Promise<void> }> {
  const sock = dgram.createSocket('udp4');
  const got: Buffer[] = [];
  sock.on('message', (m) => got.push(m));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  sock.setRecvBufferSize(8 * 1024 * 1024);
  sock.unref(); // a failed assertion must not leave the test process hanging
  const until = async (n: number) => {
    const end = Date.now() + 5000;
    while (got.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  };
  return { sock, at: { host: '127.0.0.1', port: sock.address().port }, got, until };
}

/** Packet k: 4-byte index, then filler; sizes vary so batches mix lengths (and GSO runs end). */
function packet(k: number, size = 200 + ((k * 37) % 1000)): Uint8Array {
  const p = new Uint8Array(size).fill(k & 0xff);
  new DataView(p.buffer).setUint32(0, k);
  return p;
}
const index = (b: Buffer) => b.readUInt32BE(0);

/** Sends n packets through path, reusing one buffer like the endpoint does, flushing every `every`. */
function burst(path: UdpPath, to: HostPort | ((k: number) => HostPort), n: number, every: number, first = 0, size?: number): void {
  const scratch = new Uint8Array(2000);
  for (let k = first; k < first + n; k++) {
    const p = packet(k, size);
    scratch.set(p);
    path.send(scratch.subarray(0, p.length), typeof to === 'function' ? to(k) : to);
    scratch.fill(0xee); // the path must have copied
    if ((k + 1) % every === 0) path.flush();
  }
  path.flush();
}

function assertInOrder(got: Buffer[], want: number[], size?: number): void {
  assert.deepEqual(got.map(index), want);
  for (const b of got) assert.deepEqual(new Uint8Array(b), packet(index(b), size));
}

for (const batch of [true, false]) {
  const name = batch ? 'batched' : 'fallback (batch: false)';

  test(`${name}: connected socket delivers every packet in order`, { skip: batch && noAddon }, async () => {
    const r = await receiver();
    const path = await UdpPath.bind({ host: '127.0.0.1', port: 0 }, { connect: r.at, batch });
    assert.equal(path.isBatched, batch);
    burst(path, r.at, 300, 50); // 50 per flush, plus early flushes past 64 packets in the second test
    burst(path, r.at, 200, 1000, 300); // one flush for 200 packets: the 64-packet cap flushes early
    await r.until(500);
    assertInOrder(r.got, [...Array(500).keys()]);
    assert.equal(path.errors, 0);
    path.send(packet(1), { host: '127.0.0.1', port: r.at.port + 1 }); // not the connected peer
    assert.equal(path.errors, 1);
    path.close();
    r.sock.close();
  });

  test(`${name}: unconnected socket, two destinations interleaved`, { skip: batch && noAddon }, async () => {
    const a = await receiver();
    const b = await receiver();
    const path = await UdpPath.bind({ host: '127.0.0.1', port: 0 }, { batch });
    assert.equal(path.isBatched, batch);
    burst(path, (k) => (k % 3 === 0 ? a.at : b.at), 300, 40);
    const wantA = [...Array(300).keys()].filter((k) => k % 3 === 0);
    const wantB = [...Array(300).keys()].filter((k) => k % 3 !== 0);
    await a.until(wantA.length);
    await b.until(wantB.length);
    assertInOrder(a.got, wantA);
    assertInOrder(b.got, wantB);
    path.close();
    a.sock.close();
    b.sock.close();
  });

  test(`${name}: the setImmediate safety flush sends what nobody flushed`, { skip: batch && noAddon }, async () => {
    const r = await receiver();
    const path = await UdpPath.bind({ host: '127.0.0.1', port: 0 }, { batch });
    for (let k = 0; k < 5; k++) path.send(packet(k), r.at);
    await r.until(5);
    assertInOrder(r.got, [0, 1, 2, 3, 4]);
    path.close();
    r.sock.close();
  });

  test(`${name}: connected to a closed port, ICMP errors are counted, not thrown`, { skip: batch && noAddon }, async () => {
    const r = await receiver();
    const dead = r.at;
    r.sock.close(); // nobody listens there any more: the kernel answers port unreachable
    const path = await UdpPath.bind({ host: '127.0.0.1', port: 0 }, { connect: dead, batch });
    const end = Date.now() + 3000;
    while (path.errors === 0 && Date.now() < end) {
      assert.doesNotThrow(() => burst(path, dead, 3, 3));
      await new Promise((res) => setTimeout(res, 10));
    }
    assert.ok(path.errors > 0);
    path.close();
  });

  test(`${name}: oversize and refused packets are counted, never thrown`, { skip: batch && noAddon }, async () => {
    const r = await receiver();
    const path = await UdpPath.bind({ host: '127.0.0.1', port: 0 }, { batch });
    path.send(packet(0), r.at);
    path.send(new Uint8Array(65600), r.at); // > 65507: EMSGSIZE from the kernel
    path.send(new Uint8Array(200_000), r.at); // bigger than the batch buffer: dgram's path
    path.send(packet(1), r.at);
    path.send(packet(2), { host: '::1', port: r.at.port }); // wrong family for a udp4 socket
    path.send(packet(3), r.at);
    assert.doesNotThrow(() => path.flush());
    await r.until(3);
    assert.deepEqual(r.got.map(index), [0, 1, 3]);
    if (batch) {
      // The batch counts every refused send. (dgram.send without a callback drops send errors
      // silently, so the plain path only counts ICMP errors reported on receive.)
      const end = Date.now() + 2000;
      while (path.errors < 3 && Date.now() < end) await new Promise((res) => setTimeout(res, 5));
      assert.ok(path.errors >= 3, `errors ${path.errors}`);
    }
    path.close();
    assert.doesNotThrow(() => path.send(packet(4), r.at)); // after close: dropped
    r.sock.close();
  });
}

test('GSO: runs of equal-size packets arrive as separate datagrams, in order', { skip: noAddon }, async () => {
  const r = await receiver();
  const a = await receiver();
  const path = await UdpPath.bind({ host: '127.0.0.1', port: 0 }, { gso: true });
  burst(path, r.at, 130, 1000, 0, 1200); // equal sizes: GSO runs of up to 54 (64 KB)
  path.send(packet(130, 700), r.at); // a shorter last segment ends a run
  path.send(packet(131, 1200), a.at); // another destination ends it too
  path.flush();
  await r.until(131);
  await a.until(1);
  assertInOrder(r.got.slice(0, 130), [...Array(130).keys()], 1200);
  assert.equal(r.got.length, 131);
  assert.deepEqual(new Uint8Array(r.got[130]!), packet(130, 700));
  assert.deepEqual(new Uint8Array(a.got[0]!), packet(131, 1200));
  assert.equal(path.errors, 0);
  path.close();
  r.sock.close();
  a.sock.close();
});

test('EAGAIN: what the kernel refuses goes through dgram, in order, without throwing', { skip: noAddon }, async () => {
  const r = await receiver();
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((res) => sock.bind(0, '127.0.0.1', res));
  const fd = socketFd(sock);
  assert.ok(fd !== undefined && fd > 2);
  // The real addon, but the "kernel" takes only 3 packets per call (as sendmmsg does on EAGAIN).
  const send: UdpBatchAddon['send'] = (f, buf, lens, count, addrs, gso, state) => addon!.send(f, buf, lens, Math.min(3, count), addrs, gso, state);
  const partial = Object.create(addon!, { send: { value: send } }) as UdpBatchAddon;
  let errors = 0;
  const b = new UdpSendBatch(sock, fd, partial, { connected: false, maxPackets: 8, onErrors: (n) => (errors += n) });
  for (let k = 0; k < 20; k++) assert.ok(b.push(packet(k), r.at)); // flushes early every 8
  assert.equal(b.push(packet(99), { host: 'localhost', port: r.at.port }), false); // a name, not a literal
  b.close();
  await r.until(20);
  assertInOrder(r.got, [...Array(20).keys()]);
  assert.equal(errors, 0);
  sock.close();
  r.sock.close();
});

test('an explicit flush cancels the safety flush: nothing is left for the next loop iteration', { skip: noAddon }, async () => {
  const r = await receiver();
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((res) => sock.bind(0, '127.0.0.1', res));
  sock.unref(); // a failed assertion must not leave the test process hanging
  const b = new UdpSendBatch(sock, socketFd(sock)!, addon!, { connected: false, onErrors: () => undefined });
  const pending = (): number => process.getActiveResourcesInfo().filter((x) => x === 'Immediate').length;
  const before = pending();
  assert.ok(b.push(packet(1), r.at));
  assert.equal(pending(), before + 1, 'a safety flush is scheduled');
  b.flush();
  assert.equal(pending(), before, 'cancelled by the flush');
  assert.ok(b.push(packet(2), r.at)); // unflushed: the safety flush sends it
  await r.until(2);
  assertInOrder(r.got, [1, 2]);
  b.close();
  sock.close();
  r.sock.close();
});

test('MASQUE_UDP_BATCH=0 disables the addon; socketFd reads the fd without the deprecated _handle', async () => {
  const old = process.env.MASQUE_UDP_BATCH;
  process.env.MASQUE_UDP_BATCH = '0';
  try {
    assert.equal(loadUdpBatchAddon(), undefined);
    const r = await receiver();
    const path = await UdpPath.bind({ host: '127.0.0.1', port: 0 }, { connect: r.at });
    assert.equal(path.isBatched, false);
    burst(path, r.at, 10, 3);
    await r.until(10);
    assertInOrder(r.got, [...Array(10).keys()]);
    path.close();
    r.sock.close();
  } finally {
    if (old === undefined) delete process.env.MASQUE_UDP_BATCH;
    else process.env.MASQUE_UDP_BATCH = old;
  }
  const s = dgram.createSocket('udp4');
  assert.equal(socketFd(s), undefined); // not bound yet: no fd
  await new Promise<void>((res) => s.bind(0, '127.0.0.1', res));
  assert.equal(typeof socketFd(s), 'number');
  s.close();
});
