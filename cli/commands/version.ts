/** `version`: this CLI's version and control API version, plus the daemon's when reachable. */
import type { Command } from 'commander';
import { API_VERSION } from '../../src/control/schema.js';
import { isMasqueError } from '../../src/core/errors.js';
import { CLI_VERSION, clientFor, examples, outputFor } from '../context.js';

export function register(program: Command): void {
  examples(
    program
      .command('version')
      .description('print the CLI version and, if reachable, the daemon version')
      .option('--json', 'print JSON')
      .action(async (_opts, cmd: Command) => {
        const out = outputFor(cmd);
        let daemon: { version: string; apiVersion: string } | { error: string } = { error: 'not checked' };
        try {
          daemon = await clientFor(cmd, out).version();
        } catch (e) {
          // The version command must work without a daemon: report, do not fail.
          daemon = { error: isMasqueError(e) ? e.code : String(e) };
        }
        if (out.isJson) {
          out.json({ cli: { version: CLI_VERSION, apiVersion: API_VERSION }, daemon });
          return;
        }
        out.line(`relay-cli ${CLI_VERSION} (control API ${API_VERSION})`);
        out.line('error' in daemon ? `daemon    not reachable (${daemon.error})` : `daemon    ${daemon.version} (control API ${daemon.apiVersion})`);
      }),
    ['relay-cli version', 'relay-cli version --json'],
  );
}
