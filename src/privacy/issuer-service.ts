/**
 * IssuerService: the issuer's state on a relay (I/O: key file, directory file, rotation
 * timer). Survives configuration reloads (main.ts keeps one per process).
 *
 * Key file (mode 0600, JSON): `{"version":1,"keys":[{"not-before":<unix s>,"pkcs8":"<base64>"}]}`
 * holding the current and previous private keys. Created on first start; replaced
 * atomically (temp file + rename) on each rotation. When `directoryFile` is set, the
 * RFC 9578 §4 directory (public keys only) is written there too, for egress relays to load
 * (`[egress] private_token_issuer_directory`).
 */
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { PrivacyConfigError, PrivacyError } from './errors.js';
import { generateIssuerKeyPair, importIssuerKeyPair, issueToken, IssuanceBudget, IssuerKeyring, type IssuerKeyPair } from './issuer.js';

export interface IssuerServiceOptions {
  /** issuer_name (RFC 9577 §2.1.1); only labels the Issuer object: type-2 issuance never sees the challenge. */
  name: string;
  keyFile: string;
  rotationPeriodMs: number;
  directoryFile?: string;
  /** Tokens per client key per hour. */
  tokensPerClientPerHour: number;
  log: Logger;
  now?: () => number;
}

interface KeyFileJson {
  version: 1;
  keys: Array<{ 'not-before': number; pkcs8: string }>;
}

export class IssuerService {
  private timer?: NodeJS.Timeout;
  private rotating?: Promise<boolean>;
  private readonly budget: IssuanceBudget;

  private constructor(private readonly o: IssuerServiceOptions, public ring: IssuerKeyring) {
    this.budget = new IssuanceBudget(o.tokensPerClientPerHour);
  }

  /** Loads (or creates) the key file, rotates if due, writes the directory, arms the rotation timer. */
  static async open(o: IssuerServiceOptions): Promise<IssuerService> {
    const now = (o.now ?? Date.now)();
    let keys = await loadKeyFile(o.keyFile);
    if (keys === null) {
      keys = [await generateIssuerKeyPair(now)];
      await saveKeyFile(o.keyFile, keys);
      o.log.info({ path: o.keyFile }, 'generated a new issuer key');
    }
    const svc = new IssuerService(o, new IssuerKeyring(keys));
    if (!(await svc.rotateIfDue())) await svc.writeDirectory();
    // Check often enough that a key is never more than 10% of a period late; unref'd: never keeps the process alive.
    svc.timer = setInterval(() => void svc.rotateIfDue().catch((err) => o.log.error({ err }, 'issuer key rotation failed')), Math.max(1000, Math.min(60_000, o.rotationPeriodMs / 10)));
    svc.timer.unref();
    return svc;
  }

  /** Generates a new current key when the current one is a period old. Resolves true if it rotated. */
  rotateIfDue(): Promise<boolean> {
    this.rotating ??= (async () => {
      const now = (this.o.now ?? Date.now)();
      if (!this.ring.isRotationDue(now, this.o.rotationPeriodMs)) return false;
      const next = this.ring.rotated(await generateIssuerKeyPair(now));
      await saveKeyFile(this.o.keyFile, next.keys);
      this.ring = next;
      await this.writeDirectory();
      this.o.log.info({ keyId: next.current.publicKey.idHex.slice(0, 16) }, 'issuer key rotated');
      return true;
    })().finally(() => (this.rotating = undefined));
    return this.rotating;
  }

  /** The directory JSON (RFC 9578 §4). */
  directoryJson(): string {
    return JSON.stringify(this.ring.directory());
  }

  /**
   * Issues one token to `client` (a log-safe principal key, never logged here). Throws
   * PrivacyError (ERR_PRIVACY_RATE_LIMITED, and issueToken's codes).
   */
  async issue(client: string, requestBytes: Uint8Array): Promise<Uint8Array> {
    if (!this.budget.take(client, (this.o.now ?? Date.now)())) throw new PrivacyError('ERR_PRIVACY_RATE_LIMITED', 'token budget for this client spent');
    return issueToken(this.ring, this.o.name, requestBytes);
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async writeDirectory(): Promise<void> {
    if (this.o.directoryFile === undefined) return;
    await atomicWrite(this.o.directoryFile, this.directoryJson() + '\n', 0o644);
  }
}

async function loadKeyFile(file: string): Promise<IssuerKeyPair[] | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new PrivacyConfigError(`issuer key file ${file}: cannot read`, { cause: e });
  }
  try {
    const j = JSON.parse(text) as KeyFileJson;
    if (j.version !== 1 || !Array.isArray(j.keys) || j.keys.length === 0) throw new Error('want {"version":1,"keys":[…]}');
    return await Promise.all(j.keys.map((k) => importIssuerKeyPair(new Uint8Array(Buffer.from(k.pkcs8, 'base64')), k['not-before'] * 1000)));
  } catch (e) {
    throw new PrivacyConfigError(`issuer key file ${file}: invalid`, { cause: e });
  }
}

async function saveKeyFile(file: string, keys: readonly IssuerKeyPair[]): Promise<void> {
  const j: KeyFileJson = { version: 1, keys: keys.map((k) => ({ 'not-before': Math.floor(k.publicKey.notBeforeMs / 1000), pkcs8: Buffer.from(k.pkcs8).toString('base64') })) };
  await atomicWrite(file, JSON.stringify(j) + '\n', 0o600);
}

async function atomicWrite(file: string, text: string, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode });
  await chmod(tmp, mode); // the umask may have cleared bits
  await rename(tmp, file);
}
