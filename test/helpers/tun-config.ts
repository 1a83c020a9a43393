/**
 * Child script (inside a test namespace that has an uplink `up0` with default routes):
 * opens a TUN, configures a full tunnel keeping the relay reachable via the uplink, and
 * reports `ip route get` answers and interface state before and after restore(), as one
 * JSON line. argv[2]: {"relays": [...], "probes": [...]}.
 */
import { execFileSync } from 'node:child_process';
import { LinuxTun } from '../../src/tun/linux.js';
import { configureInterface } from '../../src/tun/config.js';

const { relays, probes } = JSON.parse(process.argv[2]) as { relays: string[]; probes: string[] };
const routeGet = (a: string) => {
  try {
    const [r] = JSON.parse(execFileSync('ip', ['-j', 'route', 'get', a], { encoding: 'utf8' })) as { dev: string; gateway?: string }[];
    return `${r.dev}${r.gateway ? ` via ${r.gateway}` : ''}`;
  } catch {
    return 'unreachable';
  }
};
const linkState = (name: string) => {
  const [l] = JSON.parse(execFileSync('ip', ['-j', 'addr', 'show', 'dev', name], { encoding: 'utf8' })) as
    { mtu: number; flags: string[]; addr_info: { local: string }[] }[];
  // Link-local addresses are the kernel's own (addrgenmode eui64), not ours.
  return { mtu: l.mtu, isUp: l.flags.includes('UP'), addrs: l.addr_info.map((a) => a.local).filter((a) => !a.startsWith('fe80:')) };
};
const snapshot = (name: string) => ({
  routes: Object.fromEntries([...relays, ...probes].map((a) => [a, routeGet(a)])),
  link: linkState(name),
});

const tun = LinuxTun.open({ name: 'ft0' });
const before = snapshot(tun.name);
const t0 = performance.now();
const applied = await configureInterface({
  name: tun.name, mtu: 1280, addresses: ['10.77.0.2/32', 'fd77::2/128'],
  fullTunnel: { v4: true, v6: true, keepReachable: relays },
});
const configureMs = performance.now() - t0;
tun.refreshMtu();
const during = { ...snapshot(tun.name), mtu: tun.mtu };
await applied.restore();
const restored = snapshot(tun.name);
tun.close();
let bogus = '';
try {
  await configureInterface({ name: tun.name, addresses: ['10.0.0.1/24'] });
} catch (e) {
  bogus = (e as { code: string }).code;
}
let injection = '';
try {
  await configureInterface({ name: 'x\nlink del lo' });
} catch (e) {
  injection = (e as { code: string }).code;
}
process.stdout.write(JSON.stringify({ event: 'result', before, during, restored, commands: applied.commands,
  configureMs, bogus, injection, after: snapshot('up0').routes }) + '\n');
