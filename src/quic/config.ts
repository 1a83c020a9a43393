/**
 * Typed options → quiche.Config.
 *
 * Byte budget (why the defaults are what they are; docs/protocol/mtu.md has the full table):
 *   a 1500-byte link, IPv6 (40) + UDP (8)           → 1452 bytes of UDP payload
 *   outer QUIC at maxUdpPayloadBytes 1452             → DATAGRAM payload ≤ 1412 (measured,
 *                                                        quiche 0.18, 1-RTT short header + AEAD)
 *   minus Quarter Stream ID (≤2) + Context ID (1)     → 1409 bytes of proxied UDP payload
 *   inner QUIC (two-hop) at INNER_MAX_UDP_PAYLOAD 1350 → DATAGRAM payload ≤ 1310
 *   minus Quarter Stream ID + Context ID              → 1307-byte IP packets ≥ 1280 (RFC 9484 §10)
 * so the outer default is 1452 and a connection nested inside CONNECT-UDP uses 1350.
 */
import { createHmac } from 'node:crypto';
import { quiche, native, type NativeConfig } from './native.js';
import { QuicError } from './errors.js';

/** Outer QUIC: fits a 1500-byte IPv6 path. */
export const DEFAULT_MAX_UDP_PAYLOAD = 1452;
/** QUIC carried inside a CONNECT-UDP tunnel of an outer connection (two-hop). */
export const INNER_MAX_UDP_PAYLOAD = 1350;

export interface QuicConfigOptions {
  isServer: boolean;
  /** ALPN protocols in preference order (e.g. ['h3']). */
  alpn: string[];
  /** PEM certificate chain and key (a server needs them; a client may present them). */
  certPem?: string;
  keyPem?: string;
  /** Verify the peer's chain against these PEM CA certificates (and its name, client side). */
  caPem?: string;
  /**
   * Require a valid peer chain. Defaults to true for a client given `caPem`, else false.
   * quiche 0.18 verifies nothing unless asked (FACTS.md): a client without caPem/pins is
   * unauthenticated at the TLS layer and must authenticate the peer otherwise (Noise).
   */
  verifyPeer?: boolean;
  /** Accept the peer only if SHA-256 (hex) of its leaf certificate DER is in this list. */
  pinSha256?: string[];
  maxUdpPayloadBytes?: number;
  /** Idle timeout (quiche max_idle_timeout), ms. Default 30 s. 0 = none. */
  idleTimeoutMs?: number;
  /** Send an ack-eliciting packet after this much silence, ms (keep NAT bindings and idle timers alive). */
  keepAliveMs?: number;
  /**
   * Source CIDs offered to the peer beyond the first (RFC 9000 §5.1.1), for its migrations.
   * Default 3. 0 for a connection inside a tunnel, whose path never changes: a forwarding
   * proxy must learn every client CID before the peer may use it (draft-ietf-masque-quic-proxy-07 §5.9.2).
   */
  spareCids?: number;
  /**
   * Hold an ACK that would go out alone for up to this long, ms, so that it rides on the
   * reply (a tunneled ping's answer comes back within a fraction of a millisecond). RFC 9000
   * §13.2.1 allows up to max_ack_delay (quiche: 25 ms); §13.2.2: a second packet, an app
   * write or a handshake still sends at once. Default 1 (MASQUE_ACK_DELAY_MS overrides);
   * 0 = always at once.
   */
  ackDelayMs?: number;
  /** QUIC DATAGRAM (RFC 9221). Default on, with these queue lengths. */
  dgram?: boolean;
  dgramRecvQueueLen?: number;
  dgramSendQueueLen?: number;
  initialMaxData?: number;
  initialMaxStreamData?: number;
  initialMaxStreamsBidi?: number;
  initialMaxStreamsUni?: number;
  maxConnectionWindow?: number;
  maxStreamWindow?: number;
  /** Congestion control (bbr2 is broken in quiche 0.18's binding: FACTS.md). */
  cc?: 'cubic' | 'reno' | 'bbr';
  /** Let the peer migrate (active migration). Default true. */
  allowMigration?: boolean;
  /** Enable 0-RTT early data (session resumption works without it). */
  earlyData?: boolean;
  /** Write TLS secrets (NSS key log format) to this file, e.g. process.env.SSLKEYLOGFILE. */
  keylogPath?: string;
  /**
   * Server: secret for stateless reset tokens (RFC 9000 §10.3). Keep it stable across
   * restarts (the relay derives it from its identity key) so that after a restart the server
   * can tell clients of the old process, at once, that their connection is gone.
   */
  resetSecret?: Uint8Array;
}

/** A built config: the native object plus the options the driver needs at run time. */
export interface QuicConfig {
  readonly native: NativeConfig;
  readonly isServer: boolean;
  readonly alpn: string[];
  readonly pinSha256?: string[];
  readonly keepAliveMs: number;
  readonly spareCids?: number;
  readonly ackDelayMs: number;
  readonly maxUdpPayloadBytes: number;
  readonly keylogPath?: string;
  readonly resetSecret?: Uint8Array;
  /** The peer's chain is verified against a CA (so a name/IP check is meaningful). */
  readonly isVerifying: boolean;
}

const SIGALGS = [
  'ecdsa_secp256r1_sha256', 'ecdsa_secp384r1_sha384', 'ecdsa_secp521r1_sha512', 'ed25519',
  'rsa_pss_rsae_sha256', 'rsa_pss_rsae_sha384', 'rsa_pss_rsae_sha512',
  'rsa_pkcs1_sha256', 'rsa_pkcs1_sha384', 'rsa_pkcs1_sha512',
].join(':');

const enc = new TextEncoder();

/** Builds a quiche.Config. Throws QuicError ERR_QUIC_CONFIG on bad input (e.g. unparsable PEM). */
export function createQuicConfig(o: QuicConfigOptions): QuicConfig {
  if (o.isServer && (!o.certPem || !o.keyPem)) throw new QuicError('ERR_QUIC_CONFIG', 'quic: a server needs certPem and keyPem');
  if (!!o.certPem !== !!o.keyPem) throw new QuicError('ERR_QUIC_CONFIG', 'quic: certPem and keyPem go together');
  if (o.alpn.length === 0) throw new QuicError('ERR_QUIC_CONFIG', 'quic: at least one ALPN is required');
  const verifyPeer = o.verifyPeer ?? (!o.isServer && !!o.caPem);
  if (verifyPeer && !o.caPem) throw new QuicError('ERR_QUIC_CONFIG', 'quic: verifyPeer needs caPem');
  let cfg: NativeConfig;
  try {
    cfg = quiche.Config.withBoringSslCtx(
      verifyPeer,
      false,
      o.caPem ? enc.encode(o.caPem) : null,
      o.keyPem ? [enc.encode(o.keyPem)] : null,
      o.certPem ? [enc.encode(o.certPem)] : null,
      SIGALGS,
    );
  } catch (e) {
    throw new QuicError('ERR_QUIC_CONFIG', `quic: cannot build TLS context: ${(e as Error).message}`, { cause: e });
  }
  const maxUdp = o.maxUdpPayloadBytes ?? DEFAULT_MAX_UDP_PAYLOAD;
  if (maxUdp < 1200 || maxUdp > 65527) throw new QuicError('ERR_QUIC_CONFIG', `quic: maxUdpPayloadBytes ${maxUdp} outside 1200..65527 (RFC 9000 §14)`);
  native('quic: config', () => {
    cfg.setApplicationProtos(o.alpn);
    cfg.setMaxIdleTimeout(o.idleTimeoutMs ?? 30_000);
    cfg.setMaxRecvUdpPayloadSize(maxUdp);
    cfg.setMaxSendUdpPayloadSize(maxUdp);
    cfg.setInitialMaxData(o.initialMaxData ?? 16 * 1024 * 1024);
    const sd = o.initialMaxStreamData ?? 4 * 1024 * 1024;
    cfg.setInitialMaxStreamDataBidiLocal(sd);
    cfg.setInitialMaxStreamDataBidiRemote(sd);
    cfg.setInitialMaxStreamDataUni(1024 * 1024);
    cfg.setInitialMaxStreamsBidi(o.initialMaxStreamsBidi ?? 128);
    cfg.setInitialMaxStreamsUni(o.initialMaxStreamsUni ?? 16);
    cfg.setMaxConnectionWindow(o.maxConnectionWindow ?? 64 * 1024 * 1024);
    cfg.setMaxStreamWindow(o.maxStreamWindow ?? 16 * 1024 * 1024);
    cfg.setCcAlgorithmName(o.cc ?? 'cubic');
    cfg.setDisableActiveMigration(o.allowMigration === false);
    cfg.setActiveConnectionIdLimit(4);
    cfg.grease(true);
    if (o.dgram !== false) cfg.enableDgram(true, o.dgramRecvQueueLen ?? 4096, o.dgramSendQueueLen ?? 4096);
    if (o.earlyData) cfg.enableEarlyData();
    if (o.keylogPath) cfg.logKeys();
    // The token for the server's first CID is per config in quiche: derive it from the secret.
    if (o.resetSecret) cfg.setStatelessResetToken(initialResetToken(o.resetSecret));
  });
  return {
    native: cfg,
    isServer: o.isServer,
    alpn: o.alpn,
    pinSha256: o.pinSha256?.map((p) => p.toLowerCase().replace(/:/g, '')),
    keepAliveMs: o.keepAliveMs ?? 0,
    spareCids: o.spareCids,
    ackDelayMs: o.ackDelayMs ?? envAckDelayMs(),
    maxUdpPayloadBytes: maxUdp,
    keylogPath: o.keylogPath,
    resetSecret: o.resetSecret,
    isVerifying: verifyPeer,
  };
}

/** The stateless reset token of every connection's first server CID under `secret`. */
export function initialResetToken(secret: Uint8Array): bigint {
  const mac = createHmac('sha256', secret).update('masque-relay initial reset token').digest();
  return mac.readBigUInt64BE(0) * 2n ** 64n + mac.readBigUInt64BE(8);
}

/** MASQUE_ACK_DELAY_MS (0–25), else 1: lets an operator or a benchmark switch holding off. */
function envAckDelayMs(): number {
  const v = Number(process.env.MASQUE_ACK_DELAY_MS ?? 1);
  return Number.isFinite(v) && v >= 0 && v <= 25 ? v : 1;
}
