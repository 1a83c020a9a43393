/**
 * tcpdump in one testbed namespace, for "what left on this link" assertions.
 * stop() waits for late packets, ends tcpdump with SIGINT and returns its header lines.
 */
import type { ChildProcess } from 'node:child_process';
import type { Testbed } from './testbed.js';
import type { Host } from './testbed-net.js';

export function capture(tb: Testbed, host: Host, filter: string[] = [], iface = 'any'): { stop(): Promise<string> } {
  const p: ChildProcess = tb.spawn(host, 'tcpdump', ['-i', iface, '-n', '-l', '-q', ...filter], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  p.stdout!.on('data', (d) => (out += d));
  return {
    async stop() {
      await new Promise((r) => setTimeout(r, 200));
      p.kill('SIGINT');
      await new Promise((r) => setTimeout(r, 200));
      return out;
    },
  };
}
