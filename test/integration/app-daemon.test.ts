/**
 * The tray app's renderer against the real `relay-cli daemon` process (its control server,
 * socket permissions and event stream), with the fake engine loaded through
 * MASQUE_ENGINE_MODULE so no namespaces or relays are needed. The dev server connects with
 * the socket ownership check on, as the Electron main process does.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startDevServer, type DevServer } from '../../app/electron/dev-server.js';
import { ControlClient } from '../../src/control/client.js';
import { WEB_ROOT, ensureAppBuilt } from '../helpers/app-build.js';
import { SCREENSHOT_DIR, browserUnavailable, openBrowser, type BrowserSession } from '../helpers/app-browser.js';
import { FAKE_ENGINE, runCli, spawnCli } from '../helpers/control-cli.js';

const missing = await browserUnavailable();
if (missing && process.env.CI === 'true') throw new Error(`app daemon tests need a browser in CI: ${missing}`);

describe('app renderer against relay-cli daemon', { skip: missing ?? false }, () => {
  let dir: string;
  let daemon: ReturnType<typeof spawnCli>;
  let dev: DevServer;
  let browser: BrowserSession;

  before(async () => {
    ensureAppBuilt('web');
    dir = mkdtempSync(path.join(os.tmpdir(), 'masque-app-daemon-'));
    const clientToml = path.join(dir, 'client.toml');
    assert.equal((await runCli(['config', 'init', '--client', '-o', clientToml])).code, 0);
    const socketPath = path.join(dir, 'run', 'daemon.sock');
    daemon = spawnCli(['daemon', '--config', clientToml, '--socket', socketPath, '--group', 'no-such-group-here'], { MASQUE_ENGINE_MODULE: FAKE_ENGINE, MASQUE_LOG_JSON: '1' });
    await daemon.waitFor(/daemon ready/);
    dev = await startDevServer({ client: new ControlClient({ socketPath, checkOwner: true }), webRoot: WEB_ROOT, autostartDir: path.join(dir, 'autostart'), statsIntervalMs: 250 });
    browser = await openBrowser();
  });
  after(async () => {
    await browser?.close();
    await dev?.close();
    daemon?.child.kill('SIGTERM');
    await daemon?.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  test('connect and disconnect through the daemon; settings come from its config', async () => {
    const { page } = browser;
    await page.goto(dev.pageUrl);
    // The link to the daemon must come up. Full CI runs showed the window stuck on "daemon…"
    // (an event emitted before the page's event stream opened was lost: the dev bridge now
    // waits for the stream before its first invoke, and the server starts every stream with
    // the current state) and on "Connecting…" (the connect answer overtook by the "connected"
    // event rolled the window back: the renderer now ignores answers older than the last
    // event). The Retry press stays as what a user would do; failures print the page.
    const isLinked = () => document.querySelector('#daemon-pill')?.textContent === 'daemon ok';
    try {
      await page.waitForFunction(isLinked, null, { timeout: 10_000 });
    } catch {
      console.log(`# daemon link not up after 10 s, pressing Retry; page: ${(await page.evaluate(() => document.body.innerText)).slice(0, 400).replace(/\n/g, ' | ')}`);
      if (await page.isVisible('#daemon-retry')) await page.click('#daemon-retry');
      await page.waitForFunction(isLinked, null, { timeout: 20_000 });
    }
    await page.click('#toggle');
    try {
      await page.waitForFunction(() => document.querySelector('#state-text')?.textContent === 'Connected', null, { timeout: 30_000 });
    } catch (e) {
      const body = (await page.evaluate(() => document.body.innerText)).slice(0, 600).replace(/\n/g, ' | ');
      throw new Error(`not Connected; page: ${body}\ndaemon output (last 2000):\n${daemon.output().slice(-2000)}`, { cause: e });
    }
    assert.match(await page.locator('#addresses').innerText(), /100\.64\.0\.2\/32/);
    await page.click('#settings summary');
    assert.equal(await page.isChecked('#kill-switch'), false);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'daemon-connected.png'), fullPage: true });
    await page.click('#toggle');
    await page.waitForFunction(() => document.querySelector('#state-text')?.textContent === 'Disconnected', null, { timeout: 30_000 });
    assert.deepEqual(browser.errors, []);
  });
});
