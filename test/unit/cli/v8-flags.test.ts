/**
 * cli/v8-flags.ts: a function created after importing it has a feedback vector after its first
 * call; with MASQUE_EAGER_FEEDBACK=0 it has none yet (V8's lazy default). Read from V8's own
 * %DebugPrint in a child process with natives syntax.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const MODULE = new URL('../../../cli/v8-flags.js', import.meta.url).href;

/** %DebugPrint's feedback-vector line for a function called once after importing the module. */
function feedbackLine(env: NodeJS.ProcessEnv): string {
  const code = `
    await import(${JSON.stringify(MODULE)});
    const handler = new Function('o', 'return o.x');
    handler({ x: 1 });
    %DebugPrint(handler);`;
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', code],
    { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  const line = /- feedback vector: .*/.exec(r.stdout)?.[0];
  assert.ok(line, `no feedback-vector line in %DebugPrint output:\n${r.stdout.slice(0, 2000)}`);
  return line;
}

test('with the module a function has its feedback vector after one call; MASQUE_EAGER_FEEDBACK=0 keeps it lazy', () => {
  assert.doesNotMatch(feedbackLine({ MASQUE_EAGER_FEEDBACK: undefined }), /No feedback vector/);
  assert.match(feedbackLine({ MASQUE_EAGER_FEEDBACK: '0' }), /No feedback vector/);
});
