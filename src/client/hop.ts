/**
 * One HTTP/3 hop of the chain: a QUIC connection (over a UDP socket, or over a CONNECT-UDP
 * session for the inner hop) with an HTTP/3 client driver on it, ready for extended CONNECT.
 */
import { createHash } from 'node:crypto';
import { QuicEndpoint } from '../quic/endpoint.js';
import type { QuicConfig } from '../quic/config.js';
import type { HostPort, PacketPath } from '../quic/path.js';
import type { QuicConnHandle } from '../quic/app.js';
import { ClientH3Driver } from '../h3/client.js';
import type { FieldLine } from '../h3/qpack/types.js';
import { MasqueError } from '../core/errors.js';
import { createClientHello, finishClient, type ClientHandshakeState } from '../identity/noise-auth.js';
import { NOISE_REQUEST_HEADER, NOISE_RESPONSE_HEADER, type MonotonicTimestamper } from '../identity/noise-payload.js';
import type { KeyPair } from '../identity/keys.js';

export interface Hop {
  endpoint: QuicEndpoint;
  h3: ClientH3Driver;
  quic: QuicConnHandle;
  /** SHA-256 of the relay's TLS leaf certificate on this connection. */
  certSha256: Uint8Array;
}

/** Rejects after `ms` with a coded error (each connect stage is bounded). */
export function withTimeout<T>(p: Promise<T>, ms: number, code: string, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, rej) => {
      t = setTimeout(() => rej(new MasqueError(code, `${what}: no answer within ${ms} ms`)), ms);
    }),
  ]);
}

/** Opens QUIC + HTTP/3 to `peer` over `path` and waits for the server's SETTINGS. */
export async function openHop(o: { path: PacketPath; peer: HostPort; serverName: string; config: QuicConfig; timeoutMs: number }): Promise<Hop> {
  const endpoint = new QuicEndpoint({ path: o.path });
  // RFC 9297 §2.1.1: advertise H3_DATAGRAM, else every packet falls back to DATAGRAM capsules on the stream.
  const h3 = new ClientH3Driver({ settings: { h3Datagram: true } });
  endpoint.connect({ peer: o.peer, serverName: o.serverName, config: o.config, app: h3 });
  try {
    await withTimeout(h3.ready, o.timeoutMs, 'ERR_TUNNEL_HANDSHAKE', `QUIC/HTTP3 handshake with ${o.peer.host}:${o.peer.port}`);
  } catch (e) {
    await endpoint.close({ graceMs: 50 });
    throw e instanceof MasqueError ? e : new MasqueError('ERR_TUNNEL_HANDSHAKE', `handshake with ${o.peer.host}:${o.peer.port} failed`, { cause: e });
  }
  const quic = h3.quic!;
  const leaf = quic.peerCertChain()?.[0];
  if (!leaf) {
    await endpoint.close({ graceMs: 50 });
    throw new MasqueError('ERR_TUNNEL_HANDSHAKE', 'relay presented no certificate');
  }
  if (!h3.peerSettings?.enableConnectProtocol) {
    await endpoint.close({ graceMs: 50 });
    throw new MasqueError('ERR_TUNNEL_PROTOCOL', 'relay does not enable extended CONNECT (RFC 9220)');
  }
  return { endpoint, h3, quic, certSha256: createHash('sha256').update(leaf).digest() };
}

/**
 * The Noise hello for this hop's first request, and how to check the relay's answer.
 * `timestamper` (our long-term key): strictly increasing timestamps, so the relay's replay
 * guard accepts two hellos in one millisecond. Without it (the one-off key for the egress) the
 * clock is sent in whole seconds: to the millisecond, a client's offset from the egress's clock
 * is nearly constant, and a quasi-identifier that links its sessions (auth.md §5).
 */
export function noiseHello(hop: Hop, clientStatic: KeyPair, relayPublicKey: Uint8Array, timestamper?: MonotonicTimestamper): { headers: FieldLine[]; state: ClientHandshakeState } {
  const nowMs = timestamper ? Date.now() : Math.floor(Date.now() / 1000) * 1000;
  const hello = createClientHello({ clientStatic, relayPublicKey, tlsCertSha256: hop.certSha256, nowMs, timestamper });
  return { headers: [[NOISE_REQUEST_HEADER, hello.headerValue]], state: hello.state };
}

/**
 * Verifies the relay's Noise response (it proves the relay holds the pinned key and saw the
 * same TLS certificate: no TLS man-in-the-middle). Throws ERR_TUNNEL_RELAY_IDENTITY.
 */
export function checkNoiseResponse(state: ClientHandshakeState, responseFields: readonly FieldLine[] | undefined): void {
  const v = responseFields?.find(([n]) => n === NOISE_RESPONSE_HEADER)?.[1];
  if (v === undefined) throw new MasqueError('ERR_TUNNEL_RELAY_IDENTITY', 'relay did not answer the Noise handshake');
  try {
    finishClient(state, v);
  } catch (e) {
    throw new MasqueError('ERR_TUNNEL_RELAY_IDENTITY', 'relay failed the Noise handshake (wrong key or TLS interception)', { cause: e });
  }
}
