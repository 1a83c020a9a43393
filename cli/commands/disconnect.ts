/** `disconnect`: through the daemon (Tailscale's `down`: one call, print the result). */
import type { Command } from 'commander';
import { clientFor, examples, outputFor } from '../context.js';
import { describeState } from '../progress.js';

export function register(program: Command): void {
  examples(
    program
      .command('disconnect')
      .description('tear the tunnel down (routes and DNS are restored)')
      .option('--json', 'print the resulting status as JSON')
      .action(async (_opts, cmd: Command) => {
        const out = outputFor(cmd);
        const s = await clientFor(cmd, out).disconnect();
        if (out.isJson) out.json(s);
        else out.line(describeState(s.state));
      }),
    ['relay-cli disconnect'],
  );
}
