// Types for the parts of noise-handshake 4.2 (CommonJS, untyped) that noise-auth.ts uses.
// Under NodeNext an ESM file imports a CommonJS module's `module.exports` as the default
// export, so `import NoiseState from 'noise-handshake'` is the form that works at runtime.
declare module 'noise-handshake' {
  interface NoiseKeyPair {
    publicKey: Uint8Array;
    secretKey: Uint8Array;
  }
  class NoiseState {
    constructor(pattern: 'IK', initiator: boolean, staticKeypair?: NoiseKeyPair);
    /** Mixes the prologue and, for the initiator of IK, the responder's static key. */
    initialise(prologue: Uint8Array, remoteStatic?: Uint8Array): void;
    /** Next handshake message, with `payload` encrypted inside. Throws plain Errors. */
    send(payload?: Uint8Array): Uint8Array;
    /** Consumes a handshake message; returns its payload. Throws plain Errors. */
    recv(message: Uint8Array): Uint8Array;
    readonly complete: boolean;
    /** The remote static key (set by `initialise` on the initiator, by `recv` on the responder). */
    readonly rs: Uint8Array | null;
    /** Handshake hash, set once complete. */
    readonly hash: Uint8Array | null;
  }
  export = NoiseState;
}
