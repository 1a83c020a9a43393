/**
 * The commander tree of relay-cli. Built by a function so that `completion` and the tests can
 * walk it. Commands live one per file in cli/commands/ and import only control/client,
 * control/schema, log/ and, lazily inside their actions, config/ identity/ and the engines.
 */
import { Command } from 'commander';
import { CLI_VERSION } from './context.js';
import { EXIT_CODE_HELP } from './exit-codes.js';
import * as keys from './commands/keys.js';
import * as serve from './commands/serve.js';
import * as daemon from './commands/daemon.js';
import * as connect from './commands/connect.js';
import * as disconnect from './commands/disconnect.js';
import * as status from './commands/status.js';
import * as relays from './commands/relays.js';
import * as config from './commands/config.js';
import * as version from './commands/version.js';
import * as completion from './commands/completion.js';

/**
 * A fresh program. `writeErr` receives commander's own messages (help on stderr); usage
 * errors are thrown (exitOverride) and printed by main as one line.
 */
export function buildProgram(): Command {
  const program = new Command('relay-cli');
  program
    .description('MASQUE VPN: relays, the tunnel daemon and its control')
    .version(CLI_VERSION, '-V, --version', 'print the version')
    .option('--socket <path>', 'control socket (default: $MASQUE_SOCKET or /run/masque/daemon.sock)')
    .option('-v, --verbose', 'show stack traces on errors')
    .option('--no-color', 'never colour output (colour is used only on a TTY)')
    .exitOverride()
    .configureOutput({ outputError: () => {} })
    .showSuggestionAfterError(true);
  for (const m of [keys, serve, daemon, connect, disconnect, status, relays, config, version, completion]) m.register(program);
  program.addHelpText(
    'after',
    `
Examples:
  $ relay-cli config init --client && sudo relay-cli daemon --config client.toml
  $ relay-cli connect && relay-cli status
  $ relay-cli keygen | tee device.key | relay-cli pubkey
  $ relay-cli serve --role both --listen 127.0.0.1:4433

Exit codes:
${EXIT_CODE_HELP.map(([c, d]) => `  ${String(c).padStart(3)}  ${d}`).join('\n')}

Reference: docs/cli.md`,
  );
  return program;
}
