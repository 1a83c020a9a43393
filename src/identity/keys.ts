/**
 * Curve25519 (X25519, RFC 7748) key pairs in WireGuard's text form.
 *
 * A key is 32 bytes; its text form is standard base64 with padding (44 characters), as
 * `wg genkey` / `wg pubkey` print it, so keys can be moved between this project and
 * WireGuard tooling. Parsing is strict (canonical base64 only) so that one key has exactly
 * one spelling: the authorized-keys lookup compares strings.
 *
 * Pure: no file or network I/O (key-file.ts does the files). Randomness comes from
 * node:crypto's CSPRNG.
 */
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { ERR_KEY_INVALID, IdentityError } from './errors.js';

/** Length in bytes of every X25519 key, private or public. */
export const KEY_BYTES = 32;
/** Length of a key's base64 text form (32 bytes → 44 characters with one `=`). */
export const KEY_TEXT_LENGTH = 44;

/** A static key pair. Callers own both arrays; nothing here keeps or mutates them. */
export interface KeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

// PKCS#8 header for a raw X25519 private key (RFC 8410 §7): node:crypto has no "raw"
// import for X25519, so the 32 key bytes are wrapped in this fixed DER prefix.
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const BASE64_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/**
 * A fresh private key, clamped as RFC 7748 §5 describes (what `wg genkey` prints). X25519
 * clamps again when it uses the key, so unclamped keys from elsewhere work too.
 */
export function generatePrivateKey(): Uint8Array {
  const key = new Uint8Array(randomBytes(KEY_BYTES));
  key[0]! &= 248;
  key[31]! &= 127;
  key[31]! |= 64;
  return key;
}

/** The X25519 public key of `privateKey` (`wg pubkey`). Throws ERR_KEY_INVALID on a bad length. */
export function publicKeyFromPrivate(privateKey: Uint8Array): Uint8Array {
  assertKeyLength(privateKey, 'private key');
  const der = Buffer.concat([PKCS8_X25519_PREFIX, privateKey]);
  const jwk = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })).export({ format: 'jwk' });
  return new Uint8Array(Buffer.from(jwk.x as string, 'base64url'));
}

/** A fresh key pair. */
export function generateKeyPair(): KeyPair {
  const privateKey = generatePrivateKey();
  return { privateKey, publicKey: publicKeyFromPrivate(privateKey) };
}

/** The key pair of an existing private key. */
export function keyPairFromPrivate(privateKey: Uint8Array): KeyPair {
  return { privateKey: Uint8Array.from(privateKey), publicKey: publicKeyFromPrivate(privateKey) };
}

/** The 44-character base64 text form of a 32-byte key. */
export function encodeKey(key: Uint8Array): string {
  assertKeyLength(key, 'key');
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('base64');
}

/**
 * Parses the base64 text form of a key. Surrounding whitespace is ignored (files and stdin
 * end with a newline); anything else that is not exactly 44 canonical base64 characters
 * encoding 32 bytes throws IdentityError ERR_KEY_INVALID. `what` names the key in the
 * message ("relay public key"); the message never contains the input, which may be secret.
 */
export function decodeKey(text: string, what = 'key'): Uint8Array {
  const trimmed = text.trim();
  if (trimmed.length !== KEY_TEXT_LENGTH) {
    throw new IdentityError(ERR_KEY_INVALID, `${what}: expected ${KEY_TEXT_LENGTH} base64 characters, got ${trimmed.length}`);
  }
  // The last character before '=' may only carry 4 significant bits; the regex refuses
  // non-canonical spellings so every key has one text form.
  if (!BASE64_KEY.test(trimmed)) {
    throw new IdentityError(ERR_KEY_INVALID, `${what}: not canonical base64 of ${KEY_BYTES} bytes`);
  }
  return new Uint8Array(Buffer.from(trimmed, 'base64'));
}

/** Parses a private key's text form and derives its pair. Throws ERR_KEY_INVALID. */
export function parsePrivateKey(text: string): KeyPair {
  return keyPairFromPrivate(decodeKey(text, 'private key'));
}

/** Parses a public key's text form. Throws ERR_KEY_INVALID. */
export function parsePublicKey(text: string, what = 'public key'): Uint8Array {
  return decodeKey(text, what);
}

/** `relay-cli keygen`: a new private key as one line of text (like `wg genkey`). */
export function keygenCommand(): string {
  return `${encodeKey(generatePrivateKey())}\n`;
}

/**
 * `relay-cli pubkey`: reads a private key (the whole of stdin, like `wg pubkey`) and returns
 * its public key as one line. Throws IdentityError ERR_KEY_INVALID on bad input.
 */
export function pubkeyCommand(stdinText: string): string {
  return `${encodeKey(parsePrivateKey(stdinText).publicKey)}\n`;
}

function assertKeyLength(key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.byteLength !== KEY_BYTES) {
    throw new IdentityError(ERR_KEY_INVALID, `${what}: expected ${KEY_BYTES} bytes`);
  }
}
