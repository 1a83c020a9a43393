/**
 * The client's configuration (`relay-cli daemon`, `relay-cli connect --foreground`): TOML file
 * + flags over it, validated into a `ClientConfig` that `src/client/engine.ts`
 * `createEngine(cfg, { log })` consumes. Errors are ConfigErrors naming the key and line.
 *
 * `connect --foreground --single-hop --template URL --ca FILE` works without a file.
 */
import path from 'node:path';
import { isIP } from 'node:net';
import { parsePrivateKey, parsePublicKey } from '../identity/keys.js';
import { parseUriTemplate } from '../masque/template.js';
import { ConfigError, CONFIG_CODES } from './errors.js';
import { Fields } from './fields.js';
import { emptyLoaded, loadTomlFile, overlayFlags, parseToml, type Loaded, type Raw } from './toml.js';
import { checkNetworkPrefix, parseHostPort } from './net.js';
import { DEFAULT_PRIVATE_TOKEN_ISSUER, LOG_LEVEL_NAMES, RELAY_ROLES, type RelayLogLevel, type RelayRole } from './relay.js';

export const DEFAULT_CLIENT_CONFIG = '/etc/masque/client.toml';

/** One relay the client may use. */
export interface RelayEntry {
  name: string;
  /** `host:port` (a name is resolved at connect time: stage `resolving`). */
  address: string;
  /** Relay's Noise static public key (base64), pinned. */
  publicKey: string;
  role: RelayRole;
  /** TLS server name if it differs from the host. */
  serverName?: string;
  /** CA bundle (PEM path) to verify the relay's certificate. */
  ca?: string;
}

/** A validated client configuration. */
export interface ClientConfig {
  /** This device's Curve25519 private key (base64); absent = no Noise auth (template proxies). */
  privateKey?: string;
  relays: RelayEntry[];
  chain: 'two-hop' | 'single-hop';
  /** Relay names (two-hop): defaults are the first relay fitting each role. */
  ingress?: string;
  egress?: string;
  /** Relay name for single hop, when no proxy template is set. */
  relay?: string;
  /** Third-party CONNECT-IP proxy (single hop), RFC 9484 §3 URI template. */
  proxy?: { template: string; ca?: string; authorization?: string };
  routing: { mode: 'full' | 'split'; include: string[]; exclude: string[] };
  dns: { servers: string[] };
  /** Block traffic outside the tunnel while connecting/reconnecting. */
  killSwitch: boolean;
  /**
   * Two hops: let the ingress pass the inner connection's packets in forwarded mode
   * (draft-ietf-masque-quic-proxy-07, scramble transform) instead of inside the outer
   * connection. Default true; docs/protocol/privacy.md says what it changes.
   */
  quicForwarding: boolean;
  tun: { name: string; mtu: number };
  logLevel: RelayLogLevel;
  /** Privacy Pass at the egress (two-hop, docs/protocol/privacy.md); absent = off. */
  privateTokens?: ClientPrivateTokens;
  file?: string;
}

/** `[private_tokens]`: fetch tokens from the ingress's issuer, redeem one per egress session. */
export interface ClientPrivateTokens {
  enabled: true;
  /** issuer_name of the egress's challenge (RFC 9577 §2.1.1). */
  issuerName: string;
  /** Tokens fetched per refill (one RFC 9578 §5 request each). */
  batchSize: number;
  /** Refill in the background when fewer than this many are left. */
  refillBelow: number;
}

/** Command-line values of `connect --foreground` / `daemon`; undefined = not given. */
export interface ClientFlags {
  config?: string;
  singleHop?: boolean;
  template?: string;
  ca?: string;
  proxyAuthorization?: string;
  ingress?: string;
  egress?: string;
  relay?: string;
  killSwitch?: boolean;
  dns?: string[];
  include?: string[];
  exclude?: string[];
  logLevel?: string;
}

/** Load `flags.config` (may be absent only when a template is given), overlay flags, validate. */
export async function loadClientConfig(flags: ClientFlags = {}): Promise<ClientConfig> {
  const file = flags.config ?? (flags.template === undefined ? DEFAULT_CLIENT_CONFIG : undefined);
  const loaded = file !== undefined ? await loadTomlFile(file) : emptyLoaded();
  return buildClientConfig(loaded, flags);
}

/** The same from TOML text (tests, `config check`). */
export function parseClientConfig(text: string, file?: string, flags: ClientFlags = {}): ClientConfig {
  return buildClientConfig(parseToml(text, file), flags);
}

/**
 * Apply a control-API patch (camelCase top-level keys of ClientConfig, objects replaced
 * whole) and re-validate. Throws ConfigError naming the (snake_case) key.
 */
export function patchClientConfig(cfg: ClientConfig, patch: Record<string, unknown>): ClientConfig {
  // `file` is where the daemon's config lives, not a setting: a patch of it did nothing.
  if (Object.hasOwn(patch, 'file')) throw new ConfigError(CONFIG_CODES.UNKNOWN_KEY, 'not a setting (the config file is chosen when the daemon starts)', { file: 'patch', key: 'file' });
  const merged: Record<string, unknown> = { ...cfg, ...patch };
  delete merged.file;
  const loaded = emptyLoaded();
  loaded.raw = toSnake(merged) as Raw;
  loaded.source.file = 'patch';
  return { ...buildClientConfig(loaded, {}), file: cfg.file };
}

function buildClientConfig(loaded: Loaded, flags: ClientFlags): ClientConfig {
  overlayFlags(loaded, [
    ['chain', flags.singleHop || flags.template !== undefined ? 'single-hop' : undefined, flags.singleHop ? '--single-hop' : '--template'],
    ['proxy.template', flags.template, '--template'],
    ['proxy.ca', flags.ca, '--ca'],
    ['proxy.authorization', flags.proxyAuthorization, '--proxy-authorization'],
    ['ingress', flags.ingress, '--ingress'],
    ['egress', flags.egress, '--egress'],
    ['relay', flags.relay, '--relay'],
    ['kill_switch', flags.killSwitch, '--kill-switch'],
    ['dns.servers', flags.dns, '--dns'],
    ['routing.include', flags.include, '--include'],
    ['routing.exclude', flags.exclude, '--exclude'],
    ['log_level', flags.logLevel, '--log-level'],
  ]);
  if (flags.include !== undefined) overlayFlags(loaded, [['routing.mode', 'split', '--include']]);
  const f = new Fields(loaded.raw, '', loaded.source);
  const resolvePath = (t: Fields, key: string, v: string | undefined): string | undefined => {
    if (v === undefined) return undefined;
    const file = loaded.source.file;
    const isFlag = loaded.source.origins.has(t.at(key));
    return path.resolve(isFlag || file === undefined || file === 'patch' ? process.cwd() : path.dirname(path.resolve(file)), v);
  };

  const privateKey = f.str('private_key');
  if (privateKey !== undefined) f.check('private_key', privateKey, parsePrivateKey);
  const relays = f.tables('relays').map((t) => readRelay(t, resolvePath));
  const names = new Set<string>();
  relays.forEach((r, i) => {
    if (names.has(r.name)) f.fail(`relays[${i}].name`, `duplicate relay name ${JSON.stringify(r.name)}`);
    names.add(r.name);
  });
  const cfg: ClientConfig = {
    privateKey,
    relays,
    chain: f.oneOf('chain', ['two-hop', 'single-hop'] as const, 'two-hop'),
    ingress: f.str('ingress'),
    egress: f.str('egress'),
    relay: f.str('relay'),
    proxy: readProxy(f.table('proxy'), resolvePath),
    routing: readRouting(f.table('routing')),
    dns: readDns(f.table('dns')),
    killSwitch: f.bool('kill_switch', false),
    quicForwarding: f.bool('quic_forwarding', true),
    tun: readTun(f.table('tun')),
    logLevel: f.oneOf('log_level', LOG_LEVEL_NAMES, 'info'),
    file: loaded.source.file,
  };
  const privateTokens = readPrivateTokens(f.table('private_tokens'));
  if (privateTokens) cfg.privateTokens = privateTokens;
  f.done();
  resolveChain(cfg, f);
  return cfg;
}

function readRelay(t: Fields, resolvePath: (t: Fields, k: string, v: string | undefined) => string | undefined): RelayEntry {
  const r: RelayEntry = {
    name: t.required('name', 'a relay name'),
    address: t.required('address', 'HOST:PORT'),
    publicKey: t.required('public_key', "the relay's base64 public key (relay-cli pubkey < relay.key)"),
    role: t.oneOf('role', RELAY_ROLES, 'both'),
    serverName: t.str('server_name'),
    ca: resolvePath(t, 'ca', t.str('ca')),
  };
  t.check('address', r.address, (v) => parseHostPort(v));
  t.check('public_key', r.publicKey, (v) => parsePublicKey(v, 'relay public key'));
  t.done();
  return r;
}

function readProxy(t: Fields, resolvePath: (t: Fields, k: string, v: string | undefined) => string | undefined): ClientConfig['proxy'] {
  const template = t.str('template');
  const ca = resolvePath(t, 'ca', t.str('ca'));
  const authorization = t.str('authorization');
  t.done();
  if (template === undefined) {
    if (ca !== undefined || authorization !== undefined) t.fail('template', 'missing: ca and authorization need a proxy template', CONFIG_CODES.MISSING_KEY);
    return undefined;
  }
  t.check('template', template, (v) => parseUriTemplate(v, 'ip'));
  return { template, ca, authorization };
}

function readRouting(t: Fields): ClientConfig['routing'] {
  const mode = t.oneOf('mode', ['full', 'split'] as const, 'full');
  const include = t.strList('include');
  const exclude = t.strList('exclude');
  t.checkEach('include', include, (v) => checkNetworkPrefix(v));
  t.checkEach('exclude', exclude, (v) => checkNetworkPrefix(v));
  if (mode === 'split' && include.length === 0) t.fail('include', 'split routing needs at least one CIDR in include', CONFIG_CODES.MISSING_KEY);
  if (mode === 'full' && include.length > 0) t.fail('include', 'include only applies to mode = "split"');
  t.done();
  return { mode, include, exclude };
}

function readDns(t: Fields): ClientConfig['dns'] {
  const servers = t.strList('servers');
  t.checkEach('servers', servers, (v) => {
    if (isIP(v) === 0) throw new Error(`expected an IP address, got ${JSON.stringify(v)}`);
  });
  t.done();
  return { servers };
}

/** `[private_tokens]` (Privacy Pass, small edit): absent or `enabled = false` → undefined. */
function readPrivateTokens(t: Fields): ClientPrivateTokens | undefined {
  const enabled = t.bool('enabled', false);
  const c = {
    issuerName: t.str('issuer_name', DEFAULT_PRIVATE_TOKEN_ISSUER),
    batchSize: t.int('batch_size', 8, 1, 64),
    refillBelow: t.int('refill_below', 2, 0, 64),
  };
  if (c.issuerName === '') t.fail('issuer_name', 'must not be empty');
  if (c.refillBelow > c.batchSize) t.fail('refill_below', `must not exceed batch_size (${c.batchSize})`);
  t.done();
  return enabled ? { enabled: true, ...c } : undefined;
}

function readTun(t: Fields): ClientConfig['tun'] {
  const tun = { name: t.str('name', 'masque0'), mtu: t.int('mtu', 1280, 1280, 65535) };
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(tun.name)) t.fail('name', 'expected an interface name of 1-15 characters [A-Za-z0-9_.-]');
  t.done();
  return tun;
}

/** Fill default relay names and check that the chain can be built from the relays list. */
function resolveChain(cfg: ClientConfig, f: Fields): void {
  const byName = (key: 'ingress' | 'egress' | 'relay', want: RelayRole): void => {
    const name = cfg[key];
    if (name === undefined) return;
    const r = cfg.relays.find((x) => x.name === name);
    if (r === undefined) f.fail(key, `no relay named ${JSON.stringify(name)} in [[relays]]`, CONFIG_CODES.UNKNOWN_RELAY);
    if (r.role !== 'both' && r.role !== want) f.fail(key, `relay ${JSON.stringify(name)} has role ${r.role}, not ${want}`);
  };
  const first = (want: RelayRole, except?: string): string | undefined =>
    cfg.relays.find((r) => (r.role === want || r.role === 'both') && r.name !== except)?.name;
  if (cfg.chain === 'two-hop') {
    if (cfg.proxy !== undefined) f.fail('proxy', 'a proxy template is single hop: set chain = "single-hop"');
    byName('ingress', 'ingress');
    byName('egress', 'egress');
    cfg.ingress ??= first('ingress', cfg.egress);
    cfg.egress ??= first('egress', cfg.ingress);
    // No relays at all is a valid, not yet usable config (fresh `config init`); a partial
    // list that cannot form a chain is a mistake worth reporting now.
    if (cfg.relays.length > 0 && (cfg.ingress === undefined || cfg.egress === undefined)) {
      f.fail('relays', 'two-hop needs an ingress and an egress relay in [[relays]] (or chain = "single-hop")', CONFIG_CODES.MISSING_KEY);
    }
    if (cfg.ingress !== undefined && cfg.ingress === cfg.egress) f.fail('egress', 'ingress and egress must be different relays');
  } else if (cfg.proxy === undefined) {
    byName('relay', 'egress');
    cfg.relay ??= first('egress');
    if (cfg.relays.length > 0 && cfg.relay === undefined) f.fail('relay', 'single-hop needs a relay with role egress or both, or [proxy] template', CONFIG_CODES.MISSING_KEY);
  }
}

/**
 * Throws ConfigError MISSING_KEY unless the config names a complete chain. The engine calls
 * this at connect time: a config without relays is valid to load (fresh `config init`) but
 * cannot connect.
 */
export function assertConnectable(cfg: ClientConfig): void {
  const isReady = cfg.chain === 'two-hop' ? cfg.ingress !== undefined && cfg.egress !== undefined : cfg.proxy !== undefined || cfg.relay !== undefined;
  if (!isReady) {
    throw new ConfigError(CONFIG_CODES.MISSING_KEY, 'no relays configured: add [[relays]] entries (or a [proxy] template for single hop)', { key: 'relays', file: cfg.file });
  }
}

function toSnake(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(toSnake);
  if (v === null || typeof v !== 'object') return v;
  // Null prototype: a patch key "__proto__" stays a key (and is refused as unknown) instead of
  // vanishing in the assignment below.
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = toSnake(x);
  return out;
}
