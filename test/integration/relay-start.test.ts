/**
 * runRelay in-process on loopback (role ingress: no TUN needed): a Noise relay without
 * authorized_keys is allowed on loopback but admits nobody, so it says so at start; with a
 * keys file it does not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadRelayConfig } from '../../src/config/relay.js';
import { encodeKey, generateKeyPair } from '../../src/identity/keys.js';
import { createRootLogger, lineSink } from '../../src/log/logger.js';
import { runRelay } from '../../src/relay/main.js';

async function warningsAtStart(extra: { authorizedKeys?: string }, dir: string): Promise<string[]> {
  const lines: Array<Record<string, unknown>> = [];
  const log = createRootLogger({ level: 'info', destination: lineSink((o) => lines.push(o)), isPretty: false });
  const cfg = await loadRelayConfig({ role: 'ingress', listen: '127.0.0.1:0', identity: path.join(dir, 'relay.key'), ...extra });
  const relay = await runRelay(cfg, { log });
  await relay.close();
  return lines.filter((l) => l.level === 40).map((l) => String(l.msg));
}

test('a loopback Noise relay without authorized_keys warns that it admits no client; with keys it does not', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'masque-relay-start-'));
  try {
    const none = await warningsAtStart({}, dir);
    assert.ok(none.some((m) => /no authorized_keys: no Noise client will be admitted/.test(m)), JSON.stringify(none));
    const keys = path.join(dir, 'authorized_keys');
    writeFileSync(keys, `${encodeKey(generateKeyPair().publicKey)} laptop\n`);
    const withKeys = await warningsAtStart({ authorizedKeys: keys }, dir);
    assert.ok(!withKeys.some((m) => /authorized_keys/.test(m)), JSON.stringify(withKeys));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
