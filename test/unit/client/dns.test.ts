// DNS while connected (src/client/dns.ts) on a resolv.conf in a temp dir: a plain file and a
// systemd-resolved style symlink, restored on disconnect and after a crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { applyDns, restoreStaleDns } from '../../../src/client/dns.js';

/** Runs `fn` with a fresh temp dir, removed afterwards. */
async function inDir(fn: (d: string) => Promise<void>): Promise<void> {
  const d = mkdtempSync(path.join(tmpdir(), 'masque-dns-'));
  try {
    await fn(d);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

test('a plain resolv.conf: replaced while up, the same bytes back after restore, no backup left', () =>
  inDir(async (d) => {
    const conf = path.join(d, 'resolv.conf');
    writeFileSync(conf, 'nameserver 192.0.2.53\nsearch lan\n');
    const applied = await applyDns({ servers: ['10.64.0.1', 'fd00::53'], resolvConfPath: conf });
    assert.equal(applied.replacedLink, null);
    assert.match(readFileSync(conf, 'utf8'), /^nameserver 10\.64\.0\.1\nnameserver fd00::53\n/m);
    await applied.restore();
    assert.equal(readFileSync(conf, 'utf8'), 'nameserver 192.0.2.53\nsearch lan\n');
    assert.deepEqual(readdirSync(d), ['resolv.conf']);
  }));

test('a symlinked resolv.conf (systemd-resolved): its target is never written, and the link comes back', () =>
  inDir(async (d) => {
    const stub = path.join(d, 'stub-resolv.conf');
    const conf = path.join(d, 'resolv.conf');
    writeFileSync(stub, 'nameserver 127.0.0.53\n');
    symlinkSync('stub-resolv.conf', conf);
    const applied = await applyDns({ servers: ['10.64.0.1'], resolvConfPath: conf });
    assert.equal(applied.replacedLink, 'stub-resolv.conf', 'the caller learns what it replaced');
    assert.ok(!lstatSync(conf).isSymbolicLink(), 'our own file in place of the link while up');
    assert.match(readFileSync(conf, 'utf8'), /nameserver 10\.64\.0\.1/);
    assert.equal(readFileSync(stub, 'utf8'), 'nameserver 127.0.0.53\n', 'the service\'s file is untouched');
    await applied.restore();
    assert.ok(lstatSync(conf).isSymbolicLink(), 'the link is back, not a copy');
    assert.equal(readlinkSync(conf), 'stub-resolv.conf');
    assert.deepEqual(readdirSync(d).sort(), ['resolv.conf', 'stub-resolv.conf']);
  }));

test('after a crash (no restore), restoreStaleDns and the next applyDns put the link back; a dangling link too', () =>
  inDir(async (d) => {
    const conf = path.join(d, 'resolv.conf');
    // The link's target is missing (the service is not running): still a link to restore.
    symlinkSync('/run/nonexistent-masque/stub-resolv.conf', conf);
    await applyDns({ servers: ['10.64.0.1'], resolvConfPath: conf }); // the process dies here
    assert.ok(existsSync(conf + '.masque-backup-link'));
    await restoreStaleDns(conf);
    assert.equal(readlinkSync(conf), '/run/nonexistent-masque/stub-resolv.conf');
    assert.deepEqual(readdirSync(d), ['resolv.conf']);
    // A second crash, then a new session: it restores first, then backs up the link again.
    await applyDns({ servers: ['10.64.0.1'], resolvConfPath: conf });
    const next = await applyDns({ servers: ['10.64.0.2'], resolvConfPath: conf });
    assert.match(readFileSync(conf, 'utf8'), /nameserver 10\.64\.0\.2/);
    await next.restore();
    assert.equal(readlinkSync(conf), '/run/nonexistent-masque/stub-resolv.conf');
  }));

test('no servers: nothing is touched', () =>
  inDir(async (d) => {
    const conf = path.join(d, 'resolv.conf');
    writeFileSync(conf, 'nameserver 192.0.2.53\n');
    const applied = await applyDns({ servers: [], resolvConfPath: conf });
    await applied.restore();
    assert.deepEqual(readdirSync(d), ['resolv.conf']);
    assert.equal(readFileSync(conf, 'utf8'), 'nameserver 192.0.2.53\n');
  }));
