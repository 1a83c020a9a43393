/**
 * Hostile or confused callers of the native readers: a value that is not a reader handle of
 * that very addon (a plain object, a number, the other addon's handle) is refused with the
 * addon's ERR_*_ARGS TypeError — never dereferenced — and the real reader keeps working.
 * Loading the addons needs no privileges; no TUN device is opened here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { loadTunAddon } from '../../../src/tun/linux.js';
import { loadUdpBatchAddon, socketFd, type UdpBatchAddon } from '../../../src/quic/udp-batch.js';
import { UdpRecvBatch } from '../../../src/quic/udp-recv.js';

const udp = loadUdpBatchAddon() as unknown as { recvClose(h: unknown): void; recvRef(h: unknown, on: boolean): void } | undefined;
const skip = process.platform !== 'linux' ? 'native addons are Linux-only' : udp === undefined ? 'native/udp not built' : false;

test('reader functions refuse values that are not their own handles', { skip }, async () => {
  const tun = loadTunAddon() as unknown as Record<string, (...a: unknown[]) => unknown>;
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const got: number[] = [];
  const batch = UdpRecvBatch.start(sock, socketFd(sock)!, udp as unknown as UdpBatchAddon, undefined,
    (pkt) => got.push(pkt[0]!), () => undefined, () => undefined);
  const udpReader = (batch as unknown as { reader?: object } | undefined)?.reader;
  assert.ok(udpReader, 'the socket reads with recvmmsg');
  try {
    for (const fn of ['pollNow', 'pollClose', 'pollPause', 'pollResume']) {
      for (const bad of [{}, 42, udpReader]) {
        assert.throws(() => tun[fn]!(bad), (e: Error & { code?: string }) => e instanceof TypeError && e.code === 'ERR_TUN_ARGS', `${fn}(${typeof bad})`);
      }
    }
    assert.throws(() => tun.pollRef!(udpReader, false), { code: 'ERR_TUN_ARGS' });
    assert.throws(() => udp!.recvClose({}), { code: 'ERR_UDP_ARGS' });
    assert.throws(() => udp!.recvRef(7, true), { code: 'ERR_UDP_ARGS' });
    // The UDP reader was not touched by any of that: it still delivers.
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.send(Buffer.from([9]), sock.address().port, '127.0.0.1', () => r()));
    const end = Date.now() + 5000;
    while (got.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    s.close();
    assert.deepEqual(got, [9]);
  } finally {
    batch?.close();
    sock.close();
  }
});
