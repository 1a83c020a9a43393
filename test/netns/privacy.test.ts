/**
 * Privacy Pass in the testbed (real `relay-cli serve` processes):
 *
 *   client ──── ingress (issuer) ──── egress (tokens required) ──── server
 *   10.99.1.1   .1.2 / .2.1            .2.2 / .3.1                   10.99.3.2
 *
 * A two-hop connection redeems a token; a replayed token and a token of an unknown issuer
 * key are refused with their codes; then the unlinkability check: nothing the egress logs
 * or exports as metrics can be joined with what the ingress/issuer logs (client address,
 * client key, token bytes or hashes, connection IDs, request ids, timing labels).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Testbed } from '../helpers/testbed.js';
import { Lab, metricValue } from '../helpers/lab.js';
import { issuerKey, mintTokens } from '../helpers/privacy-fixtures.js';
import { decodeKey, encodeKey, generateKeyPair } from '../../src/identity/keys.js';
import { IssuerKeyring } from '../../src/privacy/issuer.js';

const HELPERS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../helpers');
let tb: Testbed;
let lab: Lab;
/** Every token this test obtained or made (for the unlinkability check). */
const tokens: string[] = [];

before(async () => {
  tb = await Testbed.create({ ipv6: false, forwarding: 'none' });
  lab = await Lab.start(tb, { twoHop: true, privacy: { mode: 'required' } });
});

after(async () => {
  await lab?.stop();
  await tb?.dispose();
});

interface Answer { status: number; proxyStatus?: string; hasNoiseResponse?: boolean }

/** CONNECT-IP to the egress from the ingress namespace (where the egress is reachable), one connection each. */
async function connectIp(tokenHeaders: Array<[string, string]>[]): Promise<Answer[]> {
  const spec = {
    peer: { host: lab.egress.address, port: lab.egress.port },
    relayPublicKey: lab.egress.publicKey,
    clientPrivateKey: encodeKey(generateKeyPair().privateKey),
    requests: tokenHeaders.map((headers) => ({ protocol: 'connect-ip', path: '/.well-known/masque/ip/*/*/', noise: 'ok', headers })),
  };
  const r = await tb.exec('ingress', process.execPath, [path.join(HELPERS, 'masque-request.js'), JSON.stringify(spec)], { timeoutMs: 30_000 });
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Answer);
}

async function fetchTokens(count: number): Promise<string[]> {
  const spec = {
    peer: { host: lab.ingress!.address, port: lab.ingress!.port },
    relayPublicKey: lab.ingress!.publicKey,
    clientPrivateKey: encodeKey(lab.client.privateKey),
    egressPublicKey: lab.egress.publicKey,
    count,
  };
  const r = await tb.exec('client', process.execPath, [path.join(HELPERS, 'privacy-fetch.js'), JSON.stringify(spec)], { timeoutMs: 60_000 });
  const out = r.stdout.trim().split('\n').filter(Boolean);
  tokens.push(...out);
  return out;
}

const auth = (t: string): [string, string] => ['authorization', `PrivateToken token="${t}"`];

test('two hops with a token: the client fetches a batch from the ingress and redeems one at the egress', async () => {
  const c = await lab.startClient(lab.clientConfig({ privateTokens: true }));
  try {
    const r = await tb.exec('client', 'ping', ['-c', '3', '-i', '0.2', '-W', '2', tb.addr.server.v4], { allowFail: true, timeoutMs: 15_000 });
    assert.match(r.stdout, /3 received/);
    const em = await lab.metrics(lab.egress);
    assert.ok(metricValue(em, 'masque_relay_requests_total', { kind: 'connect-ip', status: '200' }) >= 1);
    const im = await lab.metrics(lab.ingress!);
    assert.ok(metricValue(im, 'masque_relay_requests_total', { kind: 'plain', status: '200' }) >= 2, 'directory + token requests served by the ingress');
  } finally {
    assert.equal(await lab.stopClient(c), 0);
  }
});

test('a replayed token on a second connection is refused (403 ERR_PRIVACY_DOUBLE_SPEND); no token → refused', async () => {
  const [t] = await fetchTokens(2);
  const [first, replay, none] = await connectIp([[auth(t!)], [auth(t!)], []]);
  assert.equal(first!.status, 200, JSON.stringify(first));
  assert.equal(first!.hasNoiseResponse, true, 'the egress still answers the one-off Noise hello (pinning)');
  assert.equal(replay!.status, 403);
  assert.match(replay!.proxyStatus ?? '', /ERR_PRIVACY_DOUBLE_SPEND/);
  assert.ok(none!.status === 403 || none!.status === 407, `no token: ${JSON.stringify(none)}`);
  const m = await lab.metrics(lab.egress);
  assert.ok(metricValue(m, 'masque_relay_auth_failures_total', { reason: 'ERR_PRIVACY_DOUBLE_SPEND' }) >= 1);
});

test('a token of an unknown issuer key is refused (403 ERR_PRIVACY_UNKNOWN_KEY); a malformed one 400', async () => {
  const [foreign] = await mintTokens(new IssuerKeyring([await issuerKey('foreign', Date.now())]), decodeKey(lab.egress.publicKey), 1);
  const b64 = Buffer.from(foreign!).toString('base64url');
  tokens.push(b64);
  const [unknown, malformed] = await connectIp([[auth(b64)], [auth('AAI')]]);
  assert.equal(unknown!.status, 403);
  assert.match(unknown!.proxyStatus ?? '', /ERR_PRIVACY_UNKNOWN_KEY/);
  assert.equal(malformed!.status, 400);
  assert.match(malformed!.proxyStatus ?? '', /ERR_PRIVACY_MALFORMED/);
});

/** Leaf values of log records under keys that identify something (ids, peers, keys, timings). */
function identifiers(logs: Array<Record<string, unknown>>): Set<string> {
  const out = new Set<string>();
  const walk = (v: unknown, key: string) => {
    if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) walk(x, k);
      return;
    }
    if (/cid|conn|req|flow|stream|peer|key|token|session|since|elapsed|ms$/i.test(key) && String(v).length >= 4) out.add(String(v));
  };
  logs.forEach((l) => walk(l, ''));
  return out;
}

test('unlinkability: no value the egress records appears in what the ingress/issuer records', async () => {
  const ingressText = JSON.stringify(lab.ingress!.logs) + (await lab.metrics(lab.ingress!));
  const egressText = JSON.stringify(lab.egress.logs) + (await lab.metrics(lab.egress));
  const clientAddr = tb.links['client-ingress'].leftAddr.v4;
  const sensitive = new Map<string, string>([
    [clientAddr, 'client address'],
    [encodeKey(lab.client.publicKey), 'client public key'],
    [Buffer.from(lab.client.publicKey).toString('hex'), 'client public key (hex)'],
  ]);
  for (const t of tokens) {
    const b = Buffer.from(t, 'base64url');
    sensitive.set(t, 'token');
    sensitive.set(b.toString('hex').slice(0, 32), 'token (hex)');
    sensitive.set(b.subarray(2, 34).toString('hex'), 'token nonce');
    sensitive.set(createHash('sha256').update(b).digest('hex').slice(0, 16), 'token hash');
  }
  for (const v of identifiers(lab.ingress!.logs)) if (v !== lab.egress.address && v !== lab.egress.publicKey) sensitive.set(v, 'ingress identifier');
  for (const [v, what] of sensitive) assert.ok(!egressText.includes(v), `egress records ${what}: ${v}`);
  // And the other way: no identifier of the egress's records appears at the ingress (the
  // ingress's own address is what the egress legitimately sees as its peer).
  for (const v of identifiers(lab.egress.logs)) {
    if (v === lab.ingress!.address || v === lab.egress.address || v === lab.egress.publicKey) continue;
    assert.ok(!ingressText.includes(v), `ingress records egress identifier ${v}`);
  }
  assert.ok(tokens.length >= 3, 'the check saw the tokens of the earlier tests');
});
