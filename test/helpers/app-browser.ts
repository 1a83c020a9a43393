/**
 * Headless Debian Chromium through playwright-core for the renderer tests (FACTS.md,
 * Electron section): the Electron binary cannot be downloaded here, so the renderer runs as
 * a web page against app/electron/dev-server.ts. Each launch gets a fresh profile directory.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { REPO_ROOT } from './app-build.js';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Screenshots land here (gitignored). */
export const SCREENSHOT_DIR = path.join(REPO_ROOT, 'test-results/app');

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Why the browser tests cannot run here, or null when they can. */
export async function browserUnavailable(): Promise<string | null> {
  if (!existsSync(CHROMIUM_PATH)) return `${CHROMIUM_PATH} missing (apt-get install chromium)`;
  try {
    await import('playwright-core');
  } catch {
    return 'playwright-core is not installed';
  }
  return null;
}

export interface BrowserSession {
  browser: Browser;
  page: Page;
  /** Save a full-page screenshot as test-results/app/<name>.png; returns the path. */
  screenshot(name: string): Promise<string>;
  /** Console errors and page errors seen so far (a clean page has none). */
  errors: string[];
  close(): Promise<void>;
}

/** Launch Chromium with a fresh profile and open one page sized like the app window. */
export async function openBrowser(): Promise<BrowserSession> {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(path.join(os.tmpdir(), 'masque-chromium-'));
  // launchPersistentContext is how playwright takes a --user-data-dir of our choosing.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: FLAGS,
    viewport: { width: 420, height: 900 },
    deviceScaleFactor: 1,
  });
  const browser = context.browser() as Browser;
  const page = context.pages()[0] ?? (await context.newPage());
  // A shared 2-vCPU CI box can be saturated by other suites: waits are generous, failures still fail.
  page.setDefaultTimeout(30_000);
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return {
    browser,
    page,
    errors,
    async screenshot(name) {
      const file = path.join(SCREENSHOT_DIR, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
