/**
 * The tray app's renderer in headless Debian Chromium (playwright-core), served by
 * app/electron/dev-server.ts, which runs the app's real DaemonLink and IPC handlers against a
 * real ControlServer + LiveFakeBackend over a Unix socket. Only the Electron binary is a
 * stand-in (the browser plays the window, the dev bridge plays the preload).
 *
 * Assertions are on the DOM; screenshots go to test-results/app/ for humans.
 * Skips when Chromium or playwright-core is missing, except in CI where that is a failure.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { ensureAppBuilt } from '../helpers/app-build.js';
import { SCREENSHOT_DIR, browserUnavailable, openBrowser, type BrowserSession } from '../helpers/app-browser.js';
import { startAppHarness, type AppHarness } from '../helpers/app-harness.js';
import { FAKE_RELAYS } from '../helpers/fake-backend.js';

const missing = await browserUnavailable();
if (missing && process.env.CI === 'true') throw new Error(`app renderer tests need a browser in CI: ${missing}`);

const textOf = (page: Page, sel: string): Promise<string> => page.locator(sel).innerText();

/** Wait until `sel`'s text matches `re` (DOM polling inside the page). */
async function waitText(page: Page, sel: string, re: RegExp, timeoutMs = 30_000): Promise<void> {
  await page.waitForFunction(
    ([s, src]) => new RegExp(src!).test(document.querySelector(s!)?.textContent ?? ''),
    [sel, re.source],
    { timeout: timeoutMs },
  );
}

describe('app renderer in Chromium', { skip: missing ?? false }, () => {
  let browser: BrowserSession;
  before(async () => {
    ensureAppBuilt('web');
    browser = await openBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  async function withHarness(opts: Parameters<typeof startAppHarness>[0], fn: (h: AppHarness, page: Page) => Promise<void>): Promise<void> {
    const h = await startAppHarness(opts);
    const page = await browser.browser.contexts()[0]!.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await page.goto(h.dev.pageUrl);
      await fn(h, page);
      assert.deepEqual(errors, [], 'no uncaught errors in the page');
    } finally {
      await page.close();
      await h.close();
    }
  }

  const shot = (page: Page, name: string): Promise<Buffer> => page.screenshot({ path: `${SCREENSHOT_DIR}/${name}.png`, fullPage: true });

  test('connect: state, addresses, chain, moving chart, RTT; then a forced error is shown', async () => {
    await withHarness({}, async (h, page) => {
      await waitText(page, '#daemon-pill', /daemon ok/);
      assert.equal(await textOf(page, '#state-text'), 'Disconnected');
      assert.equal(await page.locator('#toggle').isEnabled(), true);
      await shot(page, 'disconnected');

      await page.click('#toggle');
      await waitText(page, '#state-text', /Connecting/);
      await waitText(page, '#state-text', /^Connected$/);
      assert.equal(await page.getAttribute('#toggle', 'aria-pressed'), 'true');
      assert.match(await textOf(page, '#addresses'), /100\.64\.0\.2\/32/);
      assert.match(await textOf(page, '#chain-active'), /in-1 .* → out-1/);
      assert.ok(h.backend.calls.some((c) => c.startsWith('connect')), 'the daemon was asked to connect');

      // The chart moves: several samples, a non-zero peak, and the points count grows.
      await page.waitForFunction(() => Number((document.querySelector('#chart') as HTMLElement).dataset.maxBps) > 0, null, { timeout: 30_000 });
      const before = Number(await page.getAttribute('#chart', 'data-points'));
      await page.waitForFunction((n) => Number((document.querySelector('#chart') as HTMLElement).dataset.points) > n, before, { timeout: 30_000 });
      assert.match(await textOf(page, '#rate-down'), /[1-9][\d.]* (kbit|Mbit)\/s/);
      assert.match(await textOf(page, '#rtt'), /\d+\.\d ms/);
      assert.notEqual(await textOf(page, '#total-down'), '0 B');

      h.backend.emitLog('hello from the fake engine');
      await waitText(page, '#log', /hello from the fake engine/);
      await shot(page, 'connected');

      h.backend.failNow('ERR_TUNNEL_HANDSHAKE', 'egress relay rejected the handshake');
      await waitText(page, '#state-text', /^Error$/);
      assert.equal(await page.locator('#error-banner').isVisible(), true);
      assert.match(await textOf(page, '#error-message'), /egress relay rejected the handshake \(ERR_TUNNEL_HANDSHAKE\)/);
      assert.equal(await page.getAttribute('#hero', 'data-state'), 'error');
      await shot(page, 'error');

      // From error, the switch connects again and the banner clears.
      await page.click('#toggle');
      await waitText(page, '#state-text', /^Connected$/);
      assert.equal(await page.locator('#error-banner').isVisible(), false);
      await page.click('#toggle');
      await waitText(page, '#state-text', /^Disconnected$/);
      assert.match(await textOf(page, '#addresses'), /Not connected/);
    });
  });

  test('a failing attempt ends in the error state with the daemon\'s message', async () => {
    await withHarness({ failWith: { code: 'ERR_TUNNEL_TIMEOUT', message: 'ingress did not answer' } }, async (_h, page) => {
      await waitText(page, '#daemon-pill', /daemon ok/);
      await page.click('#toggle');
      await waitText(page, '#error-message', /ingress did not answer \(ERR_TUNNEL_TIMEOUT\)/);
      assert.equal(await textOf(page, '#state-text'), 'Error');
    });
  });

  test('daemon absent: says how to start it, then follows it once it appears', async () => {
    await withHarness({ isDaemonRunning: false }, async (h, page) => {
      await waitText(page, '#daemon-message', /not running/);
      assert.match(await textOf(page, '#daemon-hint'), /sudo relay-cli daemon/);
      assert.equal(await textOf(page, '#daemon-pill'), 'no daemon');
      assert.equal(await page.locator('#toggle').isDisabled(), true);
      await shot(page, 'daemon-absent');

      await h.startDaemon();
      // The link's own backoff may find the daemon first and hide the banner with its button:
      // press Retry only while it is there (a click on a vanished button waits 30 s).
      await page.click('#daemon-retry', { timeout: 2000 }).catch(() => undefined);
      await waitText(page, '#daemon-pill', /daemon ok/);
      assert.equal(await page.locator('#daemon-banner').isVisible(), false);
      assert.equal(await page.locator('#toggle').isEnabled(), true);
    });
  });

  test('chain picker and settings reach the daemon; invalid input is refused with a message', async () => {
    const relays = [...FAKE_RELAYS, { name: 'in-2', address: '127.0.0.1:4435', role: 'ingress' as const, publicKey: 'C'.repeat(43) + '=', latencyMs: 30 }];
    await withHarness({ relays }, async (h, page) => {
      await waitText(page, '#daemon-pill', /daemon ok/);
      await page.waitForFunction(() => (document.querySelector('#ingress-select') as HTMLSelectElement).options.length === 2);
      await page.selectOption('#ingress-select', 'in-2');
      await page.waitForFunction(() => (document.querySelector('#ingress-select') as HTMLSelectElement).value === 'in-2');
      assert.ok(h.backend.calls.includes('setConfig {"ingress":"in-2"}'), h.backend.calls.join('\n'));

      await page.click('#settings summary');
      await page.check('#kill-switch');
      await page.fill('#dns', 'not-an-ip');
      await page.click('#settings-save');
      await waitText(page, '#settings-message', /DNS servers: "not-an-ip" is not valid/);
      assert.equal(await page.getAttribute('#settings-message', 'data-kind'), 'error');

      await page.fill('#dns', '1.1.1.1, 2606:4700:4700::1111');
      await page.selectOption('#routing-mode', 'split');
      await page.fill('#include', '10.0.0.0/8');
      await page.fill('#exclude', '10.1.0.0/16');
      await page.check('#start-at-login');
      await page.click('#settings-save');
      await waitText(page, '#settings-message', /Saved/);
      const patch = h.backend.calls.find((c) => c.startsWith('setConfig {"killSwitch"'));
      assert.ok(patch, h.backend.calls.join('\n'));
      assert.deepEqual(JSON.parse(patch.slice('setConfig '.length)), {
        killSwitch: true,
        routing: { mode: 'split', include: ['10.0.0.0/8'], exclude: ['10.1.0.0/16'] },
        dns: { servers: ['1.1.1.1', '2606:4700:4700::1111'] },
      });
      assert.equal(await page.isChecked('#start-at-login'), true, 'start at login is the app\'s own setting (autostart file)');
      await shot(page, 'settings');
    });
  });
});
