/**
 * Key files on disk (I/O; the rest of src/identity is pure).
 *
 * A private key file holds one base64 key and a newline, like WireGuard's, with mode 0600.
 * It is created atomically and never overwritten: the key is written to a temporary file
 * in the same directory (created 0600 with O_EXCL, then fchmod 0600 because the umask could
 * have cleared bits, then fsync), and hard-linked to its final name; link(2) fails if the
 * name exists, so two relays starting at once cannot clobber each other's key, and a crash
 * never leaves a half-written key under the real name.
 *
 * Permissions on read are reported, not enforced: `isTooOpen` tells the caller the file is
 * readable or writable by group/other so it can log a warning (like ssh's "UNPROTECTED
 * PRIVATE KEY FILE", minus the refusal, since containers often mount keys 0644).
 */
import { constants } from 'node:fs';
import { link, open, readFile, stat, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { AuthorizedKeys } from './authorized-keys.js';
import { ERR_KEY_FILE, IdentityError } from './errors.js';
import { encodeKey, generateKeyPair, parsePrivateKey, type KeyPair } from './keys.js';

export const PRIVATE_KEY_FILE_MODE = 0o600;

export interface LoadedKey {
  keyPair: KeyPair;
  /** Permission bits of the file (e.g. 0o600). */
  mode: number;
  /** True if group or other has any permission: the caller should log a warning. */
  isTooOpen: boolean;
}

/**
 * Writes a new private key file with mode 0600. Throws IdentityError ERR_KEY_FILE if the
 * path already exists or cannot be written (`cause` has the errno error).
 */
export async function writePrivateKeyFile(path: string, privateKey: Uint8Array): Promise<void> {
  const text = `${encodeKey(privateKey)}\n`;
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, PRIVATE_KEY_FILE_MODE);
    try {
      await fh.chmod(PRIVATE_KEY_FILE_MODE);
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await link(tmp, path);
  } catch (cause) {
    throw new IdentityError(ERR_KEY_FILE, `identity: cannot write private key file ${path} (${(cause as NodeJS.ErrnoException).code ?? 'error'})`, { cause });
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/**
 * Reads a private key file. Throws IdentityError ERR_KEY_FILE (missing, unreadable, not a
 * regular file) or ERR_KEY_INVALID (content); never includes the content in messages.
 */
export async function readPrivateKeyFile(path: string): Promise<LoadedKey> {
  let text: string;
  let mode: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new Error('not a regular file');
    mode = st.mode & 0o777;
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new IdentityError(ERR_KEY_FILE, `identity: cannot read private key file ${path}`, { cause });
  }
  let keyPair: KeyPair;
  try {
    keyPair = parsePrivateKey(text);
  } catch (e) {
    // The parser knows the content, not where it came from: name the file (never the content).
    if (e instanceof IdentityError) throw new IdentityError(e.code, `${path}: ${e.message}`, { cause: e });
    throw e;
  }
  return { keyPair, mode, isTooOpen: (mode & 0o077) !== 0 };
}

/**
 * The relay's start-up path: reads the key at `path`, or generates and writes one if the
 * file does not exist. `isGenerated` says which happened (log the public key then). If
 * another process creates the file between our check and our write, its key wins.
 */
export async function loadOrGenerateKeyPair(path: string): Promise<LoadedKey & { isGenerated: boolean }> {
  try {
    return { ...(await readPrivateKeyFile(path)), isGenerated: false };
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  const keyPair = generateKeyPair();
  try {
    await writePrivateKeyFile(path, keyPair.privateKey);
  } catch (e) {
    if (isExists(e)) return { ...(await readPrivateKeyFile(path)), isGenerated: false };
    throw e;
  }
  return { keyPair, mode: PRIVATE_KEY_FILE_MODE, isTooOpen: false, isGenerated: true };
}

/**
 * Reads and parses an authorized-keys file. Throws IdentityError ERR_KEY_FILE (I/O) or
 * ERR_AUTHORIZED_KEYS_SYNTAX (with the line). Reload by calling again and swapping.
 */
export async function loadAuthorizedKeys(path: string): Promise<AuthorizedKeys> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new IdentityError(ERR_KEY_FILE, `identity: cannot read authorized keys ${path}`, { cause });
  }
  return AuthorizedKeys.parse(text, path);
}

function errnoOf(e: unknown): string | undefined {
  const cause = e instanceof IdentityError ? e.cause : e;
  return (cause as NodeJS.ErrnoException | undefined)?.code;
}

function isNotFound(e: unknown): boolean {
  return e instanceof IdentityError && e.code === ERR_KEY_FILE && errnoOf(e) === 'ENOENT';
}

function isExists(e: unknown): boolean {
  return e instanceof IdentityError && e.code === ERR_KEY_FILE && errnoOf(e) === 'EEXIST';
}
