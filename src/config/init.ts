/**
 * `relay-cli config init --client|--relay`: commented config templates with fresh keys.
 *
 * Keys come from src/identity (X25519, WireGuard text form). Every file we write is created
 * with O_EXCL and mode 0600 (the client config holds the private key inline; the relay's key
 * goes to its own file via identity/key-file.ts, which writes 0600 atomically). We never
 * overwrite: an existing file is ConfigError EXISTS unless `force`.
 */
import { constants } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { encodeKey, generateKeyPair } from '../identity/keys.js';
import { readPrivateKeyFile, writePrivateKeyFile } from '../identity/key-file.js';
import { DEFAULT_IPV4_POOL, DEFAULT_IPV6_POOL } from '../masque/address-pool.js';
import { ConfigError, CONFIG_CODES } from './errors.js';

export const CONFIG_FILE_MODE = 0o600;

/** The text of a client config holding `privateKey` (base64). Validates as is. */
export function clientTemplate(privateKey: string, publicKey: string): string {
  return `# masque-relay client configuration (TOML). Reference: docs/cli.md.
# This file holds your private key: keep it mode 0600.

# This device's Curve25519 key. Its public key, for the relays' authorized_keys:
#   ${publicKey}
private_key = "${privateKey}"

# "two-hop": ingress relay -> egress relay (neither sees both who you are and where you go).
# "single-hop": one relay, or a third-party CONNECT-IP proxy ([proxy] below).
chain = "two-hop"
# Relay names from [[relays]]; default: the first relay that fits each role.
# ingress = "ingress-1"
# egress = "egress-1"

# Block all traffic outside the tunnel while connecting or reconnecting.
kill_switch = false
log_level = "info"

# One [[relays]] block per relay. public_key is the relay's (relay-cli pubkey < relay.key).
# [[relays]]
# name = "ingress-1"
# address = "ingress.example.net:4433"
# public_key = "..."
# role = "ingress"            # ingress | egress | both
#
# [[relays]]
# name = "egress-1"
# address = "egress.example.net:4433"
# public_key = "..."
# role = "egress"

# A third-party MASQUE proxy instead of our relays (single hop, RFC 9484 URI template):
# [proxy]
# template = "https://proxy.example.net:443/.well-known/masque/ip/{target}/{ipproto}/"
# ca = "proxy-ca.pem"                 # CA bundle to verify the proxy
# authorization = "Bearer ..."        # sent as Proxy-Authorization

[routing]
mode = "full"        # full: everything through the tunnel; split: only "include"
include = []         # split mode: CIDRs sent through the tunnel
exclude = []         # CIDRs that always bypass the tunnel (e.g. your LAN)

[dns]
servers = []         # e.g. ["9.9.9.9", "2620:fe::fe"]; empty keeps the system's

[tun]
name = "masque0"
mtu = 1280
`;
}

/** The text of a relay config whose identity is `identityFile` (relative to the config). */
export function relayTemplate(identityFile: string, publicKey: string): string {
  return `# masque-relay relay configuration (TOML). Reference: docs/cli.md.
# Command-line flags override these values (relay-cli serve --help).

role = "both"                  # ingress | egress | both
listen = "0.0.0.0:4433"        # UDP (QUIC) address to bind
# cert = "relay.crt"           # TLS chain and key (PEM); without them a self-signed
# cert_key = "relay.crt.key"   # certificate is made at start

# Noise static key (0600). Clients pin its public key:
#   ${publicKey}
identity = "${identityFile}"

auth = "noise"                 # noise | bearer | none ("none" only on loopback or with force_auth_none)
authorized_keys = "authorized_keys"   # client public keys, one per line
# force_auth_none = false
# [[bearer_tokens]]            # auth = "bearer": Proxy-Authorization: Bearer <token>
# id = "ci-runner"
# token = "at least 16 characters of secret"

# metrics = "127.0.0.1:9464"   # Prometheus endpoint
log_level = "info"

[ingress]
allow_egress = []              # egress relays this ingress may forward to, "host:port"

[egress]
ipv4_pool = "${DEFAULT_IPV4_POOL}"
ipv6_pool = "${DEFAULT_IPV6_POOL}"  # "off" on a host without IPv6 upstream
allow_targets = []             # non-public destinations to allow anyway (CIDRs)
deny_targets = []              # destinations always refused (CIDRs)
deny_tcp_ports = [25]          # TCP ports refused through CONNECT-IP (25: no spam from this address)
trusted_ingress = []           # source CIDRs of ingress relays trusted in two-hop mode

[limits]                       # per client; 0 = unlimited
max_sessions_per_client = 8
bandwidth_bytes_per_sec = 0
packets_per_sec = 0
`;
}

export interface InitResult {
  /** Files written, in order. */
  files: string[];
  /** Public key of the generated key pair. */
  publicKey: string;
}

/** Write a client config with a fresh key to `file` (0600). */
export async function initClientConfig(file: string, opts: { force?: boolean } = {}): Promise<InitResult> {
  await refuseDirectory(file);
  const kp = generateKeyPair();
  const publicKey = encodeKey(kp.publicKey);
  await writeNew(file, clientTemplate(encodeKey(kp.privateKey), publicKey), opts.force === true);
  return { files: [file], publicKey };
}

/**
 * Write a relay config to `file`, its identity key to `<dir>/relay.key` and an empty
 * `<dir>/authorized_keys` if missing. All 0600. With `force`, the config is replaced but an
 * existing key is kept (replacing a relay key breaks every client that pinned it).
 */
export async function initRelayConfig(file: string, opts: { force?: boolean } = {}): Promise<InitResult> {
  await refuseDirectory(file);
  const dir = path.dirname(file);
  const keyFile = path.join(dir, 'relay.key');
  let publicKey: string;
  const files: string[] = [];
  if (await exists(keyFile)) {
    if (!opts.force) throw new ConfigError(CONFIG_CODES.EXISTS, 'exists; use --force to keep it and rewrite the config', { file: keyFile });
    publicKey = encodeKey((await readPrivateKeyFile(keyFile)).keyPair.publicKey); // a bad one: ERR_KEY_INVALID naming the file
  } else {
    if ((await exists(file)) && !opts.force) throw new ConfigError(CONFIG_CODES.EXISTS, 'file exists; use --force to replace it', { file });
    const kp = generateKeyPair();
    await writePrivateKeyFile(keyFile, kp.privateKey);
    files.push(keyFile);
    publicKey = encodeKey(kp.publicKey);
  }
  await writeNew(file, relayTemplate('relay.key', publicKey), opts.force === true);
  files.unshift(file);
  const authorized = path.join(dir, 'authorized_keys');
  if (!(await exists(authorized))) {
    await writeNew(authorized, '# One client public key per line, optionally followed by a name:\n#   <base64 key> alice-laptop\n', false);
    files.push(authorized);
  }
  return { files, publicKey };
}

/** Create `file` 0600 with O_EXCL (or replace it when `force`). */
async function writeNew(file: string, text: string, force: boolean): Promise<void> {
  if (force) await rm(file, { force: true });
  let fh;
  try {
    fh = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, CONFIG_FILE_MODE);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new ConfigError(CONFIG_CODES.EXISTS, 'file exists; use --force to replace it', { file }, { cause: e });
    throw new ConfigError(CONFIG_CODES.READ, `cannot create file (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { file }, { cause: e });
  }
  try {
    await fh.chmod(CONFIG_FILE_MODE); // the umask may have cleared bits; never widens, but be exact
    await fh.writeFile(text, 'utf8');
  } finally {
    await fh.close();
  }
}

/**
 * `-o DIR` (or `-o ''`, the working directory) is a mistake, not an existing config: without
 * this it was reported as "file exists; use --force", and --force then failed in rm (EISDIR).
 */
async function refuseDirectory(file: string): Promise<void> {
  const st = await stat(file).catch(() => undefined);
  if (st?.isDirectory()) throw new ConfigError(CONFIG_CODES.READ, 'cannot create file (EISDIR): this is a directory; give a file name with -o', { file });
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}
