/**
 * Child script for test/netns/tun.test.ts, run with --expose-gc inside a namespace: opens two
 * TUN devices, drops one without close() and keeps the other, collects garbage, and prints
 * one JSON line: which devices still exist and how many /dev/net/tun fds the process holds.
 * A LinuxTun collected without close must close its fds (src/tun/linux.ts), and a
 * non-persistent TUN device disappears with its last fd.
 */
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { LinuxTun } from '../../src/tun/linux.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

function tunFds(): number {
  let n = 0;
  for (const name of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${name}`) === '/dev/net/tun') n++;
    } catch {
      // the fd readdir itself used, gone already
    }
  }
  return n;
}

const exists = (name: string) => existsSync(`/sys/class/net/${name}`);

function openDropped(): string {
  const t = LinuxTun.open({ name: 'mqdrop0' });
  return t.name; // t is unreachable once this returns
}

const kept = LinuxTun.open({ name: 'mqkeep0' });
const droppedName = openDropped();
const before = { dropped: exists(droppedName), kept: exists(kept.name), fds: tunFds() };
// FinalizationRegistry callbacks run as tasks after the collection that found the object.
for (let i = 0; i < 20 && exists(droppedName); i++) {
  gc();
  await sleep(20);
}
const after = { dropped: exists(droppedName), kept: exists(kept.name), fds: tunFds() };
kept.close();
const closed = { kept: exists(kept.name), fds: tunFds() };
process.stdout.write(JSON.stringify({ before, after, closed }) + '\n');
