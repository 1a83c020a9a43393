import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, stat, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  loadAuthorizedKeys, loadOrGenerateKeyPair, readPrivateKeyFile, writePrivateKeyFile,
} from '../../../src/identity/key-file.js';
import { encodeKey, generateKeyPair } from '../../../src/identity/keys.js';

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'masque-identity-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a written private key file has mode 0600 even under a permissive umask', () => withTempDir(async (dir) => {
  const old = process.umask(0o000);
  try {
    const path = join(dir, 'relay.key');
    const kp = generateKeyPair();
    await writePrivateKeyFile(path, kp.privateKey);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal(await readFile(path, 'utf8'), `${encodeKey(kp.privateKey)}\n`);
    assert.deepEqual(await readdir(dir), ['relay.key'], 'no temporary file left behind');
  } finally {
    process.umask(old);
  }
}));

test('writing never overwrites an existing key', () => withTempDir(async (dir) => {
  const path = join(dir, 'relay.key');
  await writePrivateKeyFile(path, generateKeyPair().privateKey);
  const before = await readFile(path, 'utf8');
  await assert.rejects(writePrivateKeyFile(path, generateKeyPair().privateKey), { code: 'ERR_KEY_FILE' });
  assert.equal(await readFile(path, 'utf8'), before);
}));

test('load-or-generate: generates once, then loads the same key', () => withTempDir(async (dir) => {
  const path = join(dir, 'relay.key');
  const first = await loadOrGenerateKeyPair(path);
  assert.equal(first.isGenerated, true);
  assert.equal(first.isTooOpen, false);
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  const second = await loadOrGenerateKeyPair(path);
  assert.equal(second.isGenerated, false);
  assert.deepEqual(second.keyPair.publicKey, first.keyPair.publicKey);
}));

test('concurrent load-or-generate converges on one key', () => withTempDir(async (dir) => {
  const path = join(dir, 'relay.key');
  const results = await Promise.all([1, 2, 3, 4].map(() => loadOrGenerateKeyPair(path)));
  const pubs = new Set(results.map((r) => encodeKey(r.keyPair.publicKey)));
  assert.equal(pubs.size, 1);
}));

test('a group/other-readable key file is loaded but flagged', () => withTempDir(async (dir) => {
  const path = join(dir, 'relay.key');
  await writePrivateKeyFile(path, generateKeyPair().privateKey);
  await chmod(path, 0o644);
  const loaded = await readPrivateKeyFile(path);
  assert.equal(loaded.isTooOpen, true);
  assert.equal(loaded.mode, 0o644);
}));

test('missing, directory and garbage key files fail with stable codes', () => withTempDir(async (dir) => {
  await assert.rejects(readPrivateKeyFile(join(dir, 'nope')), { code: 'ERR_KEY_FILE' });
  await assert.rejects(readPrivateKeyFile(dir), { code: 'ERR_KEY_FILE' });
  const path = join(dir, 'bad.key');
  await writeFile(path, 'garbage\n', { mode: 0o600 });
  await assert.rejects(readPrivateKeyFile(path), (e: Error & { code: string }) =>
    e.code === 'ERR_KEY_INVALID' && e.message.startsWith(`${path}: `) && !e.message.includes('garbage'));
  await assert.rejects(loadOrGenerateKeyPair(path), { code: 'ERR_KEY_INVALID' }, 'a bad file is not replaced');
}));

test('loadAuthorizedKeys reads and parses, errors name the file and line', () => withTempDir(async (dir) => {
  const path = join(dir, 'authorized_keys');
  const k = encodeKey(generateKeyPair().publicKey);
  await writeFile(path, `# clients\n${k} alice\n`);
  const keys = await loadAuthorizedKeys(path);
  assert.equal(keys.get(k)?.name, 'alice');
  await writeFile(path, `${k}\nbroken\n`);
  await assert.rejects(loadAuthorizedKeys(path), (e: Error & { code?: string; line?: number }) => {
    assert.equal(e.code, 'ERR_AUTHORIZED_KEYS_SYNTAX');
    assert.equal(e.line, 2);
    assert.ok(e.message.startsWith(`${path}:2:`));
    return true;
  });
  await assert.rejects(loadAuthorizedKeys(join(dir, 'none')), { code: 'ERR_KEY_FILE' });
}));
