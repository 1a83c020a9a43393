// src/client/hop.ts noiseHello: what the relay reads from a hello's timestamp. With our
// long-term key (the ingress) it is to the nanosecond, strictly increasing; the one-off hello to
// the egress carries whole seconds, so its clock offset does not link a client's sessions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noiseHello, type Hop } from '../../../src/client/hop.js';
import { generateKeyPair } from '../../../src/identity/keys.js';
import { verifyClientHello } from '../../../src/identity/noise-auth.js';
import { MonotonicTimestamper, timestampToUnixMs, type Timestamp } from '../../../src/identity/noise-payload.js';
import type { ReplayGuard } from '../../../src/identity/replay-guard.js';

const certSha256 = new Uint8Array(32).fill(7);
const hop = { certSha256 } as unknown as Hop;

/** The timestamp a relay sees in `hello`, read through its own verification. */
function seenTimestamp(relay: ReturnType<typeof generateKeyPair>, headerValue: string): Timestamp {
  let seen: Timestamp | undefined;
  const replay = { isNewer: (_k: string, ts: Timestamp) => ((seen = ts), true), record: () => undefined } as unknown as ReplayGuard;
  verifyClientHello({ relayStatic: relay, headerValue, tlsCertSha256: certSha256, nowMs: Date.now(), isAuthorized: () => true, replay });
  return seen!;
}

test('the one-off hello carries whole seconds; the long-term one keeps strictly increasing timestamps', () => {
  const relay = generateKeyPair();
  for (let i = 0; i < 5; i++) {
    const ts = seenTimestamp(relay, noiseHello(hop, generateKeyPair(), relay.publicKey).headers[0]![1]);
    const ms = timestampToUnixMs(ts);
    assert.equal(ms % 1000, 0, `whole seconds: ${ms}`);
    assert.equal(new DataView(ts.buffer, ts.byteOffset).getUint32(8), 0, 'no nanoseconds');
    assert.ok(Math.abs(ms - Date.now()) < 2000);
  }
  const stamper = new MonotonicTimestamper();
  const client = generateKeyPair();
  const a = seenTimestamp(relay, noiseHello(hop, client, relay.publicKey, stamper).headers[0]![1]);
  const b = seenTimestamp(relay, noiseHello(hop, client, relay.publicKey, stamper).headers[0]![1]);
  assert.ok(Buffer.compare(Buffer.from(b), Buffer.from(a)) > 0, 'strictly increasing');
});
