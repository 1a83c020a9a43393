/**
 * The proxy's half of forwarded mode (draft-ietf-masque-quic-proxy-07) for one CONNECT-UDP
 * session: it answers the client's CID registrations with virtual CIDs (§5.10) and then moves
 * short-header packets between the client's 4-tuple and the target socket without the HTTP/3
 * connection: VCID swapped for the real CID, the scramble transform undone or applied (§6.3.2).
 * Long-header packets, packets for CIDs nobody registered and packets too short to scramble
 * stay tunnelled (§6.1: the caller sends them as HTTP Datagrams).
 *
 * No port sharing (§4): each session has its own target socket, so the target's packets need
 * no demultiplexing and unregistered CIDs simply take the tunnel.
 *
 * State is bounded: a session holds at most one client CID and one target CID mapping (all a
 * QUIC client in a tunnel needs); another CID while one is held is refused, and registering
 * the same CID again replaces its VCID (§5.9: how a client changes the bytes on the wire after
 * it migrated). So MAX_CONNECTION_IDS (§5.7) can always allow the next two sequence numbers.
 * Capsules only a proxy may send are a protocol error (CapsuleError; the caller resets the
 * stream with H3_MESSAGE_ERROR).
 */
import { randomBytes } from 'node:crypto';
import { sameHostPort, type HostPort } from '../../quic/path.js';
import type { RawPacketPort } from '../../quic/app.js';
import { CapsuleError } from '../errors.js';
import { type CidCapsule, parseCidCapsule } from './capsules.js';
import { ScrambleTransform, SCRAMBLE_IV_LEN } from './scramble.js';
import { cidCapsuleParts, hasDcid, sameBytes, swapDcid } from './packet.js';

/** Client CIDs shorter than this are refused as conflict-prone (§5.8 MAY). */
const MIN_CLIENT_CID_LEN = 4;
/** QUIC v1 limit for a CID on the client-to-proxy connection (RFC 9000 §17.2). */
const MAX_VCID_LEN = 20;

export interface ProxyForwardingCounters {
  /** Client → target packets forwarded. */
  fwdUp: number;
  /** Target → client packets forwarded. */
  fwdDown: number;
  /** Forwarded packets dropped: wrong 4-tuple, too short to unscramble. */
  fwdDrops: number;
}

export interface ProxyForwardingHooks {
  /** Writes one capsule on the request stream. */
  sendCapsule(type: number, value: Uint8Array): void;
  /** Sends one packet (copied) on the target socket; false when it was not sent. */
  toTarget(pkt: Uint8Array): boolean;
}

interface ClientMapping {
  cid: Uint8Array;
  vcid: Uint8Array;
  /** The client sent ACK_CLIENT_VCID (§5.5): only then may we forward to it. */
  isReady: boolean;
}

interface TargetMapping {
  cid: Uint8Array;
  vcid: Uint8Array;
}

export class ProxyForwarding {
  private readonly ours: ScrambleTransform;
  private readonly theirs: ScrambleTransform;
  private client: ClientMapping | null = null;
  private target: TargetMapping | null = null;
  /** Registrations received (§5: client and target CIDs share one sequence space). */
  private registrations = 0;
  private out = new Uint8Array(2048);
  private isClosed = false;

  constructor(
    private readonly port: RawPacketPort,
    ourKey: Uint8Array,
    peerKey: Uint8Array,
    private readonly hooks: ProxyForwardingHooks,
    readonly counters: ProxyForwardingCounters = { fwdUp: 0, fwdDown: 0, fwdDrops: 0 },
  ) {
    this.ours = new ScrambleTransform(ourKey);
    this.theirs = new ScrambleTransform(peerKey);
  }

  /**
   * One capsule from the client. Returns false for a type that is not ours (the caller skips
   * it, RFC 9297 §3.2); throws CapsuleError for a malformed one or one only a proxy may send.
   */
  onCapsule(type: number, value: Uint8Array): boolean {
    const c = parseCidCapsule(type, value);
    if (c === null) return false;
    if (this.isClosed) return true;
    switch (c.type) {
      case 'register-client': this.registerClient(c.cid); break;
      case 'register-target': this.registerTarget(c.cid); break;
      case 'ack-client-vcid':
        if (this.client && sameBytes(this.client.cid, c.cid) && sameBytes(this.client.vcid, c.vcid)) this.client.isReady = true;
        break; // an ACK for a VCID we replaced since: stale, ignored
      case 'close-client':
        if (this.client && sameBytes(this.client.cid, c.cid)) this.dropClient();
        break;
      case 'close-target':
        if (this.target && sameBytes(this.target.cid, c.cid)) this.dropTarget();
        break;
      default:
        // §5: ACK_CLIENT_CID, ACK_TARGET_CID and MAX_CONNECTION_IDS "MUST only be sent by a proxy".
        throw new CapsuleError('ERR_CAPSULE_WRONG_SENDER', `${c.type} capsule from a client`);
    }
    return true;
  }

  /**
   * Target → client: forwards `pkt` when it is a short-header packet for the registered,
   * acknowledged client CID (§5.10), and returns true; false means "tunnel it".
   */
  fromTarget(pkt: Uint8Array): boolean {
    const m = this.client;
    // §6.3.2: scrambling needs 16 bytes after the CID (every QUIC v1 short-header packet has them).
    if (m === null || !m.isReady || !hasDcid(pkt, m.cid) || pkt.length < 1 + m.cid.length + SCRAMBLE_IV_LEN) return false;
    const p = swapDcid(pkt, m.cid.length, m.vcid, this.out);
    this.port.send(this.ours.encode(p, m.vcid.length));
    this.counters.fwdDown++;
    return true;
  }

  /** Removes the routes; later packets for the VCIDs are dropped by the endpoint. Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.dropClient();
    this.dropTarget();
  }

  /**
   * Counts a registration and allows the next two sequence numbers (§5.7; the initial limit is
   * 1). The session's state is bounded by one mapping of each kind, not by this limit, so a
   * client never runs out of registrations to renew its VCIDs with.
   */
  private countRegistration(): void {
    this.registrations++;
    this.send({ type: 'max-cids', maxSeq: this.registrations + 1 });
  }

  private send(c: CidCapsule): void {
    const [type, value] = cidCapsuleParts(c);
    this.hooks.sendCapsule(type, value);
  }

  private registerClient(cid: Uint8Array): void {
    const isRenewal = this.client !== null && sameBytes(this.client.cid, cid);
    // One client CID at a time: a different one while one is held is refused (§5.10 allows
    // rejecting with CLOSE_CLIENT_CID); the client tunnels those packets.
    this.countRegistration();
    if (cid.length < MIN_CLIENT_CID_LEN || cid.length > MAX_VCID_LEN || (this.client !== null && !isRenewal)) {
      this.send({ type: 'close-client', cid });
      return;
    }
    if (isRenewal) this.dropClient();
    // §5.3: a VCID at least as long as the CID; equal, so packets keep their size.
    this.client = { cid, vcid: randomBytes(cid.length), isReady: false };
    this.send({ type: 'ack-client', cid, vcid: this.client.vcid });
  }

  private registerTarget(cid: Uint8Array): void {
    const isRenewal = this.target !== null && sameBytes(this.target.cid, cid);
    this.countRegistration();
    if (cid.length > MAX_VCID_LEN || (this.target !== null && !isRenewal)) {
      this.send({ type: 'close-target', cid });
      return;
    }
    if (isRenewal) this.dropTarget();
    // The VCID is what our router keys on: exactly its CID length, unpredictable (§5.10).
    let vcid: Uint8Array | null = null;
    for (let i = 0; i < 4 && vcid === null; i++) {
      const v = randomBytes(this.port.cidLen);
      if (this.port.addRoute(v, this.fromClient)) vcid = v;
    }
    if (vcid === null) {
      this.send({ type: 'close-target', cid });
      return;
    }
    this.target = { cid, vcid };
    // A zero-length token: we do not send stateless resets for forwarded packets (§5.4 MAY).
    this.send({ type: 'ack-target', cid, vcid, resetToken: new Uint8Array(0) });
  }

  /** Client → target, routed here by the target VCID (§5.10). */
  private readonly fromClient = (pkt: Uint8Array, from: HostPort): void => {
    const m = this.target;
    // §2.2: the mapping is keyed by VCID *and* the client-to-proxy 4-tuple.
    if (m === null || this.isClosed || !sameHostPort(from, this.port.peer)) {
      this.counters.fwdDrops++;
      return;
    }
    const plain = this.theirs.decode(pkt, m.vcid.length);
    if (plain === null) {
      this.counters.fwdDrops++;
      return;
    }
    if (this.hooks.toTarget(swapDcid(plain, m.vcid.length, m.cid, this.out))) this.counters.fwdUp++;
  };

  private dropClient(): void {
    this.client = null;
  }

  private dropTarget(): void {
    if (this.target) this.port.removeRoute(this.target.vcid);
    this.target = null;
  }
}
