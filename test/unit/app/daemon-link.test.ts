import assert from 'node:assert/strict';
import { chownSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DaemonLink, LINK_ERROR_CODES, classifyDaemonError, settingsFromConfig, toSample, type LinkEvent } from '../../../app/electron/main/daemon-link.js';
import { ControlClient } from '../../../src/control/client.js';
import { CONTROL_CODES } from '../../../src/control/errors.js';
import { emptyStats } from '../../../src/control/schema.js';
import { startHarness } from '../../helpers/control-harness.js';

/** Resolve when the link emits an event matching `pred`. */
function waitFor(link: DaemonLink, pred: (ev: LinkEvent) => boolean, timeoutMs = 5000): Promise<LinkEvent> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout waiting for link event')), timeoutMs);
    const off = link.onEvent((ev) => {
      if (!pred(ev)) return;
      clearTimeout(t);
      off();
      resolve(ev);
    });
  });
}

test('the codes the link matches are the control layer\'s codes', () => {
  for (const [k, v] of Object.entries(LINK_ERROR_CODES)) assert.equal(v, CONTROL_CODES[k as keyof typeof CONTROL_CODES]);
});

test('toSample: bits per second from byte deltas; counter reset restarts at 0', () => {
  const s = (down: number, up = 0) => ({ ...emptyStats(), bytesDown: down, bytesUp: up, rttMs: 10 });
  assert.equal(toSample(null, 1000, s(500)).downBps, 0);
  const x = toSample({ t: 1000, stats: s(0, 0) }, 2000, s(125_000, 1250));
  assert.deepEqual([x.downBps, x.upBps, x.rttMs, x.bytesDown], [1_000_000, 10_000, 10, 125_000]);
  assert.equal(toSample({ t: 1000, stats: s(9999) }, 2000, s(10)).downBps, 0);
});

test('settingsFromConfig reads the camelCase config and tolerates junk', () => {
  const s = settingsFromConfig({ chain: 'single-hop', killSwitch: true, dns: { servers: ['1.1.1.1', 7] }, routing: { mode: 'split', include: ['10.0.0.0/8'] } }, true);
  assert.deepEqual(s, { chain: 'single-hop', ingress: null, egress: null, killSwitch: true, dns: ['1.1.1.1'], routing: { mode: 'split', include: ['10.0.0.0/8'], exclude: [] }, startAtLogin: true });
  assert.equal(settingsFromConfig({}, false).chain, 'two-hop');
});

test('follows state through the event stream: connect → connecting → connected, stats and logs', async () => {
  const h = await startHarness({ stepMs: 5 });
  const link = new DaemonLink({ client: h.client(), statsIntervalMs: 100 });
  try {
    const ok = waitFor(link, (e) => e.type === 'daemon' && e.daemon.state === 'ok');
    link.start();
    await ok;
    await waitFor(link, (e) => e.type === 'settings');
    const connecting = waitFor(link, (e) => e.type === 'tunnel' && e.tunnel.state === 'connecting');
    const connected = waitFor(link, (e) => e.type === 'tunnel' && e.tunnel.state === 'connected');
    await link.connect();
    await connecting;
    await connected;
    assert.equal(link.snapshot().tunnel.state, 'connected');
    const stats = await waitFor(link, (e) => e.type === 'stats' && e.sample.bytesDown > 0);
    assert.equal(stats.type === 'stats' && stats.sample.rttMs, 23.4);
    h.backend.emitLog('hello');
    await waitFor(link, (e) => e.type === 'log' && e.entry.msg === 'hello');
    const snap = link.snapshot();
    assert.ok(snap.history.length >= 1);
    assert.equal(snap.logs.at(-1)!.msg, 'hello');
    assert.equal(snap.settings!.ingress, 'in-1');
  } finally {
    await link.stop();
    await h.close();
  }
});

test('daemon absent: says how to start it; picks the daemon up when it appears', async () => {
  const h = await startHarness();
  const socketPath = h.socketPath;
  await h.server.close(); // the socket file is gone: no daemon
  const link = new DaemonLink({ client: new ControlClient({ socketPath }), retryMs: 50, maxRetryMs: 50 });
  try {
    const absent = waitFor(link, (e) => e.type === 'daemon' && e.daemon.state === 'absent');
    link.start();
    const ev = await absent;
    assert.ok(ev.type === 'daemon');
    assert.match(ev.daemon.message!, /not running/);
    assert.match(ev.daemon.hint!, /sudo relay-cli daemon/);
    assert.equal(link.snapshot().daemon.state, 'absent');
    // A daemon starts on the same path: the link retries and follows it.
    const { ControlServer } = await import('../../../src/control/server.js');
    const { silentLogger } = await import('../../../src/log/logger.js');
    const server = new ControlServer({ backend: h.backend, log: silentLogger() });
    await server.listen({ path: socketPath, group: null });
    try {
      await waitFor(link, (e) => e.type === 'daemon' && e.daemon.state === 'ok');
    } finally {
      await link.stop();
      await server.close();
    }
  } finally {
    await link.stop();
    await h.close();
  }
});

test('a socket owned by another user is refused (verifyOwnership), and the UI is told why', { skip: process.getuid?.() !== 0 ? 'needs root to chown the socket' : false }, async () => {
  const h = await startHarness();
  chownSync(h.socketPath, 4242, 4242);
  const link = new DaemonLink({ client: h.client(), retryMs: 10_000 });
  try {
    const ev = waitFor(link, (e) => e.type === 'daemon' && e.daemon.state !== 'starting');
    link.start();
    const d = await ev;
    assert.ok(d.type === 'daemon');
    assert.equal(d.daemon.state, 'untrusted');
    assert.match(d.daemon.message!, /owned by uid 4242/);
    assert.equal(h.backend.calls.length, 0, 'nothing was sent to the impostor');
  } finally {
    await link.stop();
    await h.close();
  }
});

test('classifyDaemonError maps each refusal to what the user should do', () => {
  const err = (code: string) => Object.assign(new Error('m'), { code });
  const sock = path.join('/run/masque', 'daemon.sock');
  assert.equal(classifyDaemonError(err(CONTROL_CODES.PERMISSION_DENIED), sock).state, 'denied');
  assert.match(classifyDaemonError(err(CONTROL_CODES.PERMISSION_DENIED), sock).hint!, /group/);
  assert.equal(classifyDaemonError(err(CONTROL_CODES.SOCKET_OWNER), sock).state, 'untrusted');
  assert.equal(classifyDaemonError(err(CONTROL_CODES.NOT_A_SOCKET), sock).state, 'absent');
  assert.equal(classifyDaemonError(new Error('weird'), sock).state, 'failed');
});
