import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  AnonymousAuthorizer, BearerAuthorizer, NoiseAuthorizer, TrustedSourceAuthorizer, composeAuthorizers,
  type AuthRequest, type HeaderField,
} from '../../../src/identity/authorizer.js';
import { AuthorizedKeys } from '../../../src/identity/authorized-keys.js';
import { BearerTokens } from '../../../src/identity/bearer.js';
import { createClientHello, finishClient } from '../../../src/identity/noise-auth.js';
import { ReplayGuard } from '../../../src/identity/replay-guard.js';
import { encodeKey, generateKeyPair } from '../../../src/identity/keys.js';

const NOW = Date.UTC(2025, 0, 1);
const CERT = new Uint8Array(createHash('sha256').update('cert').digest());
const TOKEN = 'secret-token-0123456789';
const relay = generateKeyPair();
const alice = generateKeyPair();

const req = (headers: HeaderField[], peerAddress = '198.51.100.7'): AuthRequest => ({ headers, tlsCertSha256: CERT, peerAddress, nowMs: NOW });
const hello = (clientStatic = alice, relayPublicKey = relay.publicKey) =>
  createClientHello({ clientStatic, relayPublicKey, tlsCertSha256: CERT, nowMs: NOW });

function ingressPolicy() {
  let keys = AuthorizedKeys.fromList([{ publicKey: encodeKey(alice.publicKey), name: 'alice' }]);
  const noise = new NoiseAuthorizer({ relayStatic: relay, authorizedKeys: () => keys, replay: new ReplayGuard() });
  const bearer = new BearerAuthorizer(new BearerTokens([{ id: 'ci', token: TOKEN }]));
  return { auth: composeAuthorizers([noise, bearer]), reload: (k: AuthorizedKeys) => { keys = k; } };
}

test('noise principal with name, and the response header the client verifies', () => {
  const { auth } = ingressPolicy();
  const h = hello();
  const r = auth.authorize(req([[':method', 'CONNECT'], ['masque-noise', h.headerValue]]));
  assert.ok(r.ok);
  assert.deepEqual(r.principal, { kind: 'noise', publicKey: encodeKey(alice.publicKey), name: 'alice' });
  const [[name, value]] = r.responseHeaders as [HeaderField];
  assert.equal(name, 'masque-noise');
  finishClient(h.state, value);
});

test('a failed noise hello is final (not retried as bearer) and carries code + status', () => {
  const { auth } = ingressPolicy();
  const r = auth.authorize(req([['masque-noise', hello(generateKeyPair()).headerValue], ['proxy-authorization', `Bearer ${TOKEN}`]]));
  assert.deepEqual([r.ok, !r.ok && r.code, !r.ok && r.httpStatus], [false, 'ERR_AUTH_UNKNOWN_KEY', 403]);
});

test('reloaded authorized keys apply to the next request', () => {
  const { auth, reload } = ingressPolicy();
  reload(AuthorizedKeys.empty());
  const r = auth.authorize(req([['masque-noise', hello().headerValue]]));
  assert.ok(!r.ok && r.code === 'ERR_AUTH_UNKNOWN_KEY');
});

test('bearer: good, bad, malformed, other schemes and repeated headers', () => {
  const { auth } = ingressPolicy();
  const ok = auth.authorize(req([['proxy-authorization', `Bearer ${TOKEN}`]]));
  assert.ok(ok.ok);
  assert.deepEqual(ok.principal, { kind: 'bearer', tokenId: 'ci' });
  const bad = auth.authorize(req([['proxy-authorization', 'bearer not-the-right-token']]));
  assert.ok(!bad.ok && bad.code === 'ERR_AUTH_BAD_TOKEN' && bad.httpStatus === 403);
  const malformed = auth.authorize(req([['proxy-authorization', 'Bearer a b']]));
  assert.ok(!malformed.ok && malformed.httpStatus === 400);
  const twice = auth.authorize(req([['proxy-authorization', `Bearer ${TOKEN}`], ['proxy-authorization', `Bearer ${TOKEN}`]]));
  assert.ok(!twice.ok && twice.code === 'ERR_AUTH_MALFORMED');
  const basic = auth.authorize(req([['proxy-authorization', 'Basic Zm9vOmJhcg==']]));
  assert.ok(!basic.ok && basic.code === 'ERR_AUTH_REQUIRED');
});

test('no credentials: 407 with the bearer challenge; 403 when nothing has a challenge', () => {
  const { auth } = ingressPolicy();
  const r = auth.authorize(req([]));
  assert.deepEqual(r, {
    ok: false, code: 'ERR_AUTH_REQUIRED', httpStatus: 407,
    responseHeaders: [['proxy-authenticate', 'Bearer realm="masque-relay"']],
  });
  const noiseOnly = composeAuthorizers([new NoiseAuthorizer({ relayStatic: relay, authorizedKeys: AuthorizedKeys.empty(), replay: new ReplayGuard() })]);
  const r2 = noiseOnly.authorize(req([]));
  assert.ok(!r2.ok && r2.httpStatus === 403 && r2.responseHeaders.length === 0);
});

test('anonymous admits everyone, after stronger authorizers had their turn', () => {
  const { auth } = ingressPolicy();
  const open = composeAuthorizers([auth, new AnonymousAuthorizer()]);
  // `auth` is itself composed and never returns null, so it answers first: order matters.
  assert.ok(!open.authorize(req([])).ok);
  const open2 = composeAuthorizers([new AnonymousAuthorizer()]);
  assert.deepEqual(open2.authorize(req([])), { ok: true, principal: { kind: 'anonymous' }, responseHeaders: [] });
});

test('egress: trusted source by address, with a one-off client key to pin the egress', () => {
  const egress = generateKeyPair();
  const ingressKey = generateKeyPair();
  const auth = composeAuthorizers([
    new TrustedSourceAuthorizer({ addresses: ['10.0.0.0/8', '2001:db8::/32'], noise: { relayStatic: egress, replay: new ReplayGuard({ maxEntries: 1024 }) } }),
    new NoiseAuthorizer({ relayStatic: egress, authorizedKeys: AuthorizedKeys.fromList([{ publicKey: encodeKey(ingressKey.publicKey), name: 'ingress-1' }]), replay: new ReplayGuard(), principalKind: 'trusted-ingress' }),
  ]);
  // Plain, by address.
  const a = auth.authorize(req([], '10.9.8.7'));
  assert.ok(a.ok);
  assert.deepEqual(a.principal, { kind: 'trusted-ingress', via: 'address', peerAddress: '10.9.8.7', rule: '10.0.0.0/8' });
  // With a one-off key: any key is fine, the client still verifies the egress.
  const oneOff = generateKeyPair();
  const h = hello(oneOff, egress.publicKey);
  const b = auth.authorize(req([['masque-noise', h.headerValue]], '2001:db8::5'));
  assert.ok(b.ok && b.principal.kind === 'trusted-ingress');
  assert.ok(!JSON.stringify(b.principal).includes(encodeKey(oneOff.publicKey)), 'egress principal holds no client key');
  finishClient(h.state, b.responseHeaders[0]![1]);
  // From elsewhere, a one-off key is not enough.
  const c = auth.authorize(req([['masque-noise', hello(generateKeyPair(), egress.publicKey).headerValue]], '203.0.113.1'));
  assert.ok(!c.ok && c.code === 'ERR_AUTH_UNKNOWN_KEY');
  // From elsewhere, with a trusted ingress key.
  const d = auth.authorize(req([['masque-noise', hello(ingressKey, egress.publicKey).headerValue]], '203.0.113.1'));
  assert.ok(d.ok);
  assert.deepEqual(d.principal, { kind: 'trusted-ingress', via: 'noise-key', publicKey: encodeKey(ingressKey.publicKey), name: 'ingress-1' });
  // From elsewhere, no credentials.
  const e = auth.authorize(req([], '203.0.113.1'));
  assert.ok(!e.ok && e.httpStatus === 403);
  assert.throws(() => new TrustedSourceAuthorizer({ addresses: ['10.0.0.0/33'] }), { code: 'ERR_CIDR_INVALID' });
});
