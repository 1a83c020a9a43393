import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createAutostart } from '../../../app/electron/main/autostart.js';
import { DaemonLink } from '../../../app/electron/main/daemon-link.js';
import {
  configPatchFrom,
  createIpcHandlers,
  dispatchInvoke,
  invokeTyped,
  isCidr,
  isIpLiteral,
  registerIpcHandlers,
  validateConnectOptions,
  validateSettingsPatch,
} from '../../../app/electron/main/ipc-handlers.js';
import { isAppUrl } from '../../../app/electron/main/window.js';
import { channelsOfKind } from '../../../app/electron/shared/ipc-schema.js';
import { startHarness, type Harness } from '../../helpers/control-harness.js';
import { createElectronStub } from '../../helpers/app-electron-stub.js';

let h: Harness;
let link: DaemonLink;
let dir: string;
let handlers: ReturnType<typeof createIpcHandlers>;

before(async () => {
  h = await startHarness({ stepMs: 1 });
  dir = mkdtempSync(path.join(os.tmpdir(), 'masque-ipc-'));
  link = new DaemonLink({ client: h.client() });
  handlers = createIpcHandlers({ link, autostart: createAutostart(dir, ['/opt/masque/masque-app']) });
});
after(async () => {
  await link.stop();
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

test('address and CIDR checks', () => {
  for (const s of ['9.9.9.9', '2620:fe::fe', '::1']) assert.equal(isIpLiteral(s), true, s);
  for (const s of ['9.9.9', '256.1.1.1', 'dns.google', '', '1.1.1.1; rm']) assert.equal(isIpLiteral(s), false, s);
  for (const s of ['10.0.0.0/8', '::/0', 'fd00::/64']) assert.equal(isCidr(s), true, s);
  for (const s of ['10.0.0.0/33', '10.0.0.0', 'fd00::/129', 'x/8']) assert.equal(isCidr(s), false, s);
});

test('connect options: known keys only', () => {
  assert.deepEqual(validateConnectOptions(undefined), {});
  assert.deepEqual(validateConnectOptions({ ingress: 'in-1', singleHop: false }), { ingress: 'in-1', singleHop: false });
  for (const bad of [[], 'x', { ingress: '../etc' }, { singleHop: 'yes' }, { exec: 'rm -rf /' }]) {
    assert.throws(() => validateConnectOptions(bad), { code: 'ERR_IPC_INVALID_ARGUMENT' }, JSON.stringify(bad));
  }
});

test('settings patch validation and mapping to the daemon config', () => {
  const p = validateSettingsPatch({ killSwitch: true, dns: [' 1.1.1.1 '], routing: { mode: 'split', include: ['10.0.0.0/8'], exclude: [] } });
  assert.deepEqual(configPatchFrom(p), { killSwitch: true, routing: { mode: 'split', include: ['10.0.0.0/8'], exclude: [] }, dns: { servers: ['1.1.1.1'] } });
  assert.deepEqual(configPatchFrom(validateSettingsPatch({ startAtLogin: true })), {}, 'startAtLogin is app-only');
  const bad: unknown[] = [null, { killSwitch: 'yes' }, { dns: ['dns.google'] }, { dns: 'x' }, { routing: { mode: 'split', include: [] } }, { routing: { mode: 'half' } }, { privateKey: 'x' }, { ingress: '' }];
  for (const b of bad) assert.throws(() => validateSettingsPatch(b), { code: 'ERR_IPC_INVALID_ARGUMENT' }, JSON.stringify(b));
});

test('every invoke channel of the schema has a handler', () => {
  assert.deepEqual(Object.keys(handlers.invoke).sort(), channelsOfKind('invoke').sort());
  assert.deepEqual(Object.keys(handlers.send).sort(), channelsOfKind('send').sort());
});

test('handlers return {type:"error"} on bad input and on daemon errors, keeping the code', async () => {
  const bad = await dispatchInvoke(handlers.invoke, 'settings:set', { dns: ['nope'] });
  assert.equal(bad.type, 'error');
  assert.equal(bad.type === 'error' && bad.code, 'ERR_IPC_INVALID_ARGUMENT');
  // A daemon-side refusal crosses as the daemon's stable code (FakeBackend knows no relay "nope").
  const r = await invokeTyped(handlers.invoke, 'tunnel:connect', { relay: 'nope' });
  assert.deepEqual(r.type === 'error' && [r.code, /no relay named/.test(r.message)], ['ERR_CONFIG_UNKNOWN_RELAY', true]);
  const unknown = await dispatchInvoke(handlers.invoke, 'shell:exec', 'ls');
  assert.equal(unknown.type === 'error' && unknown.code, 'ERR_IPC_UNKNOWN_CHANNEL');
  const proto = await dispatchInvoke(handlers.invoke, 'constructor', undefined);
  assert.equal(proto.type, 'error', 'prototype keys are not channels');
});

test('handlers act through the daemon: connect, settings, start at login', async () => {
  const c = await invokeTyped(handlers.invoke, 'tunnel:connect', {});
  assert.equal(c.type, 'success');
  assert.ok(h.backend.calls.includes('connect {}'));
  const s = await invokeTyped(handlers.invoke, 'settings:set', { killSwitch: true, startAtLogin: true });
  assert.equal(s.type, 'success');
  assert.equal(s.type === 'success' && s.value.killSwitch, true);
  assert.equal(s.type === 'success' && s.value.startAtLogin, true, 'read back from the autostart file');
  assert.ok(h.backend.calls.includes('setConfig {"killSwitch":true}'));
  const d = await invokeTyped(handlers.invoke, 'tunnel:disconnect', undefined);
  assert.deepEqual(d, { type: 'success', value: { state: 'disconnected' } });
});

test('registered on ipcMain: trusted frames only, errors as values, removable', async () => {
  const electron = createElectronStub();
  const unregister = registerIpcHandlers(electron.ipcMain, handlers, isAppUrl);
  assert.deepEqual([...electron.ipcMain.handlers.keys()].sort(), channelsOfKind('invoke').sort());
  const snap = (await electron.ipcMain.invoke('app:snapshot', undefined)) as { type: string };
  assert.equal(snap.type, 'success');
  const evil = (await electron.ipcMain.invoke('tunnel:connect', {}, 'https://evil.example/')) as { type: string; code: string };
  assert.deepEqual([evil.type, evil.code], ['error', 'ERR_IPC_UNTRUSTED_SENDER']);
  const invalid = (await electron.ipcMain.invoke('settings:set', 'not an object')) as { type: string; message: string };
  assert.equal(invalid.type, 'error');
  assert.match(invalid.message, /expected an object/);
  unregister();
  assert.equal(electron.ipcMain.handlers.size, 0);
});
