import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness } from '../../helpers/control-harness.js';

test('a client of another API version warns once, and still works', async () => {
  const h = await startHarness();
  try {
    const warnings: string[] = [];
    const c = h.client({ apiVersion: '9.9', onWarning: (w) => warnings.push(w) });
    await c.status();
    await c.stats();
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /9\.9/);
    const same: string[] = [];
    await h.client({ onWarning: (w) => same.push(w) }).status();
    assert.deepEqual(same, []);
  } finally {
    await h.close();
  }
});
