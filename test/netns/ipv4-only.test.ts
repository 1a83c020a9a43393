/**
 * An IPv4-only egress (`ipv6_pool = "off"`) and a client in full-tunnel mode on a host that
 * has IPv6 on its physical link (the testbed with IPv6):
 *
 *   client ──── ingress ──── egress ──── server
 *   10.99.1.1 / fd00:99:1::1                    10.99.3.2 / fd00:99:3::2
 *
 * The relay assigns no IPv6 address. The client must still route IPv6 into the tunnel and
 * answer it "no route" there: IPv6 that left on the physical link would go around the VPN.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Testbed } from '../helpers/testbed.js';
import { Lab, type LabClient } from '../helpers/lab.js';
import { capture } from '../helpers/capture.js';

let tb: Testbed;
let lab: Lab;
const dir = mkdtempSync(path.join(tmpdir(), 'masque-v4only-'));

before(async () => {
  tb = await Testbed.create({ ipv6: true, forwarding: 'none' });
  const cfg = path.join(dir, 'egress.toml');
  writeFileSync(cfg, '[egress]\nipv6_pool = "off"\n');
  lab = await Lab.start(tb, { twoHop: true, egressArgs: ['--config', cfg] });
});

after(async () => {
  await lab?.stop();
  await tb?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** A TCP connect from the client namespace: the error code, or 'connected'. */
async function tcpConnect(host: string, port: number): Promise<string> {
  const js = `const s=require('net').connect({host:${JSON.stringify(host)},port:${port}});` +
    `s.on('connect',()=>{console.log('connected');s.destroy()});s.on('error',e=>console.log(e.code));` +
    `setTimeout(()=>{console.log('timeout');process.exit(0)},5000).unref()`;
  const r = await tb.exec('client', process.execPath, ['-e', js], { timeoutMs: 10_000 });
  return r.stdout.trim();
}

test('the egress runs without IPv6: no IPv6 NAT table, no IPv6 address on its TUN', async () => {
  const tables = (await tb.exec('egress', 'nft', ['list', 'tables'])).stdout;
  assert.match(tables, /table ip masque_relay_\d+/, tables);
  assert.doesNotMatch(tables, /table ip6 masque_relay_/, tables);
  const addrs = (await tb.exec('egress', 'ip', ['-o', 'addr', 'show', 'dev', 'mqegress0'])).stdout;
  assert.match(addrs, /inet 100\.64\.0\.1\/10/, addrs);
  assert.doesNotMatch(addrs, /inet6 fd/, addrs);
});

test('full tunnel, no IPv6 from the relay: IPv6 goes into the TUN and fails at once; nothing leaves on the physical link', async () => {
  const server6 = tb.addr.server.v6!;
  const uplink = tb.links['client-ingress'].leftDev;
  let c: LabClient | undefined;
  // Outside the tunnel, the client's IPv6 route to the server is its physical uplink.
  const [before] = JSON.parse((await tb.exec('client', 'ip', ['-j', '-6', 'route', 'get', server6])).stdout) as { dev: string }[];
  assert.equal(before.dev, uplink);
  try {
    c = await lab.startClient(lab.clientConfig(), ['--log-level', 'info']);
    assert.deepEqual((c.state!.addresses as string[]).map((a) => a.includes(':')), [false], 'one IPv4 address, no IPv6');
    assert.ok(c.output.some((l) => l.includes('"families":["IPv6"]')), c.output.join('\n'));
    const [during] = JSON.parse((await tb.exec('client', 'ip', ['-j', '-6', 'route', 'get', server6])).stdout) as { dev: string }[];
    assert.equal(during.dev, 'masque0', 'IPv6 is routed into the tunnel');

    const cap = capture(tb, 'client', ['ip6', 'and', 'host', server6], uplink);
    await new Promise((r) => setTimeout(r, 300));
    // ping: the ICMPv6 "no route" answer arrives, not a 2 s timeout.
    const p = await tb.exec('client', 'ping', ['-6', '-n', '-c', '1', '-W', '2', server6], { allowFail: true, timeoutMs: 10_000 });
    assert.match(p.stdout, /Destination unreachable: No route/, p.stdout + p.stderr);
    // An application: the TCP connect fails with ENETUNREACH (Happy Eyeballs moves to IPv4).
    assert.equal(await tcpConnect(server6, 5201), 'ENETUNREACH');
    const leaked = await cap.stop();
    assert.equal(leaked.trim(), '', `IPv6 left outside the tunnel:\n${leaked}`);

    // IPv4 works through the tunnel meanwhile.
    const p4 = await tb.exec('client', 'ping', ['-n', '-c', '2', '-i', '0.2', '-W', '2', tb.addr.server.v4], { allowFail: true, timeoutMs: 10_000 });
    assert.match(p4.stdout, /2 received/, p4.stdout);
  } finally {
    if (c) assert.equal(await lab.stopClient(c), 0);
  }
  const [after] = JSON.parse((await tb.exec('client', 'ip', ['-j', '-6', 'route', 'get', server6])).stdout) as { dev: string }[];
  assert.equal(after.dev, uplink, 'routes restored after disconnect');
});
