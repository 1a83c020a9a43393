/**
 * LinuxTun + interface configuration against the real kernel, inside throwaway namespaces.
 *
 *   namespace masque-t-<random>
 *   ┌──────────────────────────────────────────────────────────┐
 *   │  ping 10.99.0.2 / fd99::2                                │
 *   │      │ route 10.99.0.0/24, fd99::/64 dev tunN            │
 *   │      ▼                                                    │
 *   │  tunN (10.99.0.1/24, fd99::1/64) ⇄ child: tun-echo.js     │
 *   │                                    (Echo Request → Reply) │
 *   └──────────────────────────────────────────────────────────┘
 *
 * Needs root (CAP_NET_ADMIN); skipped otherwise unless MASQUE_NETNS=1. Every namespace is
 * deleted in an after hook, and children are killed by PID.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { canUseNetns, createNetns, deleteNetns, execInNetns, NetnsChild } from '../helpers/tun-netns.js';

const skip = canUseNetns() ? false : 'needs root (network namespaces, TUN)';
const ECHO = new URL('../helpers/tun-echo.js', import.meta.url);
const PENDING = new URL('../helpers/tun-pending.js', import.meta.url);
const CONFIG = new URL('../helpers/tun-config.js', import.meta.url);
const SESSION = new URL('../helpers/tun-session.js', import.meta.url);

const namespaces: string[] = [];
const children: NetnsChild[] = [];
function netns(): string {
  const ns = createNetns();
  namespaces.push(ns);
  return ns;
}
function child(ns: string, script: URL, arg: unknown): NetnsChild {
  const c = new NetnsChild(ns, script, arg);
  children.push(c);
  return c;
}
after(() => {
  for (const c of children) c.kill();
  for (const ns of namespaces) deleteNetns(ns);
});

const ping = (ns: string, args: string[]) => execInNetns(ns, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', ...args]);
const linkExists = (ns: string, name: string) => execInNetns(ns, 'ip', ['link', 'show', 'dev', name]).code === 0;

describe('LinuxTun in a namespace', { skip }, () => {
  let ns: string;
  let echo: NetnsChild;
  let name: string;

  before(async () => {
    ns = netns();
    echo = child(ns, ECHO, { mtu: 1400, addresses: ['10.99.0.1/24', 'fd99::1/64'] });
    const ready = await echo.next('ready');
    name = ready.name as string;
    assert.equal(ready.mtu, 1400);
  });

  test('the device exists, is up, with its addresses and MTU', () => {
    const r = execInNetns(ns, 'ip', ['-j', 'addr', 'show', 'dev', name]);
    assert.equal(r.code, 0);
    const [info] = JSON.parse(r.out) as { mtu: number; flags: string[]; addr_info: { local: string }[] }[];
    assert.equal(info.mtu, 1400);
    assert.ok(info.flags.includes('UP'));
    const locals = info.addr_info.map((a) => a.local);
    assert.ok(locals.includes('10.99.0.1') && locals.includes('fd99::1'), locals.join(','));
  });

  test('ping through the TUN echo: IPv4', () => {
    const r = ping(ns, ['10.99.0.2']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /3 received/);
  });

  test('ping through the TUN echo: IPv6', () => {
    const r = ping(ns, ['-6', 'fd99::2']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /3 received/);
  });

  test('MTU enforcement: the kernel refuses DF packets above the MTU; write() refuses them too', async () => {
    // 1372 + 8 ICMP + 20 IPv4 = 1400 fits; 1373 does not.
    assert.equal(ping(ns, ['-M', 'do', '-s', '1372', '10.99.0.2']).code, 0);
    assert.notEqual(ping(ns, ['-M', 'do', '-s', '1373', '10.99.0.2']).code, 0);
    // 1352 + 8 ICMPv6 + 40 IPv6 = 1400.
    assert.equal(ping(ns, ['-6', '-M', 'do', '-s', '1352', 'fd99::2']).code, 0);
    assert.notEqual(ping(ns, ['-6', '-M', 'do', '-s', '1353', 'fd99::2']).code, 0);
    echo.send({ cmd: 'stats' });
    const stats = await echo.next('stats');
    assert.ok((stats.maxRead as number) <= 1400, `read a ${String(stats.maxRead)}-byte packet`);
    assert.ok((stats.echoed as number) >= 12);
    echo.send({ cmd: 'write', size: 1401 });
    assert.deepEqual(await echo.next('write'), { event: 'write', ok: false, code: 'ERR_TUN_PACKET_TOO_BIG' });
    echo.send({ cmd: 'write', size: 1400 });
    assert.deepEqual(await echo.next('write'), { event: 'write', ok: true });
  });

  test('close removes the device and the process exits by itself', async () => {
    const t0 = Date.now();
    echo.send({ cmd: 'close' });
    await echo.next('closed');
    const { code } = await echo.exited;
    assert.equal(code, 0, echo.stderr);
    assert.ok(Date.now() - t0 < 5000);
    assert.ok(!linkExists(ns, name), 'device still present after close');
  });
});

describe('exit while a read is pending', { skip }, () => {
  for (const mode of ['close', 'unref', 'exit', 'worker']) {
    test(`${mode}: the process exits promptly`, async () => {
      const ns = netns();
      const c = child(ns, PENDING, mode);
      await c.next('reading');
      const t0 = Date.now();
      const timeout = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 5000).unref());
      const r = await Promise.race([c.exited, timeout]);
      assert.notEqual(r, 'hung', `process did not exit: ${c.stderr}`);
      assert.deepEqual(r, { code: 0, signal: null }, c.stderr);
      assert.ok(Date.now() - t0 < 2000);
      assert.ok(!linkExists(ns, 'pend0'));
    });
  }
});

describe('a LinuxTun dropped without close', { skip }, () => {
  test('is closed when collected: its device goes away, a kept one stays', () => {
    const ns = netns();
    const script = new URL('../helpers/tun-finalize.js', import.meta.url).pathname;
    const r = execInNetns(ns, process.execPath, ['--expose-gc', script]);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(JSON.parse(r.out.trim().split('\n').pop()!), {
      before: { dropped: true, kept: true, fds: 2 },
      after: { dropped: false, kept: true, fds: 1 },
      closed: { kept: false, fds: 0 },
    });
  });
});

describe('read errors', { skip }, () => {
  test('deleting the interface under a reader reports ERR_TUN_READ once; close still works', async () => {
    const ns = netns();
    const c = child(ns, ECHO, { name: 'gone0', addresses: ['10.97.0.1/24'] });
    await c.next('ready');
    assert.equal(execInNetns(ns, 'ip', ['link', 'del', 'gone0']).code, 0);
    const err = await c.next('error');
    assert.equal(err.code, 'ERR_TUN_READ');
    assert.equal(typeof err.errno, 'string');
    c.send({ cmd: 'close' });
    assert.deepEqual(await c.exited, { code: 0, signal: null }, c.stderr);
  });
});

describe('multi-queue', { skip }, () => {
  test('opens 2 queues on one interface, and ping works across them', async () => {
    const ns = netns();
    const c = child(ns, ECHO, { name: 'mq0', queues: 2, addresses: ['10.98.0.1/24'] });
    const ready = await c.next('ready');
    assert.equal(ready.fds, 2);
    const d = execInNetns(ns, 'ip', ['-d', 'link', 'show', 'dev', 'mq0']);
    assert.match(d.out, /multi_queue numqueues 2/);
    const r = execInNetns(ns, 'ping', ['-c', '6', '-i', '0.1', '-W', '2', '10.98.0.2']);
    assert.match(r.out, /6 received/, r.out);
    c.send({ cmd: 'close' });
    await c.exited;
    assert.ok(!linkExists(ns, 'mq0'));
  });

  test('a second open of a single-queue name fails with ERR_TUN_OPEN/EBUSY', async () => {
    const ns = netns();
    const c = child(ns, ECHO, { name: 'sq0' });
    await c.next('ready');
    const r = execInNetns(ns, process.execPath, ['--input-type=module', '-e', `
      const { LinuxTun } = await import(${JSON.stringify(new URL('../../src/tun/linux.js', import.meta.url).href)});
      try { LinuxTun.open({ name: 'sq0' }); console.log('opened'); } catch (e) { console.log(e.code, e.errno); }`]);
    assert.equal(r.out.trim(), 'ERR_TUN_OPEN EBUSY');
    c.send({ cmd: 'close' });
    await c.exited;
  });
});

describe('interface configuration', { skip }, () => {
  test('full tunnel keeps the relay reachable via the previous route; restore() undoes everything', async () => {
    const ns = netns();
    // An uplink with default routes, standing in for the machine's real connection.
    for (const args of [
      // (no dummy module on this kernel: a veth pair whose far end stays in the namespace)
      ['link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'up1'], ['link', 'set', 'up1', 'up'], ['link', 'set', 'up0', 'up'],
      ['addr', 'add', '192.0.2.2/24', 'dev', 'up0'], ['addr', 'add', '2001:db8::2/64', 'dev', 'up0', 'nodad'],
      ['route', 'add', 'default', 'via', '192.0.2.1'], ['route', 'add', 'default', 'via', '2001:db8::1'],
    ]) assert.equal(execInNetns(ns, 'ip', args).code, 0, args.join(' '));
    const relays = ['203.0.113.7', '2001:db8:1::7'];
    const probes = ['198.51.100.1', '8.8.8.8', '2001:db8:2::1'];
    const c = child(ns, CONFIG, { relays, probes });
    const r = await c.next('result');
    const via4 = 'up0 via 192.0.2.1';
    const via6 = 'up0 via 2001:db8::1';
    const before = r.before as { routes: Record<string, string> };
    const during = r.during as { routes: Record<string, string>; link: { mtu: number; isUp: boolean; addrs: string[] }; mtu: number };
    const restored = r.restored as typeof during;
    assert.deepEqual(before.routes, { '203.0.113.7': via4, '2001:db8:1::7': via6, '198.51.100.1': via4, '8.8.8.8': via4,
      '2001:db8:2::1': via6 });
    assert.deepEqual(during.routes, { '203.0.113.7': via4, '2001:db8:1::7': via6, '198.51.100.1': 'ft0', '8.8.8.8': 'ft0',
      '2001:db8:2::1': 'ft0' });
    assert.deepEqual(during.link, { mtu: 1280, isUp: true, addrs: ['10.77.0.2', 'fd77::2'] });
    assert.equal(during.mtu, 1280);
    assert.deepEqual(restored.routes, before.routes);
    assert.deepEqual(restored.link, { mtu: 1500, isUp: false, addrs: [] });
    assert.equal(r.bogus, 'ERR_TUN_CONFIG', 'configuring a closed (vanished) device');
    assert.equal(r.injection, 'ERR_TUN_CONFIG', 'names are validated, never passed through');
    assert.deepEqual(r.after, Object.fromEntries([...relays, ...probes].map((a) => [a, a.includes(':') ? via6 : via4])));
    const routesLeft = execInNetns(ns, 'ip', ['route', 'show']).out + execInNetns(ns, 'ip', ['-6', 'route', 'show']).out;
    assert.doesNotMatch(routesLeft, /203\.0\.113\.7|2001:db8:1::7/, 'relay host routes removed');
    await c.exited;
  });

  test('a tunnel session follows a new ADDRESS_ASSIGN (RFC 9484 §4.7.1): the latest list applied, the device\'s own address kept', async () => {
    const ns = netns();
    const c = child(ns, SESSION, {});
    const r = await c.next('result');
    const had = '192.0.2.9/32';
    const first16 = Array.from({ length: 16 }, (_, i) => `100.64.1.${i + 1}/32`);
    assert.deepEqual(r.steps, {
      up: { device: ['100.64.0.2/32', had], session: ['100.64.0.2/32'] },
      moved: { device: ['100.64.0.3/32', had, 'fd00:6d61:7371::3/128'], session: ['100.64.0.3/32', 'fd00:6d61:7371::3/128'] },
      same: { device: ['100.64.0.3/32', had, 'fd00:6d61:7371::3/128'], session: ['100.64.0.3/32', 'fd00:6d61:7371::3/128'] },
      v6only: { device: [had, 'fd00:6d61:7371::3/128'], session: ['fd00:6d61:7371::3/128'] },
      many: { device: [...first16, had].sort(), session: [...first16].sort() },
      stopped: { device: [had], session: [...first16].sort() },
    });
    // Two updates in a row are applied as the latest list, once; the repeat changes nothing.
    assert.equal(r.changes, 3);
    await c.exited;
  });

  test('a TUN born with IPv6 disabled (default.disable_ipv6=1) still takes the IPv6 half of a full tunnel; restore() disables it again', () => {
    const ns = netns();
    assert.equal(execInNetns(ns, 'sysctl', ['-qw', 'net.ipv6.conf.default.disable_ipv6=1']).code, 0);
    const r = execInNetns(ns, process.execPath, ['--input-type=module', '-e', `
      import { readFileSync } from 'node:fs';
      import { execFileSync } from 'node:child_process';
      const { LinuxTun } = await import(${JSON.stringify(new URL('../../src/tun/linux.js', import.meta.url).href)});
      const { configureInterface } = await import(${JSON.stringify(new URL('../../src/tun/config.js', import.meta.url).href)});
      const tun = LinuxTun.open({ name: 'nov6' });
      const v6off = () => readFileSync('/proc/sys/net/ipv6/conf/nov6/disable_ipv6', 'utf8').trim();
      const routes = () => execFileSync('ip', ['-6', 'route', 'show', 'dev', 'nov6'], { encoding: 'utf8' }).split('\\n').map((l) => l.split(' ')[0]).filter((p) => p.includes('/1'));
      const before = v6off();
      const applied = await configureInterface({ name: 'nov6', addresses: ['10.77.0.2/32'], fullTunnel: { v4: true, v6: true } });
      const during = { v6off: v6off(), routes: routes() };
      await applied.restore();
      console.log(JSON.stringify({ before, during, after: { v6off: v6off(), routes: routes() } }));
      tun.close();`]);
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(JSON.parse(r.out.trim().split('\n').pop()!), {
      before: '1', during: { v6off: '0', routes: ['::/1', '8000::/1'] }, after: { v6off: '1', routes: [] },
    });
  });
});
