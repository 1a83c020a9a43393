import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TRAY_COLORS, trayIconBitmap, trayView, type TrayIconKind } from '../../../app/electron/main/tray-state.js';
import type { DaemonStatus, TunnelState } from '../../../app/electron/shared/ipc-schema.js';

const ok: DaemonStatus = { state: 'ok', socketPath: '/run/masque/daemon.sock' };

test('tray view per TunnelState', () => {
  const cases: [TunnelState, TrayIconKind, RegExp, boolean][] = [
    [{ state: 'disconnected' }, 'disconnected', /^Disconnected$/, false],
    [{ state: 'connecting', stage: 'connecting-egress' }, 'connecting', /Connecting: reaching egress/, true],
    [{ state: 'reconnecting', attempt: 3, stage: 'resolving' }, 'connecting', /^Reconnecting \(attempt 3\): [^,]*$/, true],
    [{ state: 'reconnecting', attempt: 3, stage: 'resolving', blocked: true }, 'connecting', /Reconnecting \(attempt 3\): .*, traffic blocked/, true],
    [
      { state: 'connected', chain: [{ role: 'ingress', name: 'in-1', address: 'a:1' }, { role: 'egress', address: 'b:2' }], addresses: [], routes: [], since: new Date().toISOString() },
      'connected',
      /Connected via in-1 → b:2/,
      true,
    ],
    [{ state: 'error', code: 'ERR_X', message: 'boom' }, 'error', /Error: boom \(ERR_X\)/, false],
  ];
  for (const [tunnel, icon, status, isActive] of cases) {
    const v = trayView(ok, tunnel);
    assert.equal(v.icon, icon, tunnel.state);
    assert.match(v.status, status);
    assert.equal(v.isActive, isActive, tunnel.state);
    assert.equal(v.canToggle, true);
    assert.equal(v.tooltip, `masque VPN — ${v.status}`);
  }
});

test('a daemon problem wins over the last tunnel state and disables the toggle', () => {
  const connected: TunnelState = { state: 'connected', chain: [], addresses: [], routes: [], since: '' };
  for (const state of ['absent', 'denied', 'untrusted', 'failed'] as const) {
    const v = trayView({ state, socketPath: '/x' }, connected);
    assert.equal(v.icon, 'error', state);
    assert.equal(v.canToggle, false);
    assert.equal(v.isActive, false);
  }
  assert.match(trayView({ state: 'absent', socketPath: '/x' }, connected).status, /Daemon not running/);
  const starting = trayView({ state: 'starting', socketPath: '/x' }, { state: 'disconnected' });
  assert.equal(starting.icon, 'disconnected');
  assert.equal(starting.canToggle, false);
});

test('icon bitmaps: BGRA, the kind colour at the rim, transparent corners, four distinct looks', () => {
  const size = 22;
  const seen = new Set<string>();
  for (const kind of Object.keys(TRAY_COLORS) as TrayIconKind[]) {
    const bmp = trayIconBitmap(kind, size);
    assert.equal(bmp.length, size * size * 4);
    assert.equal(bmp[3], 0, 'corner pixel is transparent');
    // A pixel on the ring (left-middle, 2 px in) carries the colour, in B, G, R order.
    const i = (Math.floor(size / 2) * size + 2) * 4;
    const [r, g, b] = TRAY_COLORS[kind];
    assert.deepEqual([bmp[i], bmp[i + 1], bmp[i + 2]], [b, g, r]);
    assert.equal(bmp[i + 3], 255);
    seen.add(bmp.toString('base64'));
  }
  assert.equal(seen.size, 4);
  // Connecting is hollow in the middle: shape differs, not only colour.
  const centre = (Math.floor(size / 2) * size + Math.floor(size / 2)) * 4 + 3;
  assert.equal(trayIconBitmap('connecting', size)[centre], 0);
  assert.equal(trayIconBitmap('connected', size)[centre], 255);
});
