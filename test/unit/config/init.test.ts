import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initClientConfig, initRelayConfig } from '../../../src/config/init.js';
import { loadClientConfig } from '../../../src/config/client.js';
import { loadRelayConfig } from '../../../src/config/relay.js';
import type { ConfigError } from '../../../src/config/errors.js';
import { encodeKey, parsePrivateKey } from '../../../src/identity/keys.js';

test('config init --client: 0600, fresh key, validates; refuses to overwrite', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'masque-init-'));
  try {
    const f = path.join(dir, 'client.toml');
    const r = await initClientConfig(f);
    assert.equal(statSync(f).mode & 0o777, 0o600);
    const cfg = await loadClientConfig({ config: f });
    assert.equal(encodeKey(parsePrivateKey(cfg.privateKey!).publicKey), r.publicKey);
    assert.ok(readFileSync(f, 'utf8').includes(`#   ${r.publicKey}`));
    await assert.rejects(initClientConfig(f), { code: 'ERR_CONFIG_EXISTS' });
    const again = await initClientConfig(f, { force: true });
    assert.notEqual(again.publicKey, r.publicKey);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('config init --relay: config, key and authorized_keys 0600; validates; keeps the key on --force', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'masque-init-'));
  try {
    const f = path.join(dir, 'relay.toml');
    const r = await initRelayConfig(f);
    assert.deepEqual(r.files.map((x) => path.basename(x)), ['relay.toml', 'relay.key', 'authorized_keys']);
    for (const x of r.files) assert.equal(statSync(x).mode & 0o777, 0o600, x);
    const cfg = await loadRelayConfig({ config: f });
    assert.equal(cfg.identity, path.join(dir, 'relay.key'));
    assert.equal(cfg.authorizedKeys, path.join(dir, 'authorized_keys'));
    await assert.rejects(initRelayConfig(f), { code: 'ERR_CONFIG_EXISTS' });
    assert.equal((await initRelayConfig(f, { force: true })).publicKey, r.publicKey);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('config init -o DIR is refused as a directory (not "exists; use --force"), also with force', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'masque-init-'));
  try {
    for (const init of [initClientConfig, initRelayConfig]) {
      for (const force of [false, true]) {
        await assert.rejects(init(dir, { force }), (e: ConfigError) => e.code === 'ERR_CONFIG_READ' && e.message.includes('EISDIR'));
      }
    }
    // Nothing was written beside it (the relay init used to write relay.key before failing).
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('config init --relay --force with a bad kept relay.key names the file', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'masque-init-'));
  try {
    writeFileSync(path.join(dir, 'relay.key'), 'garbage\n');
    await assert.rejects(initRelayConfig(path.join(dir, 'relay.toml'), { force: true }), (e: ConfigError) => e.code === 'ERR_KEY_INVALID' && e.message.startsWith(`${path.join(dir, 'relay.key')}: `));
    await assert.rejects(initRelayConfig(path.join(dir, 'relay.toml')), (e: ConfigError) => e.code === 'ERR_CONFIG_EXISTS' && e.message === `${path.join(dir, 'relay.key')}: exists; use --force to keep it and rewrite the config`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
