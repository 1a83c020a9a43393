/**
 * What one connection pass asks quiche, in which order (quic/driver.ts flush). On an idle
 * tunnel each napi call costs microseconds on cold caches (docs/benchmarks.md), so the packet
 * goes out before the bookkeeping (retired CIDs, path events), and no call asks what another
 * already answered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { memoryEchoPair } from '../../helpers/quic.js';

const WATCHED = ['send', 'recv', 'retiredScidNext', 'pathEventNext', 'newSourceCid', 'dgramRecvQueueLen', 'isReadable', 'dgramRecv', 'isClosed'] as const;

/** Replaces the watched methods of a native connection with recording wrappers. */
function record(native: Record<string, unknown>): string[] {
  const calls: string[] = [];
  for (const name of WATCHED) {
    const f = native[name] as (...a: unknown[]) => unknown;
    native[name] = (...a: unknown[]) => {
      const r = f.apply(native, a);
      calls.push(name === 'send' && r === null ? 'send:none' : name);
      return r;
    };
  }
  return calls;
}

// ACKs at once on both sides: every pass sends; 50 ms for the handshake's CIDs and ACKs to settle.
const echoPair = () => memoryEchoPair({ serverAckDelayMs: 0, clientAckDelayMs: 0, settleMs: 50 });

test('a pass that echoes a datagram sends it before it looks at retired CIDs and path events', async () => {
  const { srv, conn, app, close } = await echoPair();
  const calls = record((srv as unknown as { conn: Record<string, unknown> }).conn);
  conn.dgramSend(new Uint8Array(100).fill(3));
  conn.wake();
  await app.until(() => app.dgramCount === 1);
  const firstSend = calls.indexOf('send');
  assert.ok(firstSend > calls.indexOf('recv'), `the echo was sent: ${calls.join(' ')}`);
  assert.ok(calls.includes('retiredScidNext') && calls.includes('pathEventNext'), 'the CID bookkeeping still runs');
  assert.ok(firstSend < calls.indexOf('retiredScidNext'), `send first: ${calls.join(' ')}`);
  assert.ok(firstSend < calls.indexOf('pathEventNext'), `send first: ${calls.join(' ')}`);
  // isReadable() already counts queued DATAGRAMs: asking the queue length as well is one more call.
  assert.equal(calls.filter((c) => c === 'dgramRecvQueueLen').length, 0, calls.join(' '));
  await close();
});

test('a CID issued after the send (to replace a retired one) still reaches the peer at once', async () => {
  const { srv, conn, close } = await echoPair();
  const calls = record((srv as unknown as { conn: Record<string, unknown> }).conn);
  const cn = (conn as unknown as { conn: { availableDcids(): number; retireDestinationCid(seq: number): void } }).conn;
  const spare = cn.availableDcids();
  assert.ok(spare >= 1, 'the server handed out spare CIDs');
  // The client retires an unused spare (RFC 9000 §19.16); the server replaces it (§5.1.1).
  cn.retireDestinationCid(1);
  conn.wake();
  assert.equal(cn.availableDcids(), spare - 1);
  const t0 = Date.now();
  while (cn.availableDcids() < spare && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 1));
  assert.equal(cn.availableDcids(), spare, `the replacement arrived: ${calls.join(' ')}`);
  const issued = calls.indexOf('newSourceCid');
  assert.ok(issued > calls.indexOf('retiredScidNext'), calls.join(' '));
  assert.ok(calls.slice(issued).includes('send'), `a send after issuing: ${calls.join(' ')}`);
  await close();
});

test('a pass woken only by the app (a packet to send) asks quiche nothing before its send', async () => {
  const { conn, app, close } = await echoPair();
  const calls = record((conn as unknown as { conn: Record<string, unknown> }).conn);
  conn.dgramSend(new Uint8Array(100).fill(4));
  conn.wake();
  await app.until(() => app.dgramCount === 1);
  // Nothing was received since the last pass, so the connection cannot have closed since that
  // pass checked (a close happens inside recv, onTimeout or send, each followed by a check).
  assert.equal(calls[0], 'send', calls.join(' '));
  assert.ok(calls.includes('isClosed'), `still asked after the send: ${calls.join(' ')}`);
  await close();
});
