// ProxyForwarding and ClientForwarding wired to each other through a fake socket port: the
// registration exchange of draft-ietf-masque-quic-proxy-07 §2.3, both data directions, renewal
// after a migration, the bounds on a hostile client, and what stays tunnelled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { RawPacketPort } from '../../../src/quic/app.js';
import type { HostPort } from '../../../src/quic/path.js';
import { ProxyForwarding } from '../../../src/masque/quic-forwarding/proxy-side.js';
import { ClientForwarding } from '../../../src/masque/quic-forwarding/client-side.js';
import { newScrambleKey } from '../../../src/masque/quic-forwarding/scramble.js';
import { parseCidCapsule, type CidCapsule, CAPSULE_ACK_CLIENT_CID } from '../../../src/masque/quic-forwarding/capsules.js';
import { cidCapsuleParts } from '../../../src/masque/quic-forwarding/packet.js';
import { CapsuleError } from '../../../src/masque/errors.js';
import { MasqueError } from '../../../src/core/errors.js';
import { acceptForwarding, answerForwarding, offerForwarding } from '../../../src/masque/quic-forwarding/negotiate.js';
import { PROXY_QUIC_FORWARDING } from '../../../src/masque/quic-forwarding/header.js';

/** A socket port: routes by the 16-byte DCID, records what was sent. */
class FakePort implements RawPacketPort {
  readonly cidLen = 16;
  peer: HostPort = { host: '192.0.2.1', port: 4000 };
  readonly sent: Uint8Array[] = [];
  readonly routes = new Map<string, (pkt: Uint8Array, from: HostPort) => void>();
  flushes = 0;
  send(pkt: Uint8Array): void {
    this.sent.push(Uint8Array.from(pkt));
  }
  flush(): void {
    this.flushes++;
  }
  addRoute(cid: Uint8Array, h: (pkt: Uint8Array, from: HostPort) => void): boolean {
    const k = Buffer.from(cid).toString('hex');
    if (cid.length !== this.cidLen || this.routes.has(k)) return false;
    this.routes.set(k, h);
    return true;
  }
  removeRoute(cid: Uint8Array): void {
    this.routes.delete(Buffer.from(cid).toString('hex'));
  }
  /** Delivers `pkt` to the route its DCID names; false when none. */
  receive(pkt: Uint8Array, from: HostPort): boolean {
    const h = this.routes.get(Buffer.from(pkt.subarray(1, 17)).toString('hex'));
    h?.(pkt, from);
    return h !== undefined;
  }
}

const CLIENT_CID = randomBytes(16);
const TARGET_CID = randomBytes(16);

function shortPacket(dcid: Uint8Array, len = 80): Uint8Array {
  const p = Uint8Array.from(randomBytes(len));
  p[0] = 0x40 | (p[0] & 0x3f);
  p.set(dcid, 1);
  return p;
}

function setup() {
  const clientPort = new FakePort();
  const proxyPort = new FakePort();
  proxyPort.peer = { host: '198.51.100.7', port: 5555 }; // the client as the proxy sees it
  clientPort.peer = { host: '203.0.113.1', port: 443 }; // the proxy as the client sees it
  const toTarget: Uint8Array[] = [];
  const delivered: Uint8Array[] = [];
  const toProxy: [number, Uint8Array][] = [];
  const toClient: [number, Uint8Array][] = [];
  const kc = newScrambleKey();
  const kp = newScrambleKey();
  const proxy = new ProxyForwarding(proxyPort, kp, kc, {
    sendCapsule: (t, v) => toClient.push([t, v]),
    toTarget: (p) => (toTarget.push(Uint8Array.from(p)), true),
  });
  const client = new ClientForwarding(clientPort, kc, kp, {
    sendCapsule: (t, v) => toProxy.push([t, v]),
    deliver: (p) => delivered.push(Uint8Array.from(p)),
  });
  /** Moves queued capsules both ways until quiet. */
  const pump = () => {
    while (toProxy.length || toClient.length) {
      for (const [t, v] of toProxy.splice(0)) proxy.onCapsule(t, v);
      for (const [t, v] of toClient.splice(0)) client.onCapsule(t, v);
    }
  };
  /** Client packets the proxy gets on its socket (as the client's 4-tuple). */
  const clientToProxy = (from = proxyPort.peer) => {
    for (const p of clientPort.sent.splice(0)) proxyPort.receive(p, from);
  };
  const proxyToClient = () => {
    for (const p of proxyPort.sent.splice(0)) clientPort.receive(p, clientPort.peer);
  };
  return { clientPort, proxyPort, proxy, client, toTarget, delivered, toProxy, toClient, pump, clientToProxy, proxyToClient };
}

test('registration, then both directions forwarded: CIDs restored, scrambled on the client link', () => {
  const s = setup();
  const up = shortPacket(TARGET_CID);
  assert.equal(s.client.send(up), false, 'nothing forwarded before ACK_TARGET_CID');
  s.client.start(CLIENT_CID, TARGET_CID);
  s.pump();
  assert.equal(s.client.isSending, true);
  assert.equal(s.client.send(up), true);
  const onWire = s.clientPort.sent[0];
  assert.notDeepEqual(onWire.subarray(1, 17), TARGET_CID, 'the target VCID, not the CID, on the client link');
  assert.notDeepEqual(onWire.subarray(17), up.subarray(17), 'scrambled');
  s.clientToProxy();
  assert.deepEqual(s.toTarget, [up], 'the egress gets exactly the packet the client built');
  const down = shortPacket(CLIENT_CID, 300);
  assert.equal(s.proxy.fromTarget(down), true);
  assert.notDeepEqual(s.proxyPort.sent[0].subarray(1, 17), CLIENT_CID);
  s.proxyToClient();
  assert.deepEqual(s.delivered, [down]);
  assert.deepEqual(s.proxy.counters, { fwdUp: 1, fwdDown: 1, fwdDrops: 0 });
  s.client.flush();
  assert.equal(s.clientPort.flushes, 1, 'a burst that forwarded flushes the socket once');
  s.client.flush();
  assert.equal(s.clientPort.flushes, 1, 'and not again without new packets');
});

test('what stays tunnelled: long headers, other CIDs, packets too short to scramble; down before ACK_CLIENT_VCID', () => {
  const s = setup();
  s.client.start(CLIENT_CID, TARGET_CID);
  // The proxy's ACK_CLIENT_CID reaches the client, but the client's ACK_CLIENT_VCID has not
  // reached the proxy yet: it must not forward down (§5.5).
  for (const [t, v] of s.toProxy.splice(0)) s.proxy.onCapsule(t, v);
  assert.equal(s.proxy.fromTarget(shortPacket(CLIENT_CID)), false);
  s.pump();
  const long = shortPacket(TARGET_CID);
  long[0] = 0xc0;
  assert.equal(s.client.send(long), false, 'long header (§6.1)');
  assert.equal(s.client.send(shortPacket(randomBytes(16))), false, 'a CID not registered');
  assert.equal(s.client.send(shortPacket(TARGET_CID, 1 + 16 + 15)), false, '15 bytes after the CID');
  assert.equal(s.client.send(shortPacket(TARGET_CID, 1 + 16 + 16)), true, '16 are enough');
  const longDown = shortPacket(CLIENT_CID);
  longDown[0] = 0xc0;
  assert.equal(s.proxy.fromTarget(longDown), false);
  assert.equal(s.proxy.fromTarget(shortPacket(CLIENT_CID)), true);
});

test('a forwarded packet from another 4-tuple is dropped on both sides', () => {
  const s = setup();
  s.client.start(CLIENT_CID, TARGET_CID);
  s.pump();
  s.client.send(shortPacket(TARGET_CID));
  s.clientToProxy({ host: '198.51.100.99', port: 5555 });
  assert.equal(s.toTarget.length, 0);
  assert.equal(s.proxy.counters.fwdDrops, 1);
  s.proxy.fromTarget(shortPacket(CLIENT_CID));
  for (const p of s.proxyPort.sent.splice(0)) s.clientPort.receive(p, { host: '203.0.113.66', port: 443 });
  assert.equal(s.delivered.length, 0);
  assert.equal(s.client.stats.fwdDrops, 1);
});

test('renewal after a migration: new VCIDs, the old routes gone, tunnelled until acknowledged', () => {
  const s = setup();
  s.client.start(CLIENT_CID, TARGET_CID);
  s.pump();
  const oldRoutes = [...s.proxyPort.routes.keys(), ...s.clientPort.routes.keys()];
  assert.equal(s.client.renew(), true);
  assert.equal(s.client.send(shortPacket(TARGET_CID)), false, 'tunnelled while the renewal is in flight');
  s.pump();
  const newRoutes = [...s.proxyPort.routes.keys(), ...s.clientPort.routes.keys()];
  assert.equal(newRoutes.length, 2);
  for (const r of newRoutes) assert.ok(!oldRoutes.includes(r), 'no VCID reused on the new path');
  s.client.send(shortPacket(TARGET_CID));
  s.clientToProxy();
  assert.equal(s.toTarget.length, 1);
  // Renewing again and again keeps working: MAX_CONNECTION_IDS follows (§5.7).
  for (let i = 0; i < 5; i++) {
    assert.equal(s.client.renew(), true);
    s.pump();
  }
  assert.equal(s.proxyPort.routes.size, 1);
  assert.equal(s.clientPort.routes.size, 1);
});

function capsules(list: [number, Uint8Array][]): CidCapsule[] {
  return list.splice(0).map(([t, v]) => parseCidCapsule(t, v)!);
}

test('a hostile client: a second CID, too many registrations, short CIDs, proxy-only capsules', () => {
  const s = setup();
  const reg = (c: CidCapsule) => s.proxy.onCapsule(...cidCapsuleParts(c));
  reg({ type: 'register-client', cid: CLIENT_CID });
  reg({ type: 'register-client', cid: randomBytes(16) }); // another while one is held
  let out = capsules(s.toClient);
  // Each registration takes a sequence number and the proxy allows the next two (§5.7); the
  // state stays one mapping per kind whatever the client sends.
  assert.deepEqual(out.map((c) => c.type), ['max-cids', 'ack-client', 'max-cids', 'close-client']);
  const s2 = setup();
  for (let i = 0; i < 3; i++) s2.proxy.onCapsule(...cidCapsuleParts({ type: 'register-target', cid: randomBytes(16), resetToken: new Uint8Array(0) }));
  out = capsules(s2.toClient);
  assert.deepEqual(out.map((c) => c.type), ['max-cids', 'ack-target', 'max-cids', 'close-target', 'max-cids', 'close-target']);
  assert.equal(s2.proxyPort.routes.size, 1);
  // A 3-byte client CID is refused as conflict-prone (§5.8).
  const s3 = setup();
  s3.proxy.onCapsule(...cidCapsuleParts({ type: 'register-client', cid: Uint8Array.of(1, 2, 3) }));
  assert.deepEqual(capsules(s3.toClient).map((c) => c.type), ['max-cids', 'close-client']);
  // ACK_CLIENT_CID is a proxy's capsule (§5).
  assert.throws(() => s3.proxy.onCapsule(...cidCapsuleParts({ type: 'ack-client', cid: CLIENT_CID, vcid: randomBytes(16) })),
    (e: unknown) => e instanceof CapsuleError && e.code === 'ERR_CAPSULE_WRONG_SENDER');
  assert.throws(() => s3.client.onCapsule(...cidCapsuleParts({ type: 'register-client', cid: CLIENT_CID })),
    (e: unknown) => e instanceof CapsuleError && e.code === 'ERR_CAPSULE_WRONG_SENDER');
  // Not a CID capsule: left to the caller.
  assert.equal(s3.proxy.onCapsule(0x1234, new Uint8Array(0)), false);
});

test('the client declines a client VCID its router cannot key on; close() removes every route', () => {
  const s = setup();
  s.client.start(CLIENT_CID, TARGET_CID);
  s.client.onCapsule(CAPSULE_ACK_CLIENT_CID, cidCapsuleParts({ type: 'ack-client', cid: CLIENT_CID, vcid: randomBytes(8) })[1]);
  assert.deepEqual(capsules(s.toProxy).map((c) => c.type), ['register-client', 'register-target', 'close-client']);
  assert.equal(s.clientPort.routes.size, 0);
  const t = setup();
  t.client.start(CLIENT_CID, TARGET_CID);
  t.pump();
  t.client.close();
  t.proxy.close();
  assert.equal(t.clientPort.routes.size + t.proxyPort.routes.size, 0);
  assert.equal(t.client.send(shortPacket(TARGET_CID)), false);
});

test('negotiation (§3, §6.3.2): what the proxy answers and what the client accepts', () => {
  const port = new FakePort();
  const hooks = { sendCapsule: () => undefined, deliver: () => undefined };
  const offer = offerForwarding();
  assert.match(offer.field[1], /^\?1; accept-transform="scramble-dt"; scramble-key=:/);
  const answer = answerForwarding([offer.field], true)!;
  assert.match(answer.field[1], /^\?1; transform="scramble-dt"; scramble-key=:/);
  assert.deepEqual(answer.keys!.peer, offer.key);
  assert.ok(acceptForwarding(offer, [answer.field], port, hooks) instanceof ClientForwarding);
  // The proxy: no field, ?0, or ?1 without accept-transform → as if absent (null: no field back).
  assert.equal(answerForwarding([], true), null);
  assert.equal(answerForwarding([[PROXY_QUIC_FORWARDING, '?0']], true), null);
  assert.equal(answerForwarding([[PROXY_QUIC_FORWARDING, '?1']], true), null);
  // Identity only (we do not do it), scramble without a key, or the operator switch off → ?0.
  assert.equal(answerForwarding([[PROXY_QUIC_FORWARDING, '?1; accept-transform="identity"']], true)!.field[1], '?0');
  assert.equal(answerForwarding([[PROXY_QUIC_FORWARDING, '?1; accept-transform="scramble-dt"']], true)!.field[1], '?0');
  assert.equal(answerForwarding([offer.field], false)!.field[1], '?0');
  assert.equal(answerForwarding([[PROXY_QUIC_FORWARDING, 'not an sf item ;;']], true), null);
  // The client: ?0 or no field → no forwarding; scramble without a key → disabled; a transform
  // it did not offer → the request is aborted.
  assert.equal(acceptForwarding(offer, [], port, hooks), null);
  assert.equal(acceptForwarding(offer, [[PROXY_QUIC_FORWARDING, '?0']], port, hooks), null);
  assert.equal(acceptForwarding(offer, [[PROXY_QUIC_FORWARDING, '?1; transform="scramble-dt"']], port, hooks), null);
  assert.throws(() => acceptForwarding(offer, [[PROXY_QUIC_FORWARDING, '?1; transform="identity"']], port, hooks),
    (e: unknown) => e instanceof MasqueError && e.code === 'ERR_MASQUE_FORWARDING');
});
