/**
 * Read after write (LinuxTun.readNow, TunWriter.flush): what the kernel answers inside a TUN
 * write is handed to the read handler before flush() returns, with and without IFF_VNET_HDR;
 * MASQUE_TUN_READ_AFTER_WRITE=0 restores waiting for epoll (the test would catch readNow()
 * doing nothing).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { canUseNetns, createNetns, deleteNetns, NetnsChild } from '../helpers/tun-netns.js';

const skip = canUseNetns() ? false : 'needs root (network namespaces, TUN)';
const SCRIPT = new URL('../helpers/tun-read-now.js', import.meta.url);

interface Result { cases: Record<'v4' | 'v6', { sync: number; total: number }>; dropped: number }

const namespaces: string[] = [];
const children: NetnsChild[] = [];
after(() => {
  for (const c of children) c.kill();
  for (const ns of namespaces) deleteNetns(ns);
});

async function run(arg: Record<string, unknown>, env?: string): Promise<Result> {
  const ns = createNetns();
  namespaces.push(ns);
  const prev = process.env.MASQUE_TUN_READ_AFTER_WRITE;
  if (env === undefined) delete process.env.MASQUE_TUN_READ_AFTER_WRITE;
  else process.env.MASQUE_TUN_READ_AFTER_WRITE = env;
  try {
    const c = new NetnsChild(ns, SCRIPT, arg);
    children.push(c);
    return (await c.next('result', 20_000)) as unknown as Result;
  } finally {
    if (prev === undefined) delete process.env.MASQUE_TUN_READ_AFTER_WRITE;
    else process.env.MASQUE_TUN_READ_AFTER_WRITE = prev;
  }
}

for (const vnetHdr of [false, true]) {
  test(`the kernel's echo reply is read before flush() returns (vnetHdr ${vnetHdr})`, { skip }, async () => {
    const r = await run({ vnetHdr });
    assert.equal(r.dropped, 0);
    for (const k of ['v4', 'v6'] as const) {
      assert.equal(r.cases[k].total, 5, `${k}: every request answered`);
      // The kernel answers inside write() unless it defers its softirq work to ksoftirqd (a
      // loaded machine): most replies, not necessarily all. Without readNow none could be.
      assert.ok(r.cases[k].sync >= 3, `${k}: ${r.cases[k].sync}/5 replies delivered inside flush()`);
    }
  });
}

test('MASQUE_TUN_READ_AFTER_WRITE=0: replies still arrive, but through epoll', { skip }, async () => {
  const r = await run({ vnetHdr: true }, '0');
  for (const k of ['v4', 'v6'] as const) {
    assert.equal(r.cases[k].total, 5, `${k}: every request answered`);
    assert.equal(r.cases[k].sync, 0, `${k}: none inside flush()`);
  }
});
