/**
 * Turns `npm run bench` JSON lines into an SVG bar chart (TCP and UDP Mbit/s per path, RTT
 * loaded as a label): `node dist/bench/vpn/chart.js results.jsonl > docs/benchmarks.svg`.
 * No dependencies: the chart is plain SVG text.
 */
import { readFileSync } from 'node:fs';

interface Row {
  path: string;
  tcpMbps?: number;
  udpMbps?: number;
  rttMs?: number;
  rttLoadedMs?: number;
}

const all: Row[] = readFileSync(process.argv[2], 'utf8')
  .split('\n')
  .filter((l) => l.startsWith('{"path"'))
  .map((l) => JSON.parse(l) as Row)
  .filter((r) => typeof r.tcpMbps === 'number');
// Plain routing is two orders of magnitude faster than any tunnel: named in the title, not drawn.
const plain = all.find((r) => r.path === 'plain');
const rows = all.filter((r) => r.path !== 'plain');

const W = 760;
const barH = 14;
const gap = 12;
// Room for the longest path name (about 7 px a character at 12 px sans-serif).
const left = Math.max(120, 16 + 7 * Math.max(...rows.map((r) => r.path.length)));
const max = Math.max(...rows.map((r) => Math.max(r.tcpMbps ?? 0, r.udpMbps ?? 0)), 1);
const scale = (W - left - 260) / max;
const H = 50 + rows.length * (2 * barH + gap) + 30;
const esc = (s: string) => s.replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]!);
const out: string[] = [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
  `<rect width="${W}" height="${H}" fill="white"/>`,
  `<text x="${left}" y="20" font-size="14" font-weight="bold">Tunnel throughput through the testbed (Mbit/s, same run)${plain ? ` — plain routing: ${plain.tcpMbps?.toFixed(0)} TCP` : ''}</text>`,
  `<rect x="${left}" y="28" width="10" height="10" fill="#2b6cb0"/><text x="${left + 14}" y="37">TCP (iperf3, 1 stream)</text>`,
  `<rect x="${left + 170}" y="28" width="10" height="10" fill="#9ac1e6"/><text x="${left + 184}" y="37">UDP goodput</text>`,
];
rows.forEach((r, i) => {
  const y = 50 + i * (2 * barH + gap);
  const tcp = r.tcpMbps ?? 0;
  const udp = r.udpMbps ?? 0;
  out.push(`<text x="${left - 8}" y="${y + barH + 4}" text-anchor="end">${esc(r.path)}</text>`);
  out.push(`<rect x="${left}" y="${y}" width="${(tcp * scale).toFixed(1)}" height="${barH}" fill="#2b6cb0"/>`);
  out.push(`<text x="${left + tcp * scale + 4}" y="${y + barH - 3}">${tcp.toFixed(0)}${r.rttLoadedMs !== undefined ? ` · RTT ${r.rttMs?.toFixed(2)} / ${r.rttLoadedMs.toFixed(1)} ms loaded` : ''}</text>`);
  out.push(`<rect x="${left}" y="${y + barH}" width="${(udp * scale).toFixed(1)}" height="${barH}" fill="#9ac1e6"/>`);
  out.push(`<text x="${left + udp * scale + 4}" y="${y + 2 * barH - 3}">${udp.toFixed(0)}</text>`);
});
out.push('</svg>');
process.stdout.write(out.join('\n') + '\n');
