/**
 * The relay's configuration (`relay-cli serve`): TOML file + command-line flags over it,
 * validated into a `RelayConfig` that `src/relay/main.ts` `runRelay(cfg, { log })` consumes.
 *
 * Every problem is a ConfigError naming the TOML key and line, or the flag. Relative paths
 * resolve against the config file's directory (flags: the working directory).
 * `relay-cli serve --role both --listen 127.0.0.1:4433` needs no file: all else has defaults
 * (it admits Noise clients only with `--authorized-keys`; without, it warns and admits none).
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseCidr } from '../identity/cidr.js';
import { DEFAULT_IPV4_POOL, DEFAULT_IPV6_POOL } from '../masque/address-pool.js';
import { parseIpPrefix } from '../masque/ip-prefix.js';
import { ConfigError, CONFIG_CODES } from './errors.js';
import { Fields } from './fields.js';
import { emptyLoaded, loadTomlFile, locate, overlayFlags, parseToml, type Loaded } from './toml.js';
import { checkNetworkPrefix, isLoopbackHost, parseHostPort, type HostPort } from './net.js';

export type RelayRole = 'ingress' | 'egress' | 'both';
export type RelayAuth = 'noise' | 'bearer' | 'none';
export const RELAY_ROLES: readonly RelayRole[] = ['ingress', 'egress', 'both'];
export const RELAY_AUTH_MODES: readonly RelayAuth[] = ['noise', 'bearer', 'none'];
export const LOG_LEVEL_NAMES = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type RelayLogLevel = (typeof LOG_LEVEL_NAMES)[number];

export const DEFAULT_RELAY_LISTEN = '0.0.0.0:4433';

/** A validated relay configuration. Immutable by convention; `reload` gets a new one. */
export interface RelayConfig {
  role: RelayRole;
  /** UDP address to bind (IP literal). */
  listen: HostPort;
  /** TLS certificate chain and key (PEM paths). Both absent: the relay makes a self-signed one. */
  cert?: string;
  certKey?: string;
  /** Noise static private key file (0600). Absent: generated at `identity` default by the relay. */
  identity?: string;
  auth: RelayAuth;
  /** `auth = "none"` allowed on a non-loopback listen. */
  forceAuthNone: boolean;
  /** Authorized client keys file (noise), see src/identity/authorized-keys.ts. */
  authorizedKeys?: string;
  /** `auth = "bearer"`: accepted tokens (id for logs, token secret). */
  bearerTokens: { id: string; token: string }[];
  /** Prometheus endpoint; absent = off. */
  metrics?: HostPort;
  logLevel: RelayLogLevel;
  ingress: {
    /** Egress relays this ingress forwards to, `host:port` each. Empty = refuse all forwarding. */
    allowEgress: string[];
    /**
     * Forwarded mode for clients that offer it (draft-ietf-masque-quic-proxy-07, scramble
     * transform): their inner connection's packets pass without being decrypted and
     * re-encrypted here. Default true.
     */
    quicForwarding: boolean;
  };
  egress: {
    /**
     * Client address pools, or `off` (POOL_OFF): an egress without IPv6 (or IPv4) upstream
     * assigns no address of that family and advertises no route for it, so clients answer
     * that family "no route" at once instead of sending it into a relay that drops it.
     */
    ipv4Pool: string;
    ipv6Pool: string;
    /** Non-public destinations allowed anyway (TargetPolicy allow list). */
    allowTargets: string[];
    /** Destinations always refused (TargetPolicy deny list). */
    denyTargets: string[];
    /** TCP destination ports refused through CONNECT-IP; default [25] (no spam from the relay's address). */
    denyTcpPorts: number[];
    /** Source CIDRs of ingress relays trusted without client credentials (two-hop). */
    trustedIngress: string[];
    /** Privacy Pass redemption (docs/protocol/privacy.md); absent = `private_token = "off"`. */
    privateToken?: EgressPrivateToken;
  };
  /** Privacy Pass issuer on this relay (`[issuer] enabled = true`); absent = off. */
  issuer?: IssuerConfig;
  limits: {
    /** Concurrent sessions per client identity; 0 = unlimited. */
    maxSessionsPerClient: number;
    /** Per-client rate in bytes/s, each direction; 0 = unlimited. */
    bandwidthBytesPerSec: number;
    /** Per-client packets/s, each direction; 0 = unlimited. */
    packetsPerSec: number;
  };
  /** The file it was read from, if any (for reload and messages). */
  file?: string;
}

/**
 * `[egress] private_token*` (docs/protocol/privacy.md §5). `required`: a valid token admits
 * a request from anywhere and replaces the trusted-ingress address check; `required-with-
 * trusted-ingress`: both (the token and a `trusted_ingress` source address).
 */
export interface EgressPrivateToken {
  mode: 'required' | 'required-with-trusted-ingress';
  /** issuer_name of the token challenge (RFC 9577 §2.1.1); the clients use the same. */
  issuerName: string;
  /** Issuer public keys (base64url RSASSA-PSS SPKI, RFC 9578 §6.5), accepted forever. */
  issuerKeys: string[];
  /** An RFC 9578 §4 directory file (current + previous keys), re-read when it changes. */
  issuerDirectory?: string;
  /** How long the previous directory key stays accepted after the current one's not-before. */
  keyGraceSec: number;
  /** Spent-token store capacity (fail closed when full). */
  spentCapacity: number;
}

/** `[issuer]`: Privacy Pass issuance on this relay (RFC 9578 §5, type 0x0002). */
export interface IssuerConfig {
  name: string;
  /** Issuer private keys (JSON, 0600); created when absent. */
  keyFile: string;
  rotationPeriodSec: number;
  /** Where to write the public directory (RFC 9578 §4) for egress relays; optional. */
  directoryFile?: string;
  tokensPerClientPerHour: number;
}

export const PRIVATE_TOKEN_MODES = ['off', 'required', 'required-with-trusted-ingress'] as const;
/** Default issuer_name on the issuer, the egress and the client (src/privacy/challenge.ts). */
export const DEFAULT_PRIVATE_TOKEN_ISSUER = 'masque-relay-issuer';

/** Command-line values of `relay-cli serve`; undefined = not given. */
export interface RelayFlags {
  config?: string;
  role?: string;
  listen?: string;
  cert?: string;
  certKey?: string;
  identity?: string;
  auth?: string;
  forceAuthNone?: boolean;
  authorizedKeys?: string;
  allowTarget?: string[];
  allowEgress?: string[];
  trustedIngress?: string[];
  metrics?: string;
  logLevel?: string;
}

/**
 * Read `flags.config` (if any), lay the flags over it, validate, and check that the TLS
 * certificate and key it names can be read and belong together. Throws ConfigError.
 */
export async function loadRelayConfig(flags: RelayFlags = {}): Promise<RelayConfig> {
  const loaded = flags.config !== undefined ? await loadTomlFile(flags.config) : emptyLoaded();
  const cfg = buildRelayConfig(loaded, flags);
  await checkCertFiles(cfg, loaded);
  return cfg;
}

/**
 * `cert` / `cert_key` are read by the relay at start; a missing or malformed file used to
 * surface there as a bare ENOENT or OpenSSL error (exit 1, ERR_UNEXPECTED, and `--check`
 * passed). Checked here with the same parser the relay uses (node:crypto), it is a config
 * error naming the key and line or the flag. The identity and authorized_keys files are not
 * checked: the relay creates a missing identity, and both have their own ERR_KEY_* errors.
 */
async function checkCertFiles(cfg: RelayConfig, loaded: Loaded): Promise<void> {
  if (cfg.cert === undefined || cfg.certKey === undefined) return;
  const read = async (key: string, file: string): Promise<string> => {
    try {
      return await readFile(file, 'utf8');
    } catch (e) {
      const errno = (e as NodeJS.ErrnoException).code ?? 'error';
      throw new ConfigError(CONFIG_CODES.READ, `cannot read ${file} (${errno})`, locate(loaded.source, key), { cause: e });
    }
  };
  const [certPem, keyPem] = [await read('cert', cfg.cert), await read('cert_key', cfg.certKey)];
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (e) {
    throw new ConfigError(CONFIG_CODES.INVALID, `${cfg.cert}: not a PEM certificate (${(e as Error).message})`, locate(loaded.source, 'cert'), { cause: e });
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (e) {
    throw new ConfigError(CONFIG_CODES.INVALID, `${cfg.certKey}: not a PEM private key (${(e as Error).message})`, locate(loaded.source, 'cert_key'), { cause: e });
  }
  if (!cert.checkPrivateKey(key)) {
    throw new ConfigError(CONFIG_CODES.INVALID, `${cfg.certKey} is not the private key of the certificate ${cfg.cert}`, locate(loaded.source, 'cert_key'));
  }
}

/** The same from TOML text (tests, `config check`). */
export function parseRelayConfig(text: string, file?: string, flags: RelayFlags = {}): RelayConfig {
  return buildRelayConfig(parseToml(text, file), flags);
}

function buildRelayConfig(loaded: Loaded, flags: RelayFlags): RelayConfig {
  overlayFlags(loaded, [
    ['role', flags.role, '--role'],
    ['listen', flags.listen, '--listen'],
    ['cert', flags.cert, '--cert'],
    ['cert_key', flags.certKey, '--cert-key'],
    ['identity', flags.identity, '--identity'],
    ['auth', flags.auth, '--auth'],
    ['force_auth_none', flags.forceAuthNone || undefined, '--force-auth-none'],
    ['authorized_keys', flags.authorizedKeys, '--authorized-keys'],
    ['egress.allow_targets', flags.allowTarget, '--allow-target'],
    ['ingress.allow_egress', flags.allowEgress, '--allow-egress'],
    ['egress.trusted_ingress', flags.trustedIngress, '--trusted-ingress'],
    ['metrics', flags.metrics, '--metrics'],
    ['log_level', flags.logLevel, '--log-level'],
  ]);
  const f = new Fields(loaded.raw, '', loaded.source);
  const file = loaded.source.file;
  const filePath = (key: string, value: string | undefined): string | undefined => {
    if (value === undefined) return undefined;
    const base = loaded.source.origins.has(f.at(key)) || file === undefined ? process.cwd() : path.dirname(path.resolve(file));
    return path.resolve(base, value);
  };

  const listenText = f.str('listen', DEFAULT_RELAY_LISTEN);
  let listen!: HostPort;
  f.check('listen', listenText, (v) => (listen = parseHostPort(v, true)));
  const metricsText = f.str('metrics');
  let metrics: HostPort | undefined;
  if (metricsText !== undefined) f.check('metrics', metricsText, (v) => (metrics = parseHostPort(v, true)));

  const cfg: RelayConfig = {
    role: f.oneOf('role', RELAY_ROLES, 'both'),
    listen,
    cert: filePath('cert', f.str('cert')),
    certKey: filePath('cert_key', f.str('cert_key')),
    identity: filePath('identity', f.str('identity')),
    auth: f.oneOf('auth', RELAY_AUTH_MODES, 'noise'),
    forceAuthNone: f.bool('force_auth_none', false),
    authorizedKeys: filePath('authorized_keys', f.str('authorized_keys')),
    bearerTokens: f.tables('bearer_tokens').map((t) => {
      const tok = { id: t.required('id', 'a name for logs'), token: t.required('token', 'a secret token') };
      if (tok.token.length < 16) t.fail('token', 'too short: use at least 16 characters (relay-cli keygen makes a good one)');
      t.done();
      return tok;
    }),
    metrics,
    logLevel: f.oneOf('log_level', LOG_LEVEL_NAMES, 'info'),
    ingress: readIngress(f.table('ingress')),
    egress: readEgress(f.table('egress'), filePath),
    issuer: readIssuer(f.table('issuer'), filePath),
    limits: readLimits(f.table('limits')),
    file,
  };
  if ((cfg.cert === undefined) !== (cfg.certKey === undefined)) {
    // Name the missing key, at the line of the one that is there.
    const [missing, present] = cfg.cert === undefined ? ['cert', 'cert_key'] : ['cert_key', 'cert'];
    throw new ConfigError(CONFIG_CODES.MISSING_KEY, `missing: ${present} needs ${missing} (give both or neither)`, { ...locate(loaded.source, present), key: missing });
  }
  f.done();
  checkAuth(cfg, loaded);
  return cfg;
}

/**
 * SMTP: mail sent from a relay's address gets that address on block lists, for every client.
 * Public VPN services refuse port 25 for that reason; an operator who wants it sets [].
 */
export const DEFAULT_DENY_TCP_PORTS = [25];

/** `ipv4_pool`/`ipv6_pool` value that turns a family off. */
export const POOL_OFF = 'off';

function readIngress(t: Fields): RelayConfig['ingress'] {
  const allowEgress = t.strList('allow_egress');
  t.checkEach('allow_egress', allowEgress, (v) => parseHostPort(v));
  const quicForwarding = t.bool('quic_forwarding', true);
  t.done();
  return { allowEgress, quicForwarding };
}

type FilePath = (key: string, value: string | undefined) => string | undefined;

function readEgress(t: Fields, filePath: FilePath): RelayConfig['egress'] {
  const ipv4Pool = t.str('ipv4_pool', DEFAULT_IPV4_POOL);
  t.check('ipv4_pool', ipv4Pool, (v) => v === POOL_OFF || checkNetworkPrefix(v, 4));
  const ipv6Pool = t.str('ipv6_pool', DEFAULT_IPV6_POOL);
  t.check('ipv6_pool', ipv6Pool, (v) => v === POOL_OFF || checkNetworkPrefix(v, 6));
  if (ipv4Pool === POOL_OFF && ipv6Pool === POOL_OFF) t.fail('ipv6_pool', 'ipv4_pool and ipv6_pool cannot both be "off" (clients would get no address)');
  const lists = { allowTargets: t.strList('allow_targets'), denyTargets: t.strList('deny_targets'), trustedIngress: t.strList('trusted_ingress') };
  t.checkEach('allow_targets', lists.allowTargets, (v) => checkNetworkPrefix(v));
  t.checkEach('deny_targets', lists.denyTargets, (v) => checkNetworkPrefix(v));
  t.checkEach('trusted_ingress', lists.trustedIngress, checkTrustedIngress);
  const denyTcpPorts = t.intList('deny_tcp_ports', DEFAULT_DENY_TCP_PORTS, 1, 65535);
  const privateToken = readEgressPrivateToken(t, filePath, lists.trustedIngress);
  t.done();
  return { ipv4Pool, ipv6Pool, ...lists, denyTcpPorts, ...(privateToken ? { privateToken } : {}) };
}

/**
 * A trusted ingress is admitted without a client key (auth.md §5), so a prefix wider than the
 * operator meant is a hole: `203.0.113.10/8` would trust all of 203.0.0.0/8. Host bits after
 * the length are refused, as for every other prefix (checkNetworkPrefix), with the fix named.
 */
function checkTrustedIngress(v: string): void {
  parseCidr(v);
  // Host bits after the length (valid but for them): checkNetworkPrefix would suggest the
  // network, which here is the hole; name the one relay instead. Other mistakes keep its message.
  if (parseIpPrefix(v) === null && parseIpPrefix(v, false) !== null) {
    const [host, len] = v.trim().split('/');
    throw new Error(`host bits set in ${JSON.stringify(v)}, which would trust every address of its /${len}: for one relay write ${JSON.stringify(host)}`);
  }
  checkNetworkPrefix(v);
}

/** The `private_token*` keys of `[egress]` (small edit for Privacy Pass; the checks are shape only: keys are parsed at start). */
function readEgressPrivateToken(t: Fields, filePath: FilePath, trustedIngress: string[]): EgressPrivateToken | undefined {
  const mode = t.oneOf('private_token', PRIVATE_TOKEN_MODES, 'off');
  const p = {
    issuerName: t.str('private_token_issuer_name', DEFAULT_PRIVATE_TOKEN_ISSUER),
    issuerKeys: t.strList('private_token_issuer_keys'),
    issuerDirectory: filePath(t.at('private_token_issuer_directory'), t.str('private_token_issuer_directory')),
    keyGraceSec: t.int('private_token_key_grace_sec', 86_400),
    spentCapacity: t.int('private_token_spent_capacity', 1_000_000, 1),
  };
  t.checkEach('private_token_issuer_keys', p.issuerKeys, (v) => {
    if (!/^[A-Za-z0-9_-]{300,}={0,2}$/.test(v)) throw new Error('expected a base64url RSASSA-PSS public key (RFC 9578 §6.5)');
  });
  if (p.issuerName === '') t.fail('private_token_issuer_name', 'must not be empty');
  if (mode === 'off') return undefined;
  if (p.issuerKeys.length === 0 && p.issuerDirectory === undefined) {
    t.fail('private_token', `private_token = "${mode}" needs private_token_issuer_keys or private_token_issuer_directory`, CONFIG_CODES.MISSING_KEY);
  }
  if (mode === 'required-with-trusted-ingress' && trustedIngress.length === 0) {
    t.fail('private_token', 'required-with-trusted-ingress needs trusted_ingress addresses', CONFIG_CODES.MISSING_KEY);
  }
  return { mode, ...p };
}

/** `[issuer]`: absent or `enabled = false` → undefined. */
function readIssuer(t: Fields, filePath: FilePath): IssuerConfig | undefined {
  const enabled = t.bool('enabled', false);
  const c = {
    name: t.str('name', DEFAULT_PRIVATE_TOKEN_ISSUER),
    keyFile: filePath(t.at('key_file'), t.str('key_file')),
    rotationPeriodSec: t.int('rotation_period_sec', 86_400, 60),
    directoryFile: filePath(t.at('directory_file'), t.str('directory_file')),
    tokensPerClientPerHour: t.int('tokens_per_client_per_hour', 1000, 1),
  };
  t.done();
  if (!enabled) return undefined;
  if (c.name === '') t.fail('name', 'must not be empty');
  if (c.keyFile === undefined) t.fail('key_file', 'missing: [issuer] enabled = true needs key_file (the issuer private keys, created if absent)', CONFIG_CODES.MISSING_KEY);
  return { ...c, keyFile: c.keyFile };
}

function readLimits(t: Fields): RelayConfig['limits'] {
  const limits = {
    maxSessionsPerClient: t.int('max_sessions_per_client', 8),
    bandwidthBytesPerSec: t.int('bandwidth_bytes_per_sec', 0),
    packetsPerSec: t.int('packets_per_sec', 0),
  };
  t.done();
  return limits;
}

/** An egress-only relay that admits clients through trusted ingress relays or Privacy Pass tokens, not by their keys. */
export function isTwoHopEgress(cfg: RelayConfig): boolean {
  return cfg.role === 'egress' && (cfg.egress.trustedIngress.length > 0 || cfg.egress.privateToken !== undefined);
}

/**
 * The authentication rules that span several keys:
 * - `auth = "none"` only on a loopback listen, unless forced (an open proxy is a liability);
 * - `auth = "noise"` off loopback needs an authorized-keys file, except an egress-only relay
 *   that admits clients through trusted ingress relays;
 * - `auth = "bearer"` needs at least one token.
 */
function checkAuth(cfg: RelayConfig, loaded: Loaded): void {
  const isLoopback = isLoopbackHost(cfg.listen.host);
  const where = (key: string) => locate(loaded.source, key);
  if (cfg.auth === 'none' && !isLoopback && !cfg.forceAuthNone) {
    throw new ConfigError(
      CONFIG_CODES.AUTH_NONE_REFUSED,
      `auth = none refused: listen ${cfg.listen.host} is not loopback; anyone could use this relay (set force_auth_none = true or --force-auth-none to insist)`,
      where('auth'),
    );
  }
  if (cfg.auth === 'noise' && !isLoopback && cfg.authorizedKeys === undefined && !isTwoHopEgress(cfg)) {
    throw new ConfigError(CONFIG_CODES.MISSING_KEY, 'auth = noise on a non-loopback listen needs authorized_keys (a file of client public keys)', { ...where('auth'), key: 'authorized_keys' });
  }
  if (cfg.auth === 'bearer' && cfg.bearerTokens.length === 0) {
    throw new ConfigError(CONFIG_CODES.MISSING_KEY, 'auth = bearer needs at least one [[bearer_tokens]] entry', { ...where('auth'), key: 'bearer_tokens' });
  }
}
