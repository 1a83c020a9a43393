// src/client/plan.ts planChains: two hops never run through one relay, whatever names the
// connect request or the failover list bring in (the config check only compares names).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseClientConfig } from '../../../src/config/client.js';
import { encodeKey, generateKeyPair } from '../../../src/identity/keys.js';
import { planChains } from '../../../src/client/plan.js';

const key = () => encodeKey(generateKeyPair().publicKey);
const egressKey = key();
const cfg = parseClientConfig(`private_key = "${encodeKey(generateKeyPair().privateKey)}"
ingress = "a"
egress = "b"
[[relays]]
name = "a"
address = "192.0.2.1:4433"
public_key = "${key()}"
role = "ingress"
[[relays]]
name = "b"
address = "192.0.2.2:4433"
public_key = "${egressKey}"
role = "egress"
[[relays]]
name = "b-again"
address = "192.0.2.3:4433"
public_key = "${egressKey}"
role = "ingress"
[[relays]]
name = "d"
address = "192.0.2.4:4433"
public_key = "${key()}"
role = "ingress"
`, 'c.toml');

test('two hops: the failover list leaves out a relay that is the egress under another name', async () => {
  const plans = await planChains(cfg, {});
  assert.deepEqual(plans.map((p) => p.first.address), ['192.0.2.1:4433', '192.0.2.4:4433']);
  assert.ok(plans.every((p) => p.kind === 'two-hop' && p.egress?.address === '192.0.2.2:4433'));
});

test('two hops: --ingress/--egress naming one relay (by name, key or address) is ERR_TUNNEL_CONFIG', async () => {
  for (const opts of [{ ingress: 'b', egress: 'b' }, { ingress: 'b-again' }]) {
    await assert.rejects(planChains(cfg, opts), (e: Error & { code?: string }) => e.code === 'ERR_TUNNEL_CONFIG' && /same relay/.test(e.message), JSON.stringify(opts));
  }
});
