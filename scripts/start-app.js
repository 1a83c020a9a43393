#!/usr/bin/env node
// `npm run app`: start the desktop tray app (app/electron) with an installed Electron.
//
// Electron is deliberately not a dependency of this repo: its postinstall downloads a
// ~100 MB binary, which CI and our build machines cannot do (docs/desktop.md). So this script
// looks for a usable Electron and, when there is none, says how to get one and exits 1.
// Extra arguments are passed to the app (e.g. `npm run app -- --hidden`).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const mainEntry = path.join(root, 'app/electron/dist/node/app/electron/main/index.js');
const require = createRequire(path.join(root, 'package.json'));

const HOW_TO_INSTALL = `
The desktop app needs the Electron runtime, which this repository does not install
(its download step cannot run in CI). On a desktop machine with internet access:

  npm install --no-save electron@41          # downloads the Electron binary
  npm run app

or point ELECTRON_PATH at an existing binary:

  ELECTRON_PATH=/usr/lib/electron/electron npm run app

The app talks to the masque daemon; start that first with \`sudo relay-cli daemon\`.
See docs/desktop.md.`;

/** Path of a runnable Electron binary, or null. Never throws. */
function findElectron() {
  const fromEnv = process.env.ELECTRON_PATH;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : null;
  try {
    // In plain Node, the electron package's main export is the binary's path; it throws
    // when the package was installed with ELECTRON_SKIP_BINARY_DOWNLOAD (no path.txt).
    const bin = require('electron');
    return typeof bin === 'string' && existsSync(bin) ? bin : null;
  } catch {
    return null;
  }
}

const electron = findElectron();
if (!electron) {
  console.error(`masque app: no Electron binary found.${HOW_TO_INSTALL}`);
  process.exit(1);
}

if (!existsSync(mainEntry)) {
  const r = spawnSync(process.execPath, [path.join(root, 'app/electron/build.mjs')], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
  console.error('masque app: warning: neither DISPLAY nor WAYLAND_DISPLAY is set; Electron needs a desktop session.');
}

const child = spawn(electron, [mainEntry, ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, ELECTRON_RUN_AS_NODE: '' } });
child.on('error', (e) => {
  console.error(`masque app: cannot start ${electron}: ${e.message}`);
  process.exit(1);
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
