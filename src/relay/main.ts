/**
 * runRelay: the `relay-cli serve` engine. Loads (or creates) the relay's identity and TLS
 * certificate, builds the policy, the proxies for its role and the egress network side,
 * and serves MASQUE over HTTP/3 on one UDP socket. Contract (cli/engines.ts):
 *   runRelay(cfg, { log }) → { close(), reload(cfg) }
 * close(): GOAWAY to every client, drain briefly, tear down TUN/NAT, exit cleanly.
 * reload(cfg): new keys allowlist, tokens, egress allowlist and policy; live tunnels stay.
 */
import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { isTwoHopEgress, type RelayConfig } from '../config/relay.js';
import { loadOrGenerateKeyPair } from '../identity/key-file.js';
import { encodeKey } from '../identity/keys.js';
import { ReplayGuard } from '../identity/replay-guard.js';
import { generateSelfSigned, pemSha256 } from '../quic/certs.js';
import { buildAuthorizer } from './auth-setup.js';
import { RelayServer } from './relay-server.js';

export interface RelayHandle {
  close(): Promise<void>;
  reload(cfg: RelayConfig): Promise<void>;
  /** The UDP address actually bound (port 0 → the chosen port). */
  readonly listen: { host: string; port: number };
  /** The relay's Noise public key (base64), what clients configure. */
  readonly publicKey: string;
  readonly metricsAddress?: { host: string; port: number };
}

/** Where the identity key lives when the config names none. */
export function defaultIdentityPath(): string {
  return process.getuid?.() === 0
    ? '/var/lib/masque-relay/identity.key'
    : path.join(homedir(), '.local', 'state', 'masque-relay', 'identity.key');
}

async function loadCert(cfg: RelayConfig): Promise<{ certPem: string; keyPem: string; sha256: string }> {
  if (cfg.cert && cfg.certKey) {
    const [certPem, keyPem] = await Promise.all([readFile(cfg.cert, 'utf8'), readFile(cfg.certKey, 'utf8')]);
    return { certPem, keyPem, sha256: pemSha256(certPem) };
  }
  // No certificate configured: clients authenticate the relay by its Noise key, which binds
  // this certificate's hash (auth.md), so a fresh self-signed one per start is enough.
  return generateSelfSigned({ names: ['masque-relay', cfg.listen.host] });
}

export async function runRelay(cfg: RelayConfig, deps: { log: Logger }): Promise<RelayHandle> {
  const log = deps.log;
  const idPath = cfg.identity ?? defaultIdentityPath();
  const id = await loadOrGenerateKeyPair(idPath);
  if (id.isGenerated) log.info({ path: idPath }, 'generated a new relay identity');
  if (id.isTooOpen) log.warn({ path: idPath }, 'identity key file is readable by others; chmod 600 it');
  const publicKey = encodeKey(id.keyPair.publicKey);
  const cert = await loadCert(cfg);
  const replay = new ReplayGuard();
  // Privacy Pass (issuer and/or token redemption): loaded only when configured; lives for the
  // process so issuer keys and the spent-token store survive reloads (docs/protocol/privacy.md).
  const privacyModule = cfg.issuer || cfg.egress.privateToken ? await import('../privacy/relay-setup.js') : undefined;
  const privacy = await privacyModule?.openPrivacyRelay(cfg, { relayStatic: id.keyPair, log });
  // Stable across restarts (derived from the identity): a restarted relay can reset the
  // connections of its previous life at once (RFC 9000 §10.3), so clients reconnect quickly.
  const resetSecret = createHmac('sha256', id.keyPair.privateKey).update('masque-relay stateless reset v1').digest();
  if (cfg.auth === 'noise' && cfg.authorizedKeys === undefined && !isTwoHopEgress(cfg)) {
    // Allowed on loopback (config/relay.ts checkAuth), but like WireGuard with no peers it
    // admits nobody: say so, or the first client's ERR_AUTH_UNKNOWN_KEY is a puzzle.
    log.warn('no authorized_keys: no Noise client will be admitted (relay-cli pubkey < client.key >> authorized_keys, then --authorized-keys authorized_keys)');
  }
  let server: RelayServer;
  try {
    const authorizer = await buildAuthorizer(cfg, id.keyPair, replay, privacy);
    server = await RelayServer.start({ cfg, cert, authorizer, log, resetSecret });
  } catch (e) {
    privacy?.close(); // its spent-token store and timers; RelayServer.start undid its own part
    throw e;
  }
  log.info({ role: cfg.role, listen: server.listen, publicKey }, 'relay up');
  return {
    listen: server.listen,
    publicKey,
    metricsAddress: server.metricsAddress,
    async reload(next: RelayConfig) {
      await privacy?.reload(next);
      server.reload(next, await buildAuthorizer(next, id.keyPair, replay, privacy));
    },
    close: async () => {
      await server.close();
      privacy?.close();
    },
  };
}
