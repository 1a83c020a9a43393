/**
 * The client's half of forwarded mode (draft-ietf-masque-quic-proxy-07) for the CONNECT-UDP
 * session that carries its inner QUIC connection: once the inner handshake is done it
 * registers that connection's client CID and target CID (§5.9.1, §6.1); after the proxy's
 * ACK_TARGET_CID, short-header packets to the target leave as scrambled packets with the
 * target VCID on the outer connection's own 4-tuple instead of as HTTP Datagrams inside it,
 * and packets the proxy forwards with our client VCID are unscrambled and handed to the
 * inner connection as if they had come through the tunnel (§6.2).
 *
 * Why: on that path the ingress relay no longer decrypts, frames and re-encrypts every packet
 * with quiche (and the client skips the outer layer's encryption): the two-hop chain's
 * per-packet cost (docs/benchmarks.md).
 */
import { sameHostPort, type HostPort } from '../../quic/path.js';
import type { RawPacketPort } from '../../quic/app.js';
import { CapsuleError } from '../errors.js';
import { type CidCapsule, parseCidCapsule } from './capsules.js';
import { ScrambleTransform, SCRAMBLE_IV_LEN } from './scramble.js';
import { cidCapsuleParts, hasDcid, sameBytes, swapDcid } from './packet.js';

export interface ClientForwardingHooks {
  sendCapsule(type: number, value: Uint8Array): void;
  /** A forwarded packet for the inner connection, CID restored (valid during the call). */
  deliver(pkt: Uint8Array): void;
}

export interface ClientForwardingStats {
  fwdTx: number;
  fwdRx: number;
  /** Forwarded packets dropped: from another 4-tuple, too short to unscramble. */
  fwdDrops: number;
}

export class ClientForwarding {
  readonly stats: ClientForwardingStats = { fwdTx: 0, fwdRx: 0, fwdDrops: 0 };
  private readonly ours: ScrambleTransform;
  private readonly theirs: ScrambleTransform;
  private clientCid: Uint8Array | null = null;
  private targetCid: Uint8Array | null = null;
  /** Our client VCID route (after ACK_CLIENT_CID), and the target VCID we send with. */
  private clientVcid: Uint8Array | null = null;
  private targetVcid: Uint8Array | null = null;
  private outTx = new Uint8Array(2048);
  private outRx = new Uint8Array(2048);
  private hasQueued = false;
  private isClosed = false;
  /** Registration sequence numbers (§5): the next to use, and the proxy's limit (initially 1, §5.7). */
  private nextSeq = 0;
  private maxSeq = 1;

  constructor(private readonly port: RawPacketPort, ourKey: Uint8Array, proxyKey: Uint8Array, private readonly hooks: ClientForwardingHooks) {
    this.ours = new ScrambleTransform(ourKey);
    this.theirs = new ScrambleTransform(proxyKey);
  }

  /** True once packets to the target can be forwarded. */
  get isSending(): boolean {
    return this.targetVcid !== null;
  }

  /** Registers the inner connection's CIDs: sequence numbers 0 and 1, within the initial limit (§5.7). */
  start(clientCid: Uint8Array, targetCid: Uint8Array): void {
    if (this.isClosed || this.clientCid !== null) return;
    this.clientCid = Uint8Array.from(clientCid);
    this.targetCid = Uint8Array.from(targetCid);
    this.register();
  }

  /**
   * Asks for fresh VCIDs after the outer connection moved to a new path, so that no VCID is
   * seen on two paths (§6.5, §5.9). Packets are tunnelled until the proxy acknowledges.
   * False when not started or the proxy's MAX_CONNECTION_IDS does not allow two more.
   */
  renew(): boolean {
    if (this.isClosed || this.clientCid === null || this.nextSeq + 1 > this.maxSeq) return false;
    this.targetVcid = null;
    this.dropClientRoute();
    this.register();
    return true;
  }

  private register(): void {
    this.nextSeq += 2;
    this.capsule({ type: 'register-client', cid: this.clientCid! });
    this.capsule({ type: 'register-target', cid: this.targetCid!, resetToken: new Uint8Array(0) });
  }

  /**
   * Sends `pkt` (a packet of the inner connection) forwarded and returns true, or returns
   * false: the caller tunnels it (long headers always, §6.1; anything before the ACK).
   */
  send(pkt: Uint8Array): boolean {
    const vcid = this.targetVcid;
    const cid = this.targetCid;
    if (vcid === null || cid === null || !hasDcid(pkt, cid) || pkt.length < 1 + cid.length + SCRAMBLE_IV_LEN) return false;
    const p = swapDcid(pkt, cid.length, vcid, this.outTx);
    this.port.send(this.ours.encode(p, vcid.length));
    this.stats.fwdTx++;
    this.hasQueued = true;
    return true;
  }

  /** Pushes forwarded packets queued on the outer socket (the inner endpoint's burst ended). */
  flush(): void {
    if (!this.hasQueued) return;
    this.hasQueued = false;
    this.port.flush();
  }

  /** One capsule from the proxy; false when not ours; throws CapsuleError on a bad one. */
  onCapsule(type: number, value: Uint8Array): boolean {
    const c = parseCidCapsule(type, value);
    if (c === null) return false;
    if (this.isClosed) return true;
    switch (c.type) {
      case 'ack-client': this.onAckClient(c.cid, c.vcid); break;
      case 'ack-target':
        if (this.targetCid && sameBytes(c.cid, this.targetCid) && c.vcid.length > 0) this.targetVcid = c.vcid;
        break;
      case 'close-client':
        if (this.clientCid && sameBytes(c.cid, this.clientCid)) this.dropClientRoute();
        break;
      case 'close-target':
        if (this.targetCid && sameBytes(c.cid, this.targetCid)) this.targetVcid = null; // back to the tunnel
        break;
      case 'max-cids':
        this.maxSeq = Math.max(this.maxSeq, c.maxSeq); // parseCidCapsule refused values below 1
        break;
      default:
        throw new CapsuleError('ERR_CAPSULE_WRONG_SENDER', `${c.type} capsule from a proxy`);
    }
    return true;
  }

  /** Removes our route. Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.targetVcid = null;
    this.dropClientRoute();
  }

  private onAckClient(cid: Uint8Array, vcid: Uint8Array): void {
    if (!this.clientCid || !sameBytes(cid, this.clientCid) || vcid.length === 0) return;
    this.dropClientRoute();
    // Our endpoint routes on its CID length only: a VCID of another length (or one that
    // collides with a CID of ours) is declined, and the proxy keeps tunnelling to us (§5.6).
    if (vcid.length !== this.port.cidLen || !this.port.addRoute(vcid, this.fromProxy)) {
      this.capsule({ type: 'close-client', cid });
      return;
    }
    this.clientVcid = vcid;
    // §5.5: the proxy forwards to us only after this; no stateless reset token (MAY).
    this.capsule({ type: 'ack-client-vcid', cid, vcid, resetToken: new Uint8Array(0) });
  }

  private dropClientRoute(): void {
    if (this.clientVcid) this.port.removeRoute(this.clientVcid);
    this.clientVcid = null;
  }

  /** A packet the proxy forwarded with our client VCID (§6.2). */
  private readonly fromProxy = (pkt: Uint8Array, from: HostPort): void => {
    const vcid = this.clientVcid;
    const cid = this.clientCid;
    if (vcid === null || cid === null || !sameHostPort(from, this.port.peer)) {
      this.stats.fwdDrops++;
      return;
    }
    const plain = this.theirs.decode(pkt, vcid.length);
    if (plain === null) {
      this.stats.fwdDrops++;
      return;
    }
    this.stats.fwdRx++;
    this.hooks.deliver(swapDcid(plain, vcid.length, cid, this.outRx));
  };

  private capsule(c: CidCapsule): void {
    const [type, value] = cidCapsuleParts(c);
    this.hooks.sendCapsule(type, value);
  }
}
