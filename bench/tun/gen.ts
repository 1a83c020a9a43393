/**
 * Benchmark child: the load generator. Writes UDP segments 10.98.0.2 → 10.99.0.2 into `bg0`
 * as fast as it can; the namespace forwards them out of `bt0` to the device under test, and
 * echoed packets come back through bg0 and are counted. Commands (JSON lines on stdin):
 * {"cmd":"start"|"stop"|"sample"|"close"}.
 *
 * Why GSO: one write per packet tops out near the rate a reader can take (and on a VM every
 * wake-up of the sleeping reader costs the writer an IPI), so the generator would measure
 * itself. bg0 is opened with IFF_VNET_HDR and each write carries one UDP GSO super-packet
 * (virtio_net_hdr gso_type UDP_L4) that the kernel splits into `SEGMENTS` packets of exactly
 * `PACKET_BYTES` on the way out of bt0 — bt0 itself is a plain TUN, like production.
 */
import { createInterface } from 'node:readline';
import { loadTunAddon } from '../../src/tun/linux.js';
import { configureInterface } from '../../src/tun/config.js';
import { setIpv4HeaderChecksum } from '../../src/wire/ip.js';
import { parseIpAddress } from '../../src/wire/ip-address.js';
import { pseudoHeaderSum } from '../../src/wire/checksum.js';

const PACKET_BYTES = Number(process.argv[2] ?? 1400);
const SEGMENTS = 40; // 40 × 1372 B payload + headers < 64 KiB
const VNET_HDR_BYTES = 10; // struct virtio_net_hdr (little-endian)
const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
const VIRTIO_NET_HDR_GSO_UDP_L4 = 5;

const emit = (e: Record<string, unknown>) => process.stdout.write(JSON.stringify(e) + '\n');
const addon = loadTunAddon();
const [fd, name] = addon.open('bg0', false, true);
const applied = await configureInterface({ name, addresses: ['10.98.0.1/24'], mtu: 1500 });

function gsoPacket(): Buffer {
  const payload = PACKET_BYTES - 28;
  const ipLen = 28 + SEGMENTS * payload;
  const buf = Buffer.alloc(VNET_HDR_BYTES + ipLen);
  buf.writeUInt8(VIRTIO_NET_HDR_F_NEEDS_CSUM, 0); // flags
  buf.writeUInt8(VIRTIO_NET_HDR_GSO_UDP_L4, 1); // gso_type
  buf.writeUInt16LE(28, 2); // hdr_len: IPv4 + UDP headers
  buf.writeUInt16LE(payload, 4); // gso_size: UDP payload per segment
  buf.writeUInt16LE(20, 6); // csum_start: the UDP header
  buf.writeUInt16LE(6, 8); // csum_offset: UDP checksum field
  const p = buf.subarray(VNET_HDR_BYTES);
  p[0] = 0x45; // IPv4, IHL 5
  p.writeUInt16BE(ipLen, 2); // total length of the super-packet
  p[8] = 64; // TTL
  p[9] = 17; // UDP
  p.set(parseIpAddress('10.98.0.2')!, 12);
  p.set(parseIpAddress('10.99.0.2')!, 16);
  setIpv4HeaderChecksum(p);
  p.writeUInt16BE(40000, 20); // source port
  p.writeUInt16BE(40001, 22); // destination port
  p.writeUInt16BE(ipLen - 20, 24); // UDP length
  // CHECKSUM_PARTIAL: the field holds the (uninverted) pseudo-header sum; the kernel adds
  // the rest per segment.
  p.writeUInt16BE(pseudoHeaderSum(p, 0, 17, ipLen - 20), 26);
  return buf;
}
const bufs = [gsoPacket()];

let isRunning = false;
let written = 0;
let received = 0;
const rbuf = Buffer.allocUnsafeSlow(64 * 2048);
const poll = addon.pollStart(fd, rbuf, 2048, 0, new Int32Array(64), 64, (count) => {
  received += count;
});
function pump(): void {
  if (!isRunning) return;
  for (let i = 0; i < 16; i++) written += addon.write(fd, bufs, 0, 1, undefined) * SEGMENTS;
  setImmediate(pump); // yield so echoed packets are read too
}
emit({ event: 'ready' });

const rl = createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  const cmd = JSON.parse(line) as { cmd: string };
  if (cmd.cmd === 'start' && !isRunning) {
    isRunning = true;
    setImmediate(pump);
  }
  if (cmd.cmd === 'stop') isRunning = false;
  if (cmd.cmd === 'sample') emit({ event: 'sample', t: performance.now(), written, received });
  if (cmd.cmd === 'close') {
    isRunning = false;
    await applied.restore();
    addon.pollClose(poll);
    addon.close(fd);
    rl.close();
    process.stdin.destroy();
  }
});
