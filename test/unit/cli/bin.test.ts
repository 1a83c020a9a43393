/**
 * The installed command: package.json's `bin` entry is what `npm link`, `npm install -g` and
 * docs/self-hosting.md's `ln -s …/dist/cli/main.js /usr/local/bin/relay-cli` put on the PATH.
 * npm sets the execute bit on bin targets itself; a plain symlink does not, so the build must
 * (tsc writes files 0644).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };

test('relay-cli is executable through a symlink, as the install docs link it', () => {
  const target = join(ROOT, pkg.bin['relay-cli']!);
  assert.notEqual(statSync(target).mode & 0o111, 0, `${target} has no execute bit`);
  const dir = mkdtempSync(join(tmpdir(), 'mq-bin-'));
  try {
    const link = join(dir, 'relay-cli');
    symlinkSync(target, link);
    const r = spawnSync(link, ['--version'], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.error, undefined);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), pkg.version);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
