import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DaemonLink, type LinkEvent } from '../../../app/electron/main/daemon-link.js';
import { findMenuItem } from '../../../app/electron/main/menu.js';
import { TrayController } from '../../../app/electron/main/tray-controller.js';
import { TRAY_COLORS } from '../../../app/electron/main/tray-state.js';
import { ControlClient } from '../../../src/control/client.js';
import { createElectronStub, type StubImage, type StubTray } from '../../helpers/app-electron-stub.js';
import { startHarness } from '../../helpers/control-harness.js';

function waitFor(link: DaemonLink, pred: (ev: LinkEvent) => boolean): Promise<void> {
  return new Promise((resolve) => {
    const off = link.onEvent((ev) => {
      if (pred(ev)) {
        off();
        resolve();
      }
    });
  });
}

/** The colour (R, G, B) of the ring pixel of the tray's current image. */
function ringColor(tray: StubTray): number[] {
  const img = tray.images.at(-1) as StubImage;
  const i = (Math.floor(img.width / 2) * img.width + 2) * 4;
  return [img.bitmap[i + 2]!, img.bitmap[i + 1]!, img.bitmap[i]!];
}

test('tray follows the daemon: icon, tooltip and menu per state; menu Connect reaches the daemon; events reach the renderer', async () => {
  const h = await startHarness({ stepMs: 5 });
  const electron = createElectronStub();
  const link = new DaemonLink({ client: h.client(), statsIntervalMs: 100 });
  const sent: string[] = [];
  let opened = 0;
  const tray = new TrayController({ electron, link, notify: (c) => sent.push(c), openWindow: () => opened++, quit: () => {} });
  const stub = electron.trays[0]!;
  try {
    assert.match(stub.tooltip, /Looking for the daemon/);
    const ok = waitFor(link, (e) => e.type === 'daemon' && e.daemon.state === 'ok');
    link.start();
    await ok;
    assert.match(stub.tooltip, /Disconnected/);
    assert.deepEqual(ringColor(stub), TRAY_COLORS.disconnected);

    const connected = waitFor(link, (e) => e.type === 'tunnel' && e.tunnel.state === 'connected');
    const connectItem = findMenuItem(stub.menu!, 'toggle')!;
    assert.equal(connectItem.label, 'Connect');
    connectItem.click!();
    await connected;
    assert.ok(h.backend.calls.includes('connect {}'));
    assert.match(stub.tooltip, /Connected via in-1 → out-1/);
    assert.deepEqual(ringColor(stub), TRAY_COLORS.connected);
    assert.equal(findMenuItem(stub.menu!, 'toggle')!.label, 'Disconnect');
    assert.ok(stub.images.length >= 3, 'image changed per look (disconnected → connecting → connected)');

    h.backend.setState({ state: 'error', code: 'ERR_TUNNEL_LOST', message: 'path died' });
    await waitFor(link, (e) => e.type === 'tunnel');
    assert.deepEqual(ringColor(stub), TRAY_COLORS.error);
    assert.match(stub.tooltip, /path died/);

    await waitFor(link, (e) => e.type === 'stats');
    for (const c of ['notify:daemon', 'notify:tunnel', 'notify:stats', 'notify:settings']) assert.ok(sent.includes(c), c);

    stub.click();
    findMenuItem(stub.menu!, 'open')!.click!();
    assert.equal(opened, 2);
  } finally {
    tray.dispose();
    assert.equal(stub.isDestroyed, true);
    await link.stop();
    await h.close();
  }
});

test('a failing menu action goes to onActionError, not an unhandled rejection', async () => {
  const electron = createElectronStub();
  const link = new DaemonLink({ client: new ControlClient({ socketPath: '/nonexistent/masque.sock' }) });
  const errors: unknown[] = [];
  const tray = new TrayController({ electron, link, notify: () => {}, openWindow: () => {}, quit: () => {}, onActionError: (e) => errors.push(e) });
  tray.actions.connect();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal((errors[0] as { code: string }).code, 'ERR_CONTROL_DAEMON_UNREACHABLE');
  tray.dispose();
});
