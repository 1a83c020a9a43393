import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startHarness, type Harness } from '../../helpers/control-harness.js';
import { API_VERSION, ROUTES } from '../../../src/control/schema.js';
import { ControlError } from '../../../src/control/errors.js';

/** A raw request, to see statuses and headers the client hides. */
function raw(socketPath: string, method: string, path: string, body?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('control routes', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close();
  });

  test('GET /v0/status: disconnected, zero stats, daemon info', async () => {
    const s = await h.client().status();
    assert.deepEqual(s.state, { state: 'disconnected' });
    assert.equal(s.stats.bytesUp, 0);
    assert.equal(s.stats.uptimeMs, null);
    assert.equal(s.daemon.apiVersion, API_VERSION);
    assert.equal(s.daemon.version, '0.0.0-test');
    assert.equal(s.daemon.pid, process.pid);
  });

  test('GET /v0/version', async () => {
    assert.deepEqual(await h.client().version(), { version: '0.0.0-test', apiVersion: API_VERSION });
  });

  test('POST /v0/connect, then connected; stats; POST /v0/disconnect', async () => {
    const c = h.client();
    const r = await c.connect({ ingress: 'in-1' });
    assert.equal(r.state.state, 'connecting');
    assert.ok(h.backend.calls.includes('connect {"ingress":"in-1"}'));
    for (let i = 0; i < 50 && (await c.status()).state.state !== 'connected'; i++) await new Promise((r) => setTimeout(r, 5));
    const s = await c.status();
    assert.equal(s.state.state, 'connected');
    const st = await c.stats();
    assert.equal(st.rttMs, 23.4);
    assert.equal(st.bytesDown, 64_000);
    assert.equal(typeof st.uptimeMs, 'number');
    const d = await c.disconnect();
    assert.deepEqual(d.state, { state: 'disconnected' });
  });

  test('GET /v0/relays returns latency per relay', async () => {
    const relays = await h.client().relays();
    assert.equal(relays.length, 2);
    assert.equal(relays[0]!.latencyMs, 12.5);
    assert.equal(relays[1]!.errorCode, 'ERR_PROBE_TIMEOUT');
  });

  test('GET /v0/config redacts secrets; PATCH applies', async () => {
    const c = h.client();
    const cfg = await c.getConfig();
    assert.equal(cfg.privateKey, '<redacted>');
    assert.equal((cfg.proxy as Record<string, unknown>).authorization, '<redacted>');
    assert.equal((cfg.proxy as Record<string, unknown>).template, 'https://p.example:443/.well-known/masque/ip/{target}/{ipproto}/');
    const after = await c.setConfig({ killSwitch: true });
    assert.equal(after.killSwitch, true);
    assert.equal(after.privateKey, '<redacted>');
  });

  test('backend errors keep their code; config errors are 400', async () => {
    const c = h.client();
    await assert.rejects(c.setConfig({ killSwitch: 'yes' }), (e: ControlError) => e.code === 'ERR_CONFIG_INVALID' && e.httpStatus === 400);
    await assert.rejects(c.connect({ relay: 'nope' }), (e: ControlError) => e.code === 'ERR_CONFIG_UNKNOWN_RELAY' && e.httpStatus === 400);
  });

  test('errors are JSON {error:{code,message}} with HTTP statuses and the version header', async () => {
    const cases: [string, string, string | undefined, number, string][] = [
      ['GET', '/v0/nope', undefined, 404, 'ERR_CONTROL_NOT_FOUND'],
      ['DELETE', '/v0/status', undefined, 405, 'ERR_CONTROL_METHOD_NOT_ALLOWED'],
      ['POST', '/v0/connect', '{not json', 400, 'ERR_CONTROL_BAD_REQUEST'],
      ['POST', '/v0/connect', '[1]', 400, 'ERR_CONTROL_BAD_REQUEST'],
      ['POST', '/v0/connect', '{"hops":3}', 400, 'ERR_CONTROL_BAD_REQUEST'],
      ['POST', '/v0/connect', JSON.stringify({ x: 'a'.repeat(70_000) }), 413, 'ERR_CONTROL_BODY_TOO_LARGE'],
    ];
    for (const [m, p, body, status, code] of cases) {
      const r = await raw(h.socketPath, m, p, body);
      assert.equal(r.status, status, `${m} ${p}`);
      assert.equal(r.headers['masque-version'], API_VERSION);
      assert.match(String(r.headers['content-type']), /application\/json/);
      const parsed = JSON.parse(r.text) as { error: { code: string; message: string } };
      assert.equal(parsed.error.code, code);
      assert.equal(typeof parsed.error.message, 'string');
    }
    assert.equal((await raw(h.socketPath, 'DELETE', '/v0/status')).headers.allow, 'GET');
  });

  test('every route in the table answers with the version header', async () => {
    for (const key of Object.keys(ROUTES)) {
      if (key === 'GET /v0/events') continue; // a stream: covered in events.test
      const [m, p] = key.split(' ') as [string, string];
      const r = await raw(h.socketPath, m, p, m === 'GET' ? undefined : '{}');
      assert.equal(r.headers['masque-version'], API_VERSION, key);
      assert.ok(r.status < 500, `${key} → ${r.status}`);
    }
  });

  test('client rebuilds a ControlError from an error body', async () => {
    // The client has no method for an unknown route; go through connect with a bad relay.
    const e = await h.client().connect({ relay: 'nope' }).catch((x: unknown) => x);
    assert.ok(e instanceof ControlError);
    assert.equal(e.code, 'ERR_CONFIG_UNKNOWN_RELAY');
  });
});
