/**
 * Smoke run of `npm run demo` (issue 9: CI runs it, the full benchmark stays manual): the
 * whole chain comes up, a page is fetched, pings are answered, and the report shows the
 * privacy split held.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const DEMO = fileURLToPath(new URL('../../tools/demo.js', import.meta.url));

test('npm run demo (quick) succeeds and reports the privacy split', () => {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [DEMO, '--quick'], { encoding: 'utf8', timeout: 90_000 });
  const out = r.stdout + r.stderr;
  assert.equal(r.status, 0, out);
  assert.match(out, /GET http:\/\/10\.99\.3\.2\/ → <h1>hello through masque-relay<\/h1>/);
  assert.match(out, /ping 10\.99\.3\.2: 5\/5 replies/);
  const again = /ping 10\.99\.3\.2 again: (\d+)\/20 replies/.exec(out);
  assert.ok(again && Number(again[1]) >= 19, `pings after the transfer answered: ${again?.[0]}`);
  assert.match(out, /RTT\s+[\d.]+ ms in use \([\d.]+ ms for the first pings after connect\)/);
  assert.match(out, /privacy split\s+ingress saw the server: no; egress saw the client: no/);
  assert.match(out, /Mbit\/s/);
  assert.ok(Date.now() - t0 < 60_000, `finished in ${Date.now() - t0} ms (under a minute)`);
});

test('npm run demo without root explains why and exits non-zero', () => {
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, DEMO], { encoding: 'utf8', timeout: 30_000 });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /needs root/);
});
