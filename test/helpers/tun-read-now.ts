/**
 * Child script (runs inside a test namespace) for LinuxTun.readNow() and TunWriter's read
 * after write: writes ICMP Echo Requests from a peer address to the TUN's own address; the
 * kernel answers inside write(), so the reply is queued on the TUN before write() returns.
 * Reports, per case, whether the reply had reached the read handler when TunWriter.flush()
 * returned (sync) and whether it arrived at all. Run with MASQUE_TUN_READ_AFTER_WRITE=0 for
 * the old behaviour (the reply waits for the next epoll wake-up).
 * Emits one line: {"event":"result","cases":{name: {sync, total}}}
 */
import { LinuxTun } from '../../src/tun/linux.js';
import { TunWriter } from '../../src/tun/writer.js';
import { configureInterface } from '../../src/tun/config.js';
import { buildIcmpEcho } from '../../src/wire/icmp.js';

const NAME = 'rnow0';
const emit = (e: Record<string, unknown>) => process.stdout.write(JSON.stringify(e) + '\n');
const vnetHdr = process.argv[2] ? (JSON.parse(process.argv[2]) as { vnetHdr?: boolean }).vnetHdr === true : false;

const tun = LinuxTun.open({ name: NAME, vnetHdr });
await configureInterface({ name: NAME, mtu: 1400, addresses: ['10.66.0.1/24', 'fd66::1/64'] });
await new Promise((r) => setTimeout(r, 300)); // IPv6 DAD off or done: the address must be usable
let replies = 0;
tun.onRead((b) => {
  for (let i = 0; i < b.count; i++) {
    const p = b.bufs[i].subarray(b.offset, b.offset + b.sizes[i]);
    const isV6 = p[0] >> 4 === 6;
    if (p[isV6 ? 40 : 20] === (isV6 ? 129 : 0)) replies++; // Echo Reply
  }
});
const writer = new TunWriter(tun);

async function echo(src: number[], dst: number[], count: number): Promise<{ sync: number; total: number }> {
  const before = replies;
  let sync = 0;
  for (let seq = 1; seq <= count; seq++) {
    const seen = replies;
    writer.push(buildIcmpEcho({ src: Uint8Array.from(src), dst: Uint8Array.from(dst), id: 77, seq, payload: new Uint8Array(32) }));
    writer.flush();
    if (replies > seen) sync++;
    await new Promise((r) => setTimeout(r, 20));
  }
  return { sync, total: replies - before };
}

const v6 = (last: number) => [0xfd, 0x66, ...new Array(13).fill(0), last];
const cases = {
  v4: await echo([10, 66, 0, 2], [10, 66, 0, 1], 5),
  v6: await echo(v6(2), v6(1), 5),
};
emit({ event: 'result', cases, dropped: writer.dropped });
tun.close();
