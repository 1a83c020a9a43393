/**
 * The relay chain (docs/client.md):
 *   single hop: QUIC to one relay → CONNECT-IP.
 *   two hops:   QUIC to the ingress → CONNECT-UDP to the egress → an inner QUIC connection to
 *               the egress carried in that tunnel → CONNECT-IP. TLS and Noise of the inner
 *               connection are end to end with the egress: the ingress sees only ciphertext.
 * The ingress learns the client (its address, its Noise key) but only the egress's address;
 * the egress learns the destinations but sees the ingress's address and a one-off key.
 */
import type { ChainHop, ConnectStage } from '../control/schema.js';
import { createQuicConfig, INNER_MAX_UDP_PAYLOAD } from '../quic/config.js';
import { UdpPath } from '../quic/udp-path.js';
import type { HostPort } from '../quic/path.js';
import type { FieldLine } from '../h3/qpack/types.js';
import type { ClientH3Driver } from '../h3/client.js';
import { defaultIpTemplate, defaultUdpTemplate } from '../masque/template.js';
import { openConnectUdp, type ConnectUdpSession } from '../masque/connect-udp-client.js';
import { openConnectIp, type ConnectIpSession } from '../masque/connect-ip-client.js';
import { generateKeyPair, type KeyPair } from '../identity/keys.js';
import { MonotonicTimestamper } from '../identity/noise-payload.js';
import { checkNoiseResponse, noiseHello, openHop, withTimeout, type Hop } from './hop.js';

/** A relay as the chain needs it: resolved address and pinned key. */
export interface ChainRelay {
  name?: string;
  /** As configured (`host:port`), for display. */
  address: string;
  /** Resolved IP literal and port. */
  peer: HostPort;
  serverName: string;
  /** Pinned Noise key (32 bytes); absent for a third-party proxy. */
  publicKey?: Uint8Array;
  caPem?: string;
}

export interface ChainPlan {
  kind: 'single-hop' | 'two-hop' | 'proxy';
  /** The first hop (single-hop relay, ingress, or third-party proxy). */
  first: ChainRelay;
  /** The egress (two-hop only). */
  egress?: ChainRelay;
  /** Our long-term key (absent: no Noise, e.g. a third-party proxy). */
  clientStatic?: KeyPair;
  /** CONNECT-IP template for a third-party proxy (RFC 9484 §3). */
  ipTemplate?: string;
  /** Extra request headers (e.g. Proxy-Authorization for a third-party proxy). */
  extraHeaders?: FieldLine[];
  timeoutMs: number;
  /** QUIC keep-alive on the outer connection (keeps NAT state and detects dead relays). */
  keepAliveMs: number;
  /**
   * Privacy Pass (two-hop, docs/protocol/privacy.md): a token for the egress, fetched from
   * the ingress's issuer over the outer connection, goes on the inner CONNECT-IP request.
   */
  privateTokens?: PrivateTokenSource;
  /**
   * Offer the ingress forwarded mode for the inner connection (draft-ietf-masque-quic-proxy-07,
   * scramble transform). Default on (client.toml `quic_forwarding`; MASQUE_QUIC_FORWARDING=0).
   */
  quicForwarding?: boolean;
}

/** src/privacy/client-source.ts (structural: client/ does not import privacy/ statically). */
export interface PrivateTokenSource {
  /** Header fields with one token for this egress; fetched over `ingress` (authenticated) if none is held. */
  headersFor(ingress: ClientH3Driver, ingressAuthority: string, egressPublicKey: Uint8Array): Promise<FieldLine[]>;
}

export interface Chain {
  ip: ConnectIpSession;
  hops: ChainHop[];
  /** Hops to close, innermost first. */
  parts: Hop[];
  udp?: ConnectUdpSession;
  /**
   * Resolves when any layer of the chain is gone: the CONNECT-IP session, the CONNECT-UDP
   * tunnel, or any QUIC/HTTP3 connection (e.g. the outer one got a Stateless Reset from a
   * restarted ingress while the inner one still looks alive).
   */
  closed: Promise<void>;
  close(): Promise<void>;
}

const timestamper = new MonotonicTimestamper();

function authority(r: ChainRelay): string {
  return r.peer.host.includes(':') ? `[${r.peer.host}]:${r.peer.port}` : `${r.peer.host}:${r.peer.port}`;
}

function bindAddress(peer: HostPort): HostPort {
  return { host: peer.host.includes(':') ? '::' : '0.0.0.0', port: 0 };
}

/** Builds the chain. `onStage` reports progress. Throws a MasqueError with an ERR_TUNNEL_* code. */
export async function openChain(plan: ChainPlan, onStage: (s: ConnectStage) => void): Promise<Chain> {
  const parts: Hop[] = [];
  const closeAll = async () => {
    for (const p of parts.reverse()) await p.endpoint.close({ graceMs: 100 }).catch(() => undefined);
  };
  try {
    onStage('connecting-ingress');
    const first = plan.first;
    const outer = await openHop({
      path: await UdpPath.bind(bindAddress(first.peer), { connect: first.peer }),
      peer: first.peer,
      serverName: first.serverName,
      config: createQuicConfig({ isServer: false, alpn: ['h3'], caPem: first.caPem, keepAliveMs: plan.keepAliveMs, idleTimeoutMs: 30_000 }),
      timeoutMs: plan.timeoutMs,
    });
    parts.push(outer);
    const hops: ChainHop[] = [{ role: plan.kind === 'two-hop' ? 'ingress' : plan.kind === 'proxy' ? 'proxy' : 'egress', name: first.name, address: first.address }];
    let ipHop = outer;
    let ipRelay = first;
    let udp: ConnectUdpSession | undefined;
    let firstNoise: ReturnType<typeof noiseHello> | undefined;
    let tokenHeaders: FieldLine[] = [];
    if (plan.clientStatic && first.publicKey) firstNoise = noiseHello(outer, plan.clientStatic, first.publicKey, timestamper);
    if (plan.kind === 'two-hop') {
      const egress = plan.egress!;
      onStage('connecting-egress');
      // The ingress authenticates us with our long-term key; it learns only the egress address.
      udp = await withTimeout(openConnectUdp(outer.h3, {
        template: defaultUdpTemplate(authority(first)),
        targetHost: egress.peer.host,
        targetPort: egress.peer.port,
        headers: firstNoise?.headers,
        quicForwarding: plan.quicForwarding ?? true,
      }), plan.timeoutMs, 'ERR_TUNNEL_HANDSHAKE', 'CONNECT-UDP to the egress');
      if (firstNoise) checkNoiseResponse(firstNoise.state, udp.responseFields);
      firstNoise = undefined;
      // The outer connection is authenticated now: the issuance POST needs no hello of its own.
      if (plan.privateTokens && egress.publicKey) {
        tokenHeaders = await withTimeout(plan.privateTokens.headersFor(outer.h3, authority(first), egress.publicKey), plan.timeoutMs * 2, 'ERR_TUNNEL_HANDSHAKE', 'private token from the issuer');
      }
      const inner = await openHop({
        path: udp,
        peer: egress.peer,
        serverName: egress.serverName,
        // No spare CIDs: the inner path never changes, and a forwarding ingress must learn each
        // client CID before the egress may use it (draft-ietf-masque-quic-proxy-07 §5.9.2).
        config: createQuicConfig({ isServer: false, alpn: ['h3'], caPem: egress.caPem, maxUdpPayloadBytes: INNER_MAX_UDP_PAYLOAD, keepAliveMs: plan.keepAliveMs, idleTimeoutMs: 30_000, spareCids: 0 }),
        timeoutMs: plan.timeoutMs,
      });
      parts.push(inner);
      // Forwarded mode: the ingress passes the inner connection's short-header packets between
      // the two sockets without decrypting and re-encrypting them (docs/masque.md).
      udp.startForwarding(inner.quic.sourceCid!(), inner.quic.destinationCid!());
      hops.push({ role: 'egress', name: egress.name, address: egress.address });
      ipHop = inner;
      ipRelay = egress;
      // A one-off key for the egress: it authenticates the egress to us (pinning), but the
      // egress admits us by the ingress's address and never sees our long-term key. No shared
      // timestamper either: its timestamps are whole seconds (noiseHello).
      if (egress.publicKey) firstNoise = noiseHello(inner, generateKeyPair(), egress.publicKey);
    }
    onStage('assigning-address');
    const ip = await withTimeout(openConnectIp(ipHop.h3, {
      template: plan.ipTemplate ?? defaultIpTemplate(authority(ipRelay)),
      requestAddresses: ['v4', 'v6'],
      headers: [...(firstNoise?.headers ?? []), ...tokenHeaders, ...(plan.extraHeaders ?? [])],
    }), plan.timeoutMs, 'ERR_TUNNEL_HANDSHAKE', 'CONNECT-IP');
    if (firstNoise) checkNoiseResponse(firstNoise.state, ip.responseFields);
    const closed = Promise.race<unknown>([ip.closed, ...(udp ? [udp.closed] : []), ...parts.map((p) => p.h3.closed)]).then(() => undefined);
    return {
      ip, hops, parts, udp, closed,
      async close() {
        ip.close();
        udp?.close();
        await closeAll();
      },
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
