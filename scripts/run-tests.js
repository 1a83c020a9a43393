#!/usr/bin/env node
// Runs the test tiers (STYLE.md §7) from the compiled tree in dist/.
// unit, prop and integration always run. netns needs root (network namespaces, TUN):
// it runs when we are root, and in CI it is mandatory — a CI run that cannot do it fails
// instead of skipping silently.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const tiers = ['unit', 'prop', 'integration'];
const isRoot = process.getuid?.() === 0;
const isCi = process.env.CI === 'true';
if (isRoot || process.env.MASQUE_NETNS === '1') tiers.push('netns');
else if (isCi) {
  console.error('netns tests need root in CI; refusing to skip them');
  process.exit(1);
} else console.log('# skipping test/netns: not root (run as root or set MASQUE_NETNS=1)');

const only = process.argv.slice(2);
const dirs = (only.length ? only : tiers).map((t) => `dist/test/${t}`).filter((d) => existsSync(d));
const args = ['--test', '--test-reporter=spec', '--test-timeout=120000'];
// Namespace tests share kernel state (names, addresses): run their files one at a time.
args.push('--test-concurrency=1');
const r = spawnSync(process.execPath, [...args, ...dirs], { stdio: 'inherit', env: { ...process.env, MASQUE_NETNS: tiers.includes('netns') ? '1' : '' } });
process.exit(r.status ?? 1);
