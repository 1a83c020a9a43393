/**
 * The CONNECT-UDP proxy's target sockets on loopback, through native/udp and through plain
 * dgram (MASQUE_UDP_BATCH=0): sessions sharing one send buffer keep each socket's packets
 * intact and in order, close() sends what was queued, and a dead target is reported once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { TargetSocket, TargetSockets } from '../../../src/masque/udp-target-socket.js';
import { loadUdpBatchAddon } from '../../../src/quic/udp-batch.js';

const noAddon = loadUdpBatchAddon() === undefined ? 'native/udp not built' : false;

/** An echo target that also records what it got, in order. */
async function echoTarget(): Promise<{ sock: dgram.Socket; port: number; got: Buffer[] }> {
  const sock = dgram.createSocket('udp4');
  const got: Buffer[] = [];
  sock.on('message', (m, r) => {
    got.push(m);
    sock.send(m, r.port, r.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  sock.setRecvBufferSize(4 * 1024 * 1024);
  sock.unref();
  return { sock, port: sock.address().port, got };
}

/** Packet k of flow f: flow byte, 4-byte index, filler of the flow's value. */
function packet(f: number, k: number): Uint8Array {
  const p = new Uint8Array(100 + ((k * 53) % 1100)).fill(f);
  new DataView(p.buffer).setUint32(1, k);
  return p;
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
}

/** A port nobody listens on (bound, read, closed). */
async function deadPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function withBatch<T>(isNative: boolean, fn: () => Promise<T>): Promise<T> {
  const prev = process.env.MASQUE_UDP_BATCH;
  if (!isNative) process.env.MASQUE_UDP_BATCH = '0';
  return fn().finally(() => {
    if (prev === undefined) delete process.env.MASQUE_UDP_BATCH;
    else process.env.MASQUE_UDP_BATCH = prev;
  });
}

for (const isNative of [true, false]) {
  const name = isNative ? 'native' : 'dgram';

  test(`${name}: two sockets sharing one send buffer, interleaved, keep every packet intact and in order`, { skip: isNative && noAddon }, () =>
    withBatch(isNative, async () => {
      const shared = new TargetSockets();
      const ta = await echoTarget();
      const tb = await echoTarget();
      const back: Record<number, Uint8Array[]> = { 1: [], 2: [] };
      const errors: string[] = [];
      const a = await TargetSocket.connect(shared, '127.0.0.1', ta.port, false, { onPacket: (p) => back[1]!.push(Uint8Array.from(p)), onError: () => errors.push('a') });
      const b = await TargetSocket.connect(shared, '127.0.0.1', tb.port, false, { onPacket: (p) => back[2]!.push(Uint8Array.from(p)), onError: () => errors.push('b') });
      try {
        assert.equal(a.isNative, isNative);
        const scratch = new Uint8Array(2000);
        const N = 300;
        for (let k = 0; k < N; k++) {
          // Runs of 1–3 packets per socket: every switch of owner must flush the other's first.
          for (const [s, f] of k % 5 < 3 ? [[a, 1], [b, 2]] as const : [[b, 2], [a, 1], [a, 1]] as const) {
            const p = packet(f, k);
            scratch.set(p);
            s.send(scratch.subarray(0, p.length));
            scratch.fill(0xee); // the socket must have copied
          }
          if (k % 40 === 39) shared.flush();
        }
        shared.flush();
        const wantA = N + [...Array(N).keys()].filter((k) => k % 5 >= 3).length;
        await until(() => ta.got.length >= wantA && tb.got.length >= N && back[1]!.length >= wantA && back[2]!.length >= N);
        for (const [t, f, n] of [[ta, 1, wantA], [tb, 2, N]] as const) {
          assert.equal(t.got.length, n, `target ${f}`);
          let last = -1;
          for (const m of t.got) {
            const k = m.readUInt32BE(1);
            assert.ok(k >= last, `flow ${f}: ${k} after ${last}`);
            last = k;
            assert.deepEqual(new Uint8Array(m), packet(f, k), `flow ${f} packet ${k} intact`);
          }
        }
        // The echoes came back through the receive path (shared buffers when native), unmixed.
        for (const f of [1, 2]) for (const p of back[f]!) assert.deepEqual(p, packet(f, new DataView(p.buffer).getUint32(1)));
        assert.deepEqual(errors, []);
      } finally {
        a.close(); // a failed assertion must not leave sockets holding the process open
        b.close();
        ta.sock.close();
        tb.sock.close();
      }
    }));

  test(`${name}: close() sends what was queued; nothing is delivered after it`, { skip: isNative && noAddon }, () =>
    withBatch(isNative, async () => {
      const shared = new TargetSockets();
      const t = await echoTarget();
      let delivered = 0;
      const s = await TargetSocket.connect(shared, '127.0.0.1', t.port, false, { onPacket: () => delivered++, onError: () => assert.fail('no error expected') });
      s.send(packet(3, 1));
      s.send(packet(3, 2));
      s.close(); // no flush: close must send them
      s.send(packet(3, 3)); // after close: ignored, not thrown
      await until(() => t.got.length >= 2);
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(t.got.map((m) => m.readUInt32BE(1)), [1, 2]);
      assert.equal(delivered, 0, 'echoes after close are not delivered');
      t.sock.close();
    }));

  test(`${name}: a target that is gone (ICMP port unreachable) is reported once`, { skip: isNative && noAddon }, () =>
    withBatch(isNative, async () => {
      const shared = new TargetSockets();
      let errors = 0;
      const s = await TargetSocket.connect(shared, '127.0.0.1', await deadPort(), false, { onPacket: () => assert.fail('nothing to receive'), onError: () => errors++ });
      for (let i = 0; i < 5; i++) {
        s.send(packet(4, i));
        shared.flush();
        await new Promise((r) => setTimeout(r, 10));
      }
      await until(() => errors > 0);
      assert.equal(errors, 1);
      s.close();
    }));
}

test('MASQUE_UDP_BATCH=0 is read per session: the next socket goes through dgram', { skip: noAddon }, async () => {
  const shared = new TargetSockets();
  const t = await echoTarget();
  const h = { onPacket: () => undefined, onError: () => undefined };
  const a = await TargetSocket.connect(shared, '127.0.0.1', t.port, false, h);
  const b = await withBatch(false, () => TargetSocket.connect(shared, '127.0.0.1', t.port, false, h));
  assert.deepEqual([a.isNative, b.isNative], [true, false]);
  a.close();
  b.close();
  t.sock.close();
});
