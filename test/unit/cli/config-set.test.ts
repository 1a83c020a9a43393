// cli/commands/config.ts parseSetPairs: `relay-cli config set` arguments → the PATCH body the
// daemon validates. Every key must reach it, "__proto__" included (the daemon refuses it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSetPairs } from '../../../cli/commands/config.js';

test('config set: JSON or plain-string values; __proto__ stays an own key; no "=" is a usage error', () => {
  const p = parseSetPairs(['killSwitch=true', 'dns={"servers":["9.9.9.9"]}', 'relay=home', '__proto__=1']);
  assert.equal(p.killSwitch, true);
  assert.deepEqual(p.dns, { servers: ['9.9.9.9'] });
  assert.equal(p.relay, 'home');
  assert.ok(Object.hasOwn(p, '__proto__'));
  assert.equal(JSON.stringify(p), '{"killSwitch":true,"dns":{"servers":["9.9.9.9"]},"relay":"home","__proto__":1}');
  assert.throws(() => parseSetPairs(['killSwitch']), { code: 'ERR_USAGE' });
  assert.throws(() => parseSetPairs(['=1']), { code: 'ERR_USAGE' });
});
