import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness } from '../../helpers/control-harness.js';
import type { ControlEvent, TunnelState } from '../../../src/control/schema.js';

test('events stream: snapshot first, then every state change in order', async () => {
  const h = await startHarness({ stepMs: 2 });
  try {
    const c = h.client();
    const stream = await c.events();
    await c.connect({});
    const seen: TunnelState[] = [];
    for await (const ev of stream) {
      assert.equal(ev.type, 'state');
      if (ev.type === 'state') seen.push(ev.state);
      if (ev.type === 'state' && ev.state.state === 'connected') break;
    }
    assert.deepEqual(
      seen.map((s) => (s.state === 'connecting' ? `connecting:${s.stage}` : s.state)),
      ['disconnected', 'connecting:resolving', 'connecting:connecting-ingress', 'connecting:connecting-egress', 'connecting:assigning-address', 'connected'],
    );
  } finally {
    await h.close();
  }
});

test('events stream: error state carries a code', async () => {
  const h = await startHarness({ failWith: { code: 'ERR_TUNNEL_HANDSHAKE', message: 'egress refused the handshake' } });
  try {
    const c = h.client();
    const stream = await c.events();
    await c.connect({});
    let last: TunnelState | undefined;
    for await (const ev of stream) {
      if (ev.type !== 'state') continue;
      last = ev.state;
      if (ev.state.state === 'error') break;
    }
    assert.deepEqual(last, { state: 'error', code: 'ERR_TUNNEL_HANDSHAKE', message: 'egress refused the handshake' });
  } finally {
    await h.close();
  }
});

test('events stream: stats ticks and log lines on request only', async () => {
  const h = await startHarness();
  try {
    const c = h.client();
    const plain = await c.events();
    const rich = await c.events({ statsIntervalMs: 100, logs: true });
    h.backend.emitLog('hello from the engine');
    h.server.publish({ level: 'warn', msg: 'from the daemon', mod: 'daemon' });
    const got: ControlEvent[] = [];
    for await (const ev of rich) {
      got.push(ev);
      if (ev.type === 'stats') break;
    }
    assert.deepEqual(got.map((e) => e.type), ['state', 'log', 'log', 'stats']);
    assert.equal(got[1]!.type === 'log' && got[1]!.log.msg, 'hello from the engine');
    h.backend.setState({ state: 'reconnecting', attempt: 2, stage: 'connecting-egress' });
    const plainSeen: ControlEvent[] = [];
    for await (const ev of plain) {
      plainSeen.push(ev);
      if (plainSeen.length === 2) break;
    }
    assert.deepEqual(plainSeen.map((e) => e.type), ['state', 'state']);
    assert.deepEqual(plainSeen[1]!.type === 'state' && plainSeen[1]!.state, { state: 'reconnecting', attempt: 2, stage: 'connecting-egress' });
  } finally {
    await h.close();
  }
});

test('server close ends open streams', async () => {
  const h = await startHarness();
  const stream = await h.client().events();
  const it = stream[Symbol.asyncIterator]();
  assert.equal((await it.next()).done, false);
  await h.close();
  assert.equal((await it.next()).done, true);
});
