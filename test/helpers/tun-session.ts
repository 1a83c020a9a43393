/**
 * Child script (inside a test namespace): a real TunnelSession on a real TUN, over a stand-in
 * chain whose CONNECT-IP session changes its addresses the way a proxy's later ADDRESS_ASSIGN
 * does (RFC 9484 §4.7.1). Reports the device's addresses after each step as one JSON line.
 * The chain is a stand-in because only the session's addresses matter here; the real chain
 * is covered by the testbed tests.
 */
import { execFileSync } from 'node:child_process';
import pino from 'pino';
import { LinuxTun } from '../../src/tun/linux.js';
import { TunnelSession } from '../../src/client/tunnel-session.js';
import { ipPrefix, type IpPrefix } from '../../src/masque/ip-prefix.js';
import type { Chain } from '../../src/client/chain.js';
import type { ClientConfig } from '../../src/config/client.js';

const deviceAddrs = (name: string): string[] => {
  const [l] = JSON.parse(execFileSync('ip', ['-j', 'addr', 'show', 'dev', name], { encoding: 'utf8' })) as
    { addr_info: { local: string; prefixlen: number }[] }[];
  return l.addr_info.filter((a) => !a.local.startsWith('fe80:')).map((a) => `${a.local}/${a.prefixlen}`).sort();
};

const ip = {
  addresses: [ipPrefix('100.64.0.2/32')] as IpPrefix[],
  mtu: 1400,
  mtuProbe: null,
  onUpdate: undefined as (() => void) | undefined,
  onPacket: null,
  sendPacket: () => true,
};
const part = { h3: { afterReads: null }, endpoint: { flushNow() {} } };
const chain = { ip, parts: [part], close: async () => undefined } as unknown as Chain;
const cfg = {
  tun: { mtu: 1400 }, routing: { mode: 'full', include: [], exclude: [] }, dns: { servers: [] },
} as unknown as ClientConfig;

const tun = LinuxTun.open({ name: 'sess0' });
// An address the device had before the session: never the session's to remove.
execFileSync('ip', ['addr', 'add', '192.0.2.9/32', 'dev', 'sess0']);
const log = pino({ level: 'silent' });
const session = new TunnelSession(chain, tun, cfg, log);
await session.start('127.0.0.1');
const steps: Record<string, { device: string[]; session: string[] }> = {};
const snap = (k: string) => (steps[k] = { device: deviceAddrs('sess0'), session: [...session.addresses].sort() });
snap('up');
let changes = 0;
session.onAddressesChanged = () => changes++;

const settle = () => new Promise((r) => setTimeout(r, 300));
// The proxy moves IPv4, then adds IPv6 (two updates in a row: the latest list wins).
ip.addresses = [ipPrefix('100.64.0.3/32')];
ip.onUpdate?.();
ip.addresses = [ipPrefix('100.64.0.3/32'), ipPrefix('fd00:6d61:7371::3/128')];
ip.onUpdate?.();
await settle();
snap('moved');
// The same list again (a route update): nothing to do.
ip.onUpdate?.();
await settle();
snap('same');
// IPv4 withdrawn.
ip.addresses = [ipPrefix('fd00:6d61:7371::3/128')];
ip.onUpdate?.();
await settle();
snap('v6only');
// A proxy listing 40 addresses: the TUN takes the first 16.
ip.addresses = Array.from({ length: 40 }, (_, i) => ipPrefix(`100.64.1.${i + 1}/32`));
ip.onUpdate?.();
await settle();
snap('many');
await session.stop();
snap('stopped');
tun.close();
process.stdout.write(JSON.stringify({ event: 'result', steps, changes }) + '\n');
