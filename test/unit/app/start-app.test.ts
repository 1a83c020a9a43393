import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../helpers/app-build.js';

const script = path.join(REPO_ROOT, 'scripts/start-app.js');

test('npm run app without Electron: exit 1 and says how to install it', () => {
  const r = spawnSync(process.execPath, [script], { encoding: 'utf8', env: { ...process.env, ELECTRON_PATH: '/nonexistent/electron' } });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no Electron binary found/);
  assert.match(r.stderr, /npm install --no-save electron@41/);
  assert.match(r.stderr, /relay-cli daemon/);
});

test('with an Electron binary it launches the main entry and passes arguments through', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'masque-fake-electron-'));
  try {
    // A stand-in "electron" that prints what it was started with.
    const fake = path.join(dir, 'electron');
    writeFileSync(fake, '#!/bin/sh\necho "started: $*"\nexit 7\n');
    chmodSync(fake, 0o755);
    const r = spawnSync(process.execPath, [script, '--hidden'], { encoding: 'utf8', env: { ...process.env, ELECTRON_PATH: fake, DISPLAY: ':99' } });
    assert.equal(r.status, 7, r.stderr);
    assert.match(r.stdout, /started: .*app\/electron\/dist\/node\/app\/electron\/main\/index\.js --hidden/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
