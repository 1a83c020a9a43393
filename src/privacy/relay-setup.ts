/**
 * The relay side of Privacy Pass, wired from the configuration (I/O: files, a poll timer).
 * `src/relay/main.ts` loads this module with `await import()` only when `[issuer]` or
 * `[egress] private_token` is configured, and keeps the returned object for the process's
 * life, so the issuer keys, the directory watcher and the spent-token store survive reloads.
 *
 *   ingress (issuer):  requestHandler → IssuerRoute (directory + token requests)
 *   egress (origin):   tokenAuthorizer() → PrivateTokenEgressAuthorizer over a TokenVerifier
 */
import { readFile, stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { RelayConfig } from '../config/relay.js';
import type { Authorizer } from '../identity/authorizer.js';
import type { KeyPair } from '../identity/keys.js';
import type { ReplayGuard } from '../identity/replay-guard.js';
import { challengeDigest, egressChallenge } from './challenge.js';
import { PrivateTokenEgressAuthorizer } from './egress-authorizer.js';
import { IssuerRoute, type PlainRequest } from './issuer-route.js';
import { IssuerService } from './issuer-service.js';
import { KeySet, parseIssuerDirectory, parseIssuerPublicKey, type IssuerPublicKey } from './key-set.js';
import { SpentTokenStore } from './spent-store.js';
import { formatPrivateTokenChallenge } from './token.js';
import { TokenVerifier } from './verifier.js';

/** How often the egress looks at the issuer directory file (a stat; a parse only on change). */
const DIRECTORY_POLL_MS = 2000;

export interface PrivacyRelay {
  /** The egress's token authorizer, or null when tokens are off. Rebuilt per reload. */
  tokenAuthorizer(cfg: RelayConfig, relayStatic: KeyPair, replay: ReplayGuard): Authorizer | null;
  /** The issuer's HTTP resources, or null when this relay is no issuer. */
  requestHandler: { handle(r: PlainRequest): boolean } | null;
  /** Re-reads the key list / directory of a reloaded config. */
  reload(cfg: RelayConfig): Promise<void>;
  close(): void;
}

/** True when the config needs this module. */
export function isPrivacyConfigured(cfg: RelayConfig): boolean {
  return cfg.issuer !== undefined || cfg.egress.privateToken !== undefined;
}

export async function openPrivacyRelay(cfg: RelayConfig, o: { relayStatic: KeyPair; log: Logger }): Promise<PrivacyRelay> {
  const log = o.log.child({ mod: 'privacy' });
  let issuer: IssuerService | undefined;
  if (cfg.issuer) {
    const i = cfg.issuer;
    issuer = await IssuerService.open({
      name: i.name, keyFile: i.keyFile, rotationPeriodMs: i.rotationPeriodSec * 1000, directoryFile: i.directoryFile,
      tokensPerClientPerHour: i.tokensPerClientPerHour, log,
    });
    log.info({ keyId: issuer.ring.current.publicKey.idHex.slice(0, 16) }, 'privacy pass issuer up');
  }
  const pt = cfg.egress.privateToken;
  const spent = new SpentTokenStore(pt?.spentCapacity);
  const keys = new EgressKeys(log);
  await keys.load(cfg);
  const svc = issuer;
  return {
    requestHandler: svc ? new IssuerRoute(() => svc, log) : null,
    tokenAuthorizer(c, relayStatic, replay) {
      const p = c.egress.privateToken;
      if (p === undefined || c.role === 'ingress') return null;
      const challenge = egressChallenge(p.issuerName, relayStatic.publicKey);
      const verifier = new TokenVerifier({ keys: () => keys.current, challengeDigest: challengeDigest(challenge), spent });
      const tokenKey = keys.current.accepted(Date.now()).at(-1)?.tokenKey;
      return new PrivateTokenEgressAuthorizer({
        verifier,
        challenge: formatPrivateTokenChallenge(challenge, tokenKey),
        trustedSources: p.mode === 'required-with-trusted-ingress' ? c.egress.trustedIngress : undefined,
        noise: { relayStatic, replay },
      });
    },
    reload: (c) => keys.load(c),
    close() {
      issuer?.close();
      keys.close();
    },
  };
}

/** The egress's accepted issuer keys: the static list plus the directory file, polled. */
class EgressKeys {
  current = KeySet.empty();
  private fixed: IssuerPublicKey[] = [];
  private fromDirectory: IssuerPublicKey[] = [];
  private graceMs = 0;
  private file?: string;
  private mtimeMs = -1;
  private timer?: NodeJS.Timeout;

  constructor(private readonly log: Logger) {}

  async load(cfg: RelayConfig): Promise<void> {
    const p = cfg.egress.privateToken;
    clearInterval(this.timer);
    this.fixed = (p?.issuerKeys ?? []).map((k) => parseIssuerPublicKey(k));
    this.graceMs = (p?.keyGraceSec ?? 0) * 1000;
    this.file = p?.issuerDirectory;
    this.mtimeMs = -1;
    this.fromDirectory = [];
    await this.poll();
    this.rebuild();
    if (this.file !== undefined) {
      this.timer = setInterval(() => void this.poll(), DIRECTORY_POLL_MS);
      this.timer.unref();
    }
  }

  close(): void {
    clearInterval(this.timer);
  }

  private rebuild(): void {
    this.current = new KeySet([...this.fixed, ...this.fromDirectory], this.graceMs);
  }

  /** A missing or bad file keeps the previous keys (warned); a changed one replaces them. */
  private async poll(): Promise<void> {
    const file = this.file;
    if (file === undefined) return;
    try {
      const st = await stat(file);
      if (st.mtimeMs === this.mtimeMs) return;
      const keys = parseIssuerDirectory(await readFile(file, 'utf8'));
      this.mtimeMs = st.mtimeMs;
      this.fromDirectory = keys;
      this.rebuild();
      this.log.info({ keys: keys.length }, 'issuer keys loaded');
    } catch (err) {
      if (this.mtimeMs !== -2) this.log.warn({ err, path: file }, 'issuer directory unreadable; keeping the previous keys');
      this.mtimeMs = -2;
    }
  }
}
