/**
 * Child script (runs inside a test namespace): opens a TUN, configures it, and answers every
 * ICMP/ICMPv6 Echo Request read from it — a "TUN echo" peer that pings from the namespace
 * reach. Protocol: argv[2] is JSON options; stdout carries JSON events, stdin JSON commands:
 *   → {"event":"ready","name","mtu","fds"}            after configuration
 *   ← {"cmd":"stats"}       → {"event":"stats","reads","batches","echoed","maxRead"}
 *   ← {"cmd":"write","size":N} → {"event":"write","ok":bool,"code"?}  (an N-byte packet)
 *   ← {"cmd":"close"}       → {"event":"closed"}, then the process exits by itself
 */
import { createInterface } from 'node:readline';
import { LinuxTun } from '../../src/tun/linux.js';
import { configureInterface } from '../../src/tun/config.js';
import { buildIcmpEcho, echoRequestToReply } from '../../src/wire/icmp.js';
import { parseIpAddress } from '../../src/wire/ip-address.js';
import { isMasqueError } from '../../src/core/errors.js';

interface Options {
  name?: string;
  mtu?: number;
  addresses?: string[];
  queues?: number;
  offset?: number;
}

const opts = JSON.parse(process.argv[2] ?? '{}') as Options;
const emit = (e: Record<string, unknown>) => process.stdout.write(JSON.stringify(e) + '\n');

const tun = LinuxTun.open({ name: opts.name, queues: opts.queues, offset: opts.offset ?? 16 });
const applied = await configureInterface({ name: tun.name, mtu: opts.mtu, addresses: opts.addresses ?? [] });
tun.refreshMtu();
let reads = 0;
let batches = 0;
let echoed = 0;
let maxRead = 0;
tun.onRead((b) => {
  batches++;
  const sizes = new Int32Array(b.count);
  for (let i = 0; i < b.count; i++) {
    reads++;
    maxRead = Math.max(maxRead, b.sizes[i]);
    // Non-echo packets (router solicitations, …) get size 0: written as nothing.
    sizes[i] = echoRequestToReply(b.bufs[i], b.offset, b.sizes[i]) ? b.sizes[i] : 0;
  }
  const replies = b.bufs.filter((_, i) => i < b.count && sizes[i] > 0);
  const replySizes = Int32Array.from(sizes.filter((s) => s > 0));
  if (replies.length > 0) echoed += tun.write({ bufs: replies, offset: b.offset, sizes: replySizes });
}, (err) => emit({ event: 'error', code: (err as { code?: string }).code, errno: (err as { errno?: string }).errno }));
emit({ event: 'ready', name: tun.name, mtu: tun.mtu, fds: tun.fds.length });

const rl = createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  const cmd = JSON.parse(line) as { cmd: string; size?: number };
  if (cmd.cmd === 'stats') emit({ event: 'stats', reads, batches, echoed, maxRead });
  if (cmd.cmd === 'write') {
    const pkt = buildIcmpEcho({ src: parseIpAddress('10.0.0.9')!, dst: parseIpAddress('10.0.0.8')!, id: 1, seq: 1,
      payload: new Uint8Array(Math.max(0, (cmd.size ?? 0) - 28)) });
    try {
      tun.write({ bufs: [pkt] });
      emit({ event: 'write', ok: true });
    } catch (e) {
      emit({ event: 'write', ok: false, code: isMasqueError(e) ? e.code : String(e) });
    }
  }
  if (cmd.cmd === 'close') {
    await applied.restore();
    tun.close();
    rl.close();
    process.stdin.destroy(); // the last handle: the process now exits on its own
    emit({ event: 'closed' });
  }
});
