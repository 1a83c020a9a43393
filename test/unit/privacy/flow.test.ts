/**
 * Issue → redeem → verify with real blind RSA (library client and issuer, our sync
 * verifier): double spend, unknown key, another egress's token, tampering, key rotation
 * with grace, the wallet's batches and refills, and the egress authorizer's answers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { issuerKey, MemoryIssuer, mintTokens } from '../../helpers/privacy-fixtures.js';
import { IssuerKeyring, issueToken, IssuanceBudget } from '../../../src/privacy/issuer.js';
import { KeySet, parseIssuerDirectory, parseIssuerPublicKey } from '../../../src/privacy/key-set.js';
import { TokenVerifier } from '../../../src/privacy/verifier.js';
import { SpentTokenStore } from '../../../src/privacy/spent-store.js';
import { challengeDigest, egressChallenge } from '../../../src/privacy/challenge.js';
import { PrivateTokenEgressAuthorizer } from '../../../src/privacy/egress-authorizer.js';
import { TokenWallet } from '../../../src/privacy/wallet.js';
import { formatPrivateTokenCredential } from '../../../src/privacy/token.js';
import { PrivacyError } from '../../../src/privacy/errors.js';
import { generateKeyPair } from '../../../src/identity/keys.js';
import { ReplayGuard } from '../../../src/identity/replay-guard.js';
import { createClientHello, finishClient } from '../../../src/identity/noise-auth.js';
import { composeAuthorizers } from '../../../src/identity/authorizer.js';

const HOUR = 3_600_000;
const egress = generateKeyPair();
const CERT = new Uint8Array(createHash('sha256').update('cert').digest());

function verifierFor(keys: KeySet, spent = new SpentTokenStore(1000), egressKey = egress.publicKey): TokenVerifier {
  return new TokenVerifier({ keys: () => keys, challengeDigest: challengeDigest(egressChallenge('masque-relay-issuer', egressKey)), spent });
}

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
    return 'ok';
  } catch (e) {
    assert.ok(e instanceof PrivacyError, String(e));
    return e.code;
  }
};

test('issue → redeem → verify; the same token twice is a double spend', async () => {
  const k = await issuerKey('a');
  const ring = new IssuerKeyring([k]);
  const [t1, t2] = await mintTokens(ring, egress.publicKey, 2);
  assert.equal(t1!.length, 354);
  const v = verifierFor(new KeySet([k.publicKey], HOUR));
  assert.deepEqual(v.verify(t1!, 1000), { tokenType: 2 });
  assert.equal(codeOf(() => v.verify(t1!, 2000)), 'ERR_PRIVACY_DOUBLE_SPEND');
  assert.deepEqual(v.verify(t2!, 3000), { tokenType: 2 }, 'a second token of the batch is independent');
});

test('unknown issuer key, another egress, tampered authenticator → stable codes, nothing spent', async () => {
  const [a, b] = [await issuerKey('a'), await issuerKey('b')];
  const [fromB] = await mintTokens(new IssuerKeyring([b]), egress.publicKey, 1);
  const spent = new SpentTokenStore(1000);
  const v = verifierFor(new KeySet([a.publicKey], HOUR), spent);
  assert.equal(codeOf(() => v.verify(fromB!, 0)), 'ERR_PRIVACY_UNKNOWN_KEY');
  const [elsewhere] = await mintTokens(new IssuerKeyring([a]), generateKeyPair().publicKey, 1);
  assert.equal(codeOf(() => v.verify(elsewhere!, 0)), 'ERR_PRIVACY_CHALLENGE', 'a token for another egress');
  const [good] = await mintTokens(new IssuerKeyring([a]), egress.publicKey, 1);
  const bad = Uint8Array.from(good!);
  bad[200] ^= 1;
  assert.equal(codeOf(() => v.verify(bad, 0)), 'ERR_PRIVACY_SIGNATURE');
  assert.equal(spent.size, 0, 'refused tokens never enter the store');
  assert.equal(codeOf(() => v.verify(good!, 0)), 'ok');
});

test('rotation: directory carries current + previous; the previous key is refused after its grace', async () => {
  const old = await issuerKey('rot', 0);
  const next = await issuerKey('rot', 10 * HOUR);
  const ring1 = new IssuerKeyring([old]);
  assert.equal(ring1.isRotationDue(5 * HOUR, 10 * HOUR), false);
  assert.equal(ring1.isRotationDue(10 * HOUR, 10 * HOUR), true);
  const ring2 = ring1.rotated(next);
  assert.equal(ring2.current, next);
  const dir = parseIssuerDirectory(JSON.stringify(ring2.directory()));
  assert.deepEqual(dir.map((k) => [k.idHex, k.notBeforeMs]), [[next.publicKey.idHex, 10 * HOUR], [old.publicKey.idHex, 0]]);
  const [oldToken, oldToken2] = await mintTokens(ring1, egress.publicKey, 2);
  const v = verifierFor(new KeySet(dir, 2 * HOUR));
  assert.equal(codeOf(() => v.verify(oldToken!, 11 * HOUR)), 'ok', 'previous key within grace');
  assert.equal(codeOf(() => v.verify(oldToken2!, 12 * HOUR)), 'ERR_PRIVACY_UNKNOWN_KEY', 'previous key after grace');
  // A third rotation drops the oldest key from the ring, so it disappears from the directory.
  const third = ring2.rotated(await issuerKey('rot', 20 * HOUR));
  assert.ok(!third.directory()['token-keys'].some((k) => k['token-key'] === Buffer.from(old.publicKey.tokenKey).toString('base64url')));
  // The issuer signs with the current key only: a request for the previous one is refused.
  await assert.rejects(() => mintTokens(ring2, egress.publicKey, 1).then(async () => {
    const w = new TokenWallet({ issuerName: 'masque-relay-issuer', batchSize: 1, refillBelow: 0 });
    const iss = new MemoryIssuer(ring1);
    iss.ring = ring2;
    const stale = { fetchDirectory: () => new MemoryIssuer(ring1).fetchDirectory(), requestToken: (b: Uint8Array) => iss.requestToken(b) };
    await w.refill(stale, egress.publicKey, 11 * HOUR);
  }), (e: unknown) => e instanceof PrivacyError && e.code === 'ERR_PRIVACY_ISSUER_KEY');
});

test('issuer: malformed requests and the per-client budget', async () => {
  const ring = new IssuerKeyring([await issuerKey('a')]);
  await assert.rejects(issueToken(ring, 'i', new Uint8Array(10).fill(0).map((_, i) => (i === 1 ? 2 : 0))), (e: unknown) => (e as PrivacyError).code === 'ERR_PRIVACY_MALFORMED');
  await assert.rejects(issueToken(ring, 'i', new Uint8Array(259)), (e: unknown) => (e as PrivacyError).code === 'ERR_PRIVACY_TOKEN_TYPE');
  const req = new Uint8Array(259);
  req[1] = 2;
  req[2] = ring.current.publicKey.id[31]!;
  req.fill(0xff, 3); // blinded_msg ≥ n: refused by blind RSA (RFC 9474 §4.3)
  await assert.rejects(issueToken(ring, 'i', req), (e: unknown) => (e as PrivacyError).code === 'ERR_PRIVACY_MALFORMED');
  const budget = new IssuanceBudget(2, HOUR, 2);
  assert.deepEqual([budget.take('a', 0), budget.take('a', 1), budget.take('a', 2)], [true, true, false]);
  assert.equal(budget.take('a', HOUR), true, 'a new window');
  budget.take('b', 0);
  budget.take('c', 0); // evicts the oldest client: memory stays at maxClients
  assert.equal(budget.take('b', 1), true);
});

test('wallet: fetches a batch ahead, takes one per session, refills when low, drops rotated-out tokens', async () => {
  const k1 = await issuerKey('w', 0);
  const iss = new MemoryIssuer(new IssuerKeyring([k1]));
  const w = new TokenWallet({ issuerName: 'masque-relay-issuer', batchSize: 4, refillBelow: 2 });
  assert.equal(w.take(egress.publicKey), null);
  const [n1, n2] = await Promise.all([w.refill(iss, egress.publicKey), w.refill(iss, egress.publicKey)]);
  assert.equal(n1, 4);
  assert.equal(n2, 4, 'concurrent refills share one batch');
  assert.equal(iss.requests, 4);
  assert.equal(w.count(generateKeyPair().publicKey), 0, 'tokens are per egress');
  w.take(egress.publicKey);
  w.take(egress.publicKey);
  assert.equal(w.isLow(egress.publicKey), false);
  w.take(egress.publicKey);
  assert.equal(w.isLow(egress.publicKey), true);
  assert.equal(await w.refill(iss, egress.publicKey), 3);
  // Two rotations later the wallet's tokens of k1 are useless: a refill drops them.
  iss.ring = new IssuerKeyring([await issuerKey('w', 1), await issuerKey('w', 2)]);
  assert.equal(await w.refill(iss, egress.publicKey, 10), 4);
  const v = verifierFor(new KeySet(parseIssuerDirectory(await iss.fetchDirectory()), HOUR));
  for (let i = 0; i < 4; i++) assert.equal(codeOf(() => v.verify(w.take(egress.publicKey)!, 10)), 'ok');
});

test('egress authorizer: token + Noise answer; combined mode checks the source; no token → falls through (407)', async () => {
  const k = await issuerKey('a');
  const tokens = await mintTokens(new IssuerKeyring([k]), egress.publicKey, 3);
  const replay = new ReplayGuard();
  const mk = (trustedSources?: string[]) => new PrivateTokenEgressAuthorizer({
    verifier: verifierFor(new KeySet([k.publicKey], HOUR)), challenge: 'PrivateToken challenge="x"', trustedSources, noise: { relayStatic: egress, replay },
  });
  const oneOff = generateKeyPair();
  const hello = createClientHello({ clientStatic: oneOff, relayPublicKey: egress.publicKey, tlsCertSha256: CERT, nowMs: Date.now() });
  const req = (headers: [string, string][], peerAddress = '10.0.0.1') => ({ headers, tlsCertSha256: CERT, peerAddress, nowMs: Date.now() });
  const r = mk().authorize(req([['masque-noise', hello.headerValue], ['authorization', formatPrivateTokenCredential(tokens[0]!)]]));
  assert.ok(r?.ok);
  assert.deepEqual(r.principal, { kind: 'private-token', tokenType: 2 });
  finishClient(hello.state, r.responseHeaders.find(([n]) => n === 'masque-noise')![1]);
  const combined = mk(['10.99.2.1/32']);
  const untrusted = combined.authorize(req([['proxy-authorization', formatPrivateTokenCredential(tokens[1]!)]]));
  assert.deepEqual(untrusted && !untrusted.ok && [untrusted.code, untrusted.httpStatus], ['ERR_PRIVACY_UNTRUSTED_SOURCE', 403]);
  assert.ok(combined.authorize(req([['proxy-authorization', formatPrivateTokenCredential(tokens[1]!)]], '10.99.2.1'))?.ok);
  const both = mk().authorize(req([['authorization', formatPrivateTokenCredential(tokens[2]!)], ['proxy-authorization', formatPrivateTokenCredential(tokens[2]!)]]));
  assert.deepEqual(both && !both.ok && both.code, 'ERR_PRIVACY_MALFORMED');
  assert.equal(mk().authorize(req([['authorization', 'Bearer abc']])), null);
  const composed = composeAuthorizers([mk()]).authorize(req([]));
  assert.equal(composed.ok, false);
  assert.deepEqual(!composed.ok && [composed.httpStatus, composed.responseHeaders], [407, [['proxy-authenticate', 'PrivateToken challenge="x"']]]);
  const malformed = mk().authorize(req([['authorization', 'PrivateToken token="AAI"']]));
  assert.deepEqual(malformed && !malformed.ok && [malformed.code, malformed.httpStatus], ['ERR_PRIVACY_MALFORMED', 400]);
});

test('key parsing: a non-PSS key or junk is a config error', () => {
  assert.throws(() => parseIssuerPublicKey('AAAA'), (e: unknown) => (e as { code: string }).code === 'ERR_PRIVACY_CONFIG');
  assert.throws(() => parseIssuerDirectory('{"token-keys": 3}'), (e: unknown) => (e as { code: string }).code === 'ERR_PRIVACY_CONFIG');
  assert.deepEqual(parseIssuerDirectory('{"token-keys":[{"token-type":1,"token-key":"x"}]}'), [], 'other token types are skipped');
});
