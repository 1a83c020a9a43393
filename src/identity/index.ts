/**
 * Public surface of src/identity (see README.md). The relay imports the authorizers, the
 * client imports noise-auth, the CLI imports keys (keygenCommand / pubkeyCommand) and
 * key-file. key-file.ts is the only module here that touches the file system.
 */
export * from './errors.js';
export * from './keys.js';
export * from './authorized-keys.js';
export * from './noise-payload.js';
export * from './replay-guard.js';
export * from './noise-auth.js';
export * from './bearer.js';
export * from './cidr.js';
export * from './authorizer.js';
export * from './key-file.js';
