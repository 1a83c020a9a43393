#!/usr/bin/env node
/**
 * relay-cli entry point: parse, run one command, map any error to a one-line message and a
 * documented exit code (cli/exit-codes.ts). Nothing else in cli/ calls process.exit except
 * the long-running commands' signal handlers.
 */
import './v8-flags.js'; // first: applies to every function created after it
import { CommanderError } from 'commander';
import { buildProgram } from './program.js';
import { CliError, EXIT, exitCodeFor } from './exit-codes.js';
import { Output, oneLine } from './output.js';

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return EXIT.OK;
  } catch (e) {
    const isVerbose = argv.includes('--verbose') || argv.includes('-v');
    const out = new Output({ isVerbose, color: argv.includes('--no-color') ? false : undefined });
    if (e instanceof CommanderError) {
      // --help / --version print and exit 0; help shown for a missing command is a usage error.
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return EXIT.OK;
      // `relay-cli help [command]` asked for help (exitCode 0); commander uses the same code
      // with exitCode 1 for the help it prints when a command is missing or unknown.
      if (e.code === 'commander.help') return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
      if (e.code === 'commander.executeSubCommandAsync') return EXIT.USAGE;
      out.error(new CliError('ERR_USAGE', `${oneLine(e.message.replace(/^error: /, ''))} (see relay-cli --help)`, EXIT.USAGE));
      return EXIT.USAGE;
    }
    out.error(e);
    return exitCodeFor(e);
  }
}

// Long-running commands (daemon, serve, status --watch) resolve when they are done, so the
// exit code is set only after their cleanup ran. A failed command exits at once: whatever it
// opened before failing (e.g. `serve` whose bind failed after the egress TUN was set up) must
// not keep a dead process alive. stdout/stderr are synchronous for files and pipes on Linux.
main(process.argv).then(
  (code) => {
    if (code !== EXIT.OK) process.exit(code);
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e);
    process.exitCode = EXIT.FAILURE;
  },
);
