import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildTrayMenu, findMenuItem, relaysFor, type MenuActions } from '../../../app/electron/main/menu.js';
import { trayView } from '../../../app/electron/main/tray-state.js';
import type { RelayInfo, Settings, TunnelState } from '../../../app/electron/shared/ipc-schema.js';

const relays: RelayInfo[] = [
  { name: 'in-1', address: 'a:1', role: 'ingress', publicKey: 'k', latencyMs: 12.4 },
  { name: 'in-2', address: 'a:2', role: 'both', publicKey: 'k', latencyMs: null, errorCode: 'ERR_PROBE_TIMEOUT' },
  { name: 'out-1', address: 'b:1', role: 'egress', publicKey: 'k', latencyMs: 40 },
];
const settings: Settings = { chain: 'two-hop', ingress: 'in-1', egress: 'out-1', killSwitch: false, dns: [], routing: { mode: 'full', include: [], exclude: [] }, startAtLogin: false };
const ok = { state: 'ok' as const, socketPath: '/s' };

function recorder(): { actions: MenuActions; log: string[] } {
  const log: string[] = [];
  return {
    log,
    actions: {
      connect: () => log.push('connect'),
      disconnect: () => log.push('disconnect'),
      chooseChain: (c) => log.push(`chain ${JSON.stringify(c)}`),
      openWindow: () => log.push('open'),
      quit: () => log.push('quit'),
    },
  };
}

test('disconnected: status line, Connect, chain, open, quit — and each item does its action', () => {
  const { actions, log } = recorder();
  const items = buildTrayMenu({ view: trayView(ok, { state: 'disconnected' }), relays, settings }, actions);
  assert.deepEqual(items.filter((i) => i.type !== 'separator').map((i) => i.id), ['status', 'toggle', 'chain', 'open', 'quit']);
  assert.equal(findMenuItem(items, 'status')!.enabled, false);
  const toggle = findMenuItem(items, 'toggle')!;
  assert.equal(toggle.label, 'Connect');
  toggle.click!();
  findMenuItem(items, 'open')!.click!();
  findMenuItem(items, 'quit')!.click!();
  assert.deepEqual(log, ['connect', 'open', 'quit']);
});

test('connected or connecting: the toggle disconnects', () => {
  const states: TunnelState[] = [{ state: 'connected', chain: [], addresses: [], routes: [], since: '' }, { state: 'connecting', stage: 'resolving' }];
  for (const tunnel of states) {
    const { actions, log } = recorder();
    const toggle = findMenuItem(buildTrayMenu({ view: trayView(ok, tunnel), relays, settings }, actions), 'toggle')!;
    assert.equal(toggle.label, 'Disconnect');
    toggle.click!();
    assert.deepEqual(log, ['disconnect']);
  }
});

test('chain submenu: radio items per hop, current choice checked, click saves the choice', () => {
  const { actions, log } = recorder();
  const items = buildTrayMenu({ view: trayView(ok, { state: 'disconnected' }), relays, settings }, actions);
  const chain = findMenuItem(items, 'chain')!;
  assert.equal(chain.enabled, true);
  assert.deepEqual(relaysFor(relays, 'ingress').map((r) => r.name), ['in-1', 'in-2']);
  assert.equal(findMenuItem(items, 'chain-ingress-in-1')!.checked, true);
  assert.equal(findMenuItem(items, 'chain-ingress-in-2')!.checked, false);
  assert.match(findMenuItem(items, 'chain-ingress-in-1')!.label!, /12 ms/);
  assert.match(findMenuItem(items, 'chain-ingress-in-2')!.label!, /unreachable/);
  assert.ok(findMenuItem(items, 'chain-egress-in-2'), 'a "both" relay fits the egress hop too');
  findMenuItem(items, 'chain-egress-in-2')!.click!();
  assert.deepEqual(log, ['chain {"egress":"in-2"}']);
});

test('chain submenu is disabled for single hop and before settings are known', () => {
  const { actions } = recorder();
  const v = trayView(ok, { state: 'disconnected' });
  assert.equal(findMenuItem(buildTrayMenu({ view: v, relays, settings: { ...settings, chain: 'single-hop' } }, actions), 'chain')!.enabled, false);
  assert.equal(findMenuItem(buildTrayMenu({ view: v, relays, settings: null }, actions), 'chain')!.enabled, false);
  const empty = buildTrayMenu({ view: v, relays: [], settings }, actions);
  assert.equal(findMenuItem(empty, 'chain-ingress-none')!.enabled, false);
});

test('daemon absent: toggle disabled and a "how to start" item that opens the window', () => {
  const { actions, log } = recorder();
  const items = buildTrayMenu({ view: trayView({ state: 'absent', socketPath: '/s' }, { state: 'disconnected' }), relays: [], settings: null }, actions);
  assert.equal(findMenuItem(items, 'toggle')!.enabled, false);
  assert.match(findMenuItem(items, 'status')!.label!, /Daemon not running/);
  findMenuItem(items, 'help')!.click!();
  assert.deepEqual(log, ['open']);
});
