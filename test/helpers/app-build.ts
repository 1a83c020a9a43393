/**
 * Makes sure the desktop app is built (app/electron/dist) before tests that load its preload
 * bundle or serve its renderer. `npm run build` normally does it; this covers running one
 * test file by hand. Builds only what is missing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repo root, from dist/test/helpers. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const APP_DIST = path.join(REPO_ROOT, 'app/electron/dist');
export const WEB_ROOT = path.join(APP_DIST, 'web');
export const PRELOAD_BUNDLE = path.join(APP_DIST, 'preload.cjs');

/** Build `part` of the app unless its output exists; throws with tsc's output on failure. */
export function ensureAppBuilt(part: 'web' | 'preload'): void {
  const marker = part === 'web' ? path.join(WEB_ROOT, 'app/electron/renderer/app.js') : PRELOAD_BUNDLE;
  if (existsSync(marker)) return;
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'app/electron/build.mjs'), '--only', part], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`app build (${part}) failed:\n${r.stdout}${r.stderr}`);
}
