/**
 * What every command needs: the package version, an Output built from the global flags
 * (`--verbose`, `--no-color`) and the command's `--json`, a ControlClient for `--socket` /
 * MASQUE_SOCKET, and the help-text helpers.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ControlClient, defaultSocketPath } from '../src/control/client.js';
import { CliError, EXIT } from './exit-codes.js';
import { Output } from './output.js';

/** The package version (from package.json beside dist/). */
export const CLI_VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

interface GlobalOpts {
  socket?: string;
  verbose?: boolean;
  color?: boolean;
  json?: boolean;
}

/** Output for a command, honouring its `--json` and the global flags. */
export function outputFor(cmd: Command): Output {
  const o = cmd.optsWithGlobals<GlobalOpts>();
  return new Output({ isJson: o.json === true, isVerbose: o.verbose === true, color: o.color });
}

/** The socket path chosen by `--socket`, env MASQUE_SOCKET, or the default. */
export function socketPathFor(cmd: Command): string {
  const socket = cmd.optsWithGlobals<GlobalOpts>().socket ?? defaultSocketPath();
  // An empty --socket is a mistake, not a path: it read "no socket at  (…)".
  if (socket === '') throw new CliError('ERR_USAGE', '--socket is empty: give the control socket path', EXIT.USAGE);
  return socket;
}

/** A control client for the chosen socket; version mismatches become warnings on stderr. */
export function clientFor(cmd: Command, out: Output): ControlClient {
  return new ControlClient({ socketPath: socketPathFor(cmd), onWarning: (w) => out.warn(w) });
}

/** Append an "Examples:" block to a command's help. */
export function examples(cmd: Command, lines: string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => (l.startsWith('#') ? `  ${l}` : `  $ ${l}`)).join('\n')}\n`);
}

/** Collect a repeatable option's values into a list (`--allow-target A --allow-target B`). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
