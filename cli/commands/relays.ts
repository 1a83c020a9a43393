/** `relays`: the configured relays with a measured handshake latency each (probed by the daemon). */
import type { Command } from 'commander';
import { clientFor, examples, outputFor } from '../context.js';

export function register(program: Command): void {
  examples(
    program
      .command('relays')
      .description('list the configured relays with their measured handshake latency')
      .option('--json', 'print JSON')
      .action(async (_opts, cmd: Command) => {
        const out = outputFor(cmd);
        const relays = await clientFor(cmd, out).relays();
        if (out.isJson) {
          out.json({ relays });
          return;
        }
        if (relays.length === 0) {
          out.line('no relays configured');
          return;
        }
        const w = Math.max(4, ...relays.map((r) => r.name.length));
        const a = Math.max(7, ...relays.map((r) => r.address.length));
        out.line(`${'NAME'.padEnd(w)}  ${'ROLE'.padEnd(7)}  ${'ADDRESS'.padEnd(a)}  LATENCY`);
        for (const r of relays) {
          const lat = r.latencyMs === null ? out.paint('red', `unreachable${r.errorCode ? ` (${r.errorCode})` : ''}`) : `${r.latencyMs.toFixed(1)} ms`;
          out.line(`${r.name.padEnd(w)}  ${r.role.padEnd(7)}  ${r.address.padEnd(a)}  ${lat}`);
        }
      }),
    ['relay-cli relays', 'relay-cli relays --json'],
  );
}
