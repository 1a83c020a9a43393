/**
 * A third-party RFC 9484 proxy (issue 7): the client with `--template --ca
 * --proxy-authorization`, no Noise, TLS verified by CA. The proxy here is our relay in `both`
 * role with a CA-signed certificate and bearer-token auth, as any standard MASQUE proxy.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Testbed } from '../helpers/testbed.js';
import { Lab } from '../helpers/lab.js';
import { generateCert } from '../../src/quic/certs.js';

const TOKEN = 'lab-token-0123456789abcdef';
let tb: Testbed;
let lab: Lab;
let dir: string;
let caFile: string;
let otherCaFile: string;

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'masque-proxy-'));
  tb = await Testbed.create({ ipv6: false, forwarding: 'tunnel' });
  const ca = await generateCert({ names: ['lab proxy CA'], isCa: true });
  const other = await generateCert({ names: ['someone else CA'], isCa: true });
  const egressIp = tb.links['ingress-egress'].rightAddr.v4;
  const leaf = await generateCert({ names: ['proxy.lab', egressIp], issuer: ca });
  caFile = path.join(dir, 'ca.pem');
  otherCaFile = path.join(dir, 'other-ca.pem');
  writeFileSync(caFile, ca.certPem);
  writeFileSync(otherCaFile, other.certPem);
  writeFileSync(path.join(dir, 'proxy.crt'), leaf.certPem);
  writeFileSync(path.join(dir, 'proxy.key'), leaf.keyPem, { mode: 0o600 });
  const cfg = path.join(dir, 'proxy.toml');
  writeFileSync(cfg, `[[bearer_tokens]]\nid = "lab"\ntoken = "${TOKEN}"\n`);
  lab = await Lab.start(tb, {
    twoHop: false,
    egressArgs: ['--config', cfg, '--auth', 'bearer', '--cert', path.join(dir, 'proxy.crt'), '--cert-key', path.join(dir, 'proxy.key')],
  });
});

after(async () => {
  await lab?.stop();
  await tb?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const template = () => `https://${lab.egress.address}:${lab.egress.port}/.well-known/masque/ip/{target}/{ipproto}/`;

test('connects to an RFC 9484 proxy by template, TLS verified by CA, bearer token', async () => {
  const c = await lab.startClient(lab.clientConfig({ singleHop: true }), ['--template', template(), '--ca', caFile, '--proxy-authorization', `Bearer ${TOKEN}`]);
  try {
    assert.deepEqual((c.state!.chain as Array<{ role: string }>).map((h) => h.role), ['proxy']);
    const r = await tb.exec('client', 'ping', ['-c', '3', '-i', '0.2', '-W', '2', tb.addr.server.v4], { allowFail: true });
    assert.match(r.stdout, /3 received/);
  } finally {
    await lab.stopClient(c);
  }
});

test('refuses a proxy whose certificate another CA signed, and a wrong token', async () => {
  await assert.rejects(
    lab.startClient(lab.clientConfig({ singleHop: true }), ['--template', template(), '--ca', otherCaFile, '--proxy-authorization', `Bearer ${TOKEN}`], 15_000),
    /ERR_TUNNEL_HANDSHAKE|client exited/,
  );
  await assert.rejects(
    lab.startClient(lab.clientConfig({ singleHop: true }), ['--template', template(), '--ca', caFile, '--proxy-authorization', 'Bearer wrong-token-000000000'], 15_000),
    /40[137]|ERR_MASQUE_REFUSED|client exited/,
  );
});
