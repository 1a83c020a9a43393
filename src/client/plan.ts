/**
 * Client config + connect options → a ChainPlan with resolved addresses (stage `resolving`).
 * Relay names are looked up in the config; `host:port` names are resolved with the system
 * resolver BEFORE the tunnel exists (after that, DNS goes through the tunnel).
 */
import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { ClientConfig, RelayEntry } from '../config/client.js';
import { assertConnectable } from '../config/client.js';
import type { ConnectOptions } from '../control/schema.js';
import { MasqueError } from '../core/errors.js';
import { decodeKey, parsePrivateKey } from '../identity/keys.js';
import type { ChainPlan, ChainRelay } from './chain.js';

export function splitHostPort(s: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  if (!m) throw new MasqueError('ERR_TUNNEL_CONFIG', `bad relay address ${JSON.stringify(s)} (want host:port)`);
  return { host: m[1], port: Number(m[2]) };
}

async function resolveRelay(r: RelayEntry): Promise<ChainRelay> {
  const { host, port } = splitHostPort(r.address);
  let ip = host;
  if (!isIP(host)) {
    try {
      ip = (await lookup(host)).address;
    } catch (e) {
      throw new MasqueError('ERR_TUNNEL_RESOLVE', `cannot resolve relay ${r.name} (${host})`, { cause: e });
    }
  }
  return {
    name: r.name,
    address: r.address,
    peer: { host: ip, port },
    serverName: r.serverName ?? (isIP(host) ? 'masque-relay' : host),
    publicKey: decodeKey(r.publicKey, `relay ${r.name} public key`),
    caPem: r.ca ? await readFile(r.ca, 'utf8') : undefined,
  };
}

function byName(cfg: ClientConfig, name: string | undefined, what: string): RelayEntry {
  const r = cfg.relays.find((x) => x.name === name);
  if (!r) throw new MasqueError('ERR_TUNNEL_CONFIG', `no relay named ${JSON.stringify(name)} for ${what}`);
  return r;
}

function isSameRelay(a: RelayEntry, b: RelayEntry): boolean {
  return a === b || a.publicKey === b.publicKey || a.address === b.address;
}

/** Candidate plans in failover order: the chosen relays first, then the others of each role. */
export async function planChains(cfg: ClientConfig, opts: ConnectOptions): Promise<ChainPlan[]> {
  const clientStatic = cfg.privateKey ? parsePrivateKey(cfg.privateKey) : undefined;
  const base = { clientStatic, timeoutMs: 5000, keepAliveMs: 1000, quicForwarding: cfg.quicForwarding && process.env.MASQUE_QUIC_FORWARDING !== '0' };
  // A configured third-party proxy (`[proxy]`, or `--template`) replaces our relays unless
  // the connect request names relays explicitly.
  if (cfg.proxy && !opts.relay && !opts.ingress && !opts.egress) {
    const u = new URL(cfg.proxy.template.replace(/\{[^}]*\}/g, 'x'));
    const port = Number(u.port || 443);
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const ip = isIP(host) ? host : (await lookup(host)).address;
    const first: ChainRelay = { address: `${host}:${port}`, peer: { host: ip, port }, serverName: host, caPem: cfg.proxy.ca ? await readFile(cfg.proxy.ca, 'utf8') : undefined };
    const extraHeaders: [string, string][] = cfg.proxy.authorization ? [['proxy-authorization', cfg.proxy.authorization]] : [];
    return [{ ...base, clientStatic: undefined, kind: 'proxy', first, ipTemplate: cfg.proxy.template, extraHeaders }];
  }
  const isSingle = opts.singleHop === true || cfg.chain === 'single-hop';
  if (isSingle) {
    if (!opts.relay && !cfg.relay) assertConnectable(cfg);
    const chosen = byName(cfg, opts.relay ?? cfg.relay, 'single hop');
    const others = cfg.relays.filter((r) => r !== chosen && (r.role === 'both' || r.role === 'egress'));
    const out: ChainPlan[] = [];
    for (const r of [chosen, ...others]) out.push({ ...base, kind: 'single-hop', first: await resolveRelay(r) });
    return out;
  }
  if (!opts.ingress && !opts.egress) assertConnectable(cfg);
  const ingress = byName(cfg, opts.ingress ?? cfg.ingress, 'the ingress');
  const egress = byName(cfg, opts.egress ?? cfg.egress, 'the egress');
  // One relay as both hops would see who you are and where you go: the split two hops exist
  // for. The config check refuses it by name; `--ingress`/`--egress` and the failover list
  // bypass that, and two entries can name one relay (same key or address).
  if (isSameRelay(ingress, egress)) {
    throw new MasqueError('ERR_TUNNEL_CONFIG', `ingress ${JSON.stringify(ingress.name)} and egress ${JSON.stringify(egress.name)} are the same relay; two hops need two`);
  }
  const ingresses = [ingress, ...cfg.relays.filter((r) => r !== ingress && r.role === 'ingress' && !isSameRelay(r, egress))];
  const eg = await resolveRelay(egress);
  // Privacy Pass (docs/protocol/privacy.md): loaded only when enabled; one wallet per process.
  const privateTokens = cfg.privateTokens ? (await import('../privacy/client-source.js')).privateTokenSource(cfg.privateTokens) : undefined;
  const out: ChainPlan[] = [];
  for (const r of ingresses) out.push({ ...base, kind: 'two-hop', first: await resolveRelay(r), egress: eg, privateTokens });
  return out;
}
