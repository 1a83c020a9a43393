/**
 * cli/output.ts: the error line's colour follows the TTY, NO_COLOR and `--no-color` (which
 * used to be ignored on stderr: only stdout's colour honoured it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Output } from '../../../cli/output.js';
import { CliError, EXIT } from '../../../cli/exit-codes.js';

/** A stream that records what is written; `isTTY` as given. */
function fakeStream(isTTY: boolean): NodeJS.WriteStream & { text: () => string } {
  let buf = '';
  return { isTTY, write: (s: string) => ((buf += s), true), text: () => buf } as unknown as NodeJS.WriteStream & { text: () => string };
}

test('error lines are coloured on a TTY stderr, never with --no-color or NO_COLOR', () => {
  const saved = process.env.NO_COLOR;
  delete process.env.NO_COLOR;
  try {
    const err = new CliError('ERR_USAGE', 'bad', EXIT.USAGE);
    const line = (color: boolean | undefined): string => {
      const stderr = fakeStream(true);
      const out = new Output({ color, stdout: fakeStream(true), stderr });
      out.error(err);
      out.warn('careful');
      return stderr.text();
    };
    assert.match(line(undefined), /\x1b\[31mERR_USAGE\x1b\[0m/);
    assert.equal(line(false), 'relay-cli: ERR_USAGE: bad\nrelay-cli: warning: careful\n');
    process.env.NO_COLOR = '1';
    assert.equal(line(undefined), 'relay-cli: ERR_USAGE: bad\nrelay-cli: warning: careful\n');
  } finally {
    if (saved === undefined) delete process.env.NO_COLOR;
    else process.env.NO_COLOR = saved;
  }
});
