/**
 * The CONNECT-UDP proxy's socket toward one target: a connected node:dgram socket (RFC 9298
 * §3.1: the kernel filters the 5-tuple) whose datagrams go through native/udp when it is
 * built: sends queue in a buffer shared by all sessions and leave in one sendmmsg when the
 * client connection's read pass ends (`TargetSockets.flush`), receives arrive in recvmmsg
 * batches. That is the ingress relay's whole data path in a two-hop chain; dgram's per-packet
 * send (a SendWrap and a copy) and receive (64 KiB malloc, rinfo, MakeCallback) cost it
 * more than the forwarding (docs/benchmarks.md).
 *
 * Without the addon (not built, MASQUE_UDP_BATCH=0) it is plain dgram. Either way every
 * socket error (an ICMP error on the connected socket, a failed send) is reported once
 * through `onError`: the socket is no longer usable and the session must end (§3.1).
 */
import dgram from 'node:dgram';
import type { HostPort } from '../quic/path.js';
import { loadUdpBatchAddon, socketFd, UdpSendArena, UdpSendBatch, type UdpBatchAddon } from '../quic/udp-batch.js';
import { receiveDatagrams, udpRecvBuffers, type UdpReceiver, type UdpRecvBuffers } from '../quic/udp-recv.js';

/** What all target sockets of one proxy share: one send arena, one receive buffer set. */
export class TargetSockets {
  private shared: { addon: UdpBatchAddon; arena: UdpSendArena; recv: UdpRecvBuffers } | null | undefined;

  /** The addon and the shared buffers, made on first use; null without the addon. */
  native(): { addon: UdpBatchAddon; arena: UdpSendArena; recv: UdpRecvBuffers } | null {
    const addon = loadUdpBatchAddon(); // checked each time: MASQUE_UDP_BATCH=0 takes effect for new sessions
    if (addon === undefined) return null;
    this.shared ??= { addon, arena: new UdpSendArena(), recv: udpRecvBuffers(addon) };
    return this.shared;
  }

  /** Sends what the last session queued (the relay calls this after each read pass). */
  flush(): void {
    this.shared?.arena.flush();
  }
}

export interface TargetSocketHandlers {
  onPacket(pkt: Uint8Array): void;
  /** The socket failed; called at most once, after which nothing is delivered. */
  onError(): void;
}

export class TargetSocket {
  private send_: UdpSendBatch | undefined;
  private recv: UdpReceiver | undefined;
  private isClosed = false;
  private hasFailed = false;

  private constructor(private readonly sock: dgram.Socket, private readonly h: TargetSocketHandlers) {}

  /** Opens a socket connected to addr:port; rejects with the socket error. */
  static async connect(shared: TargetSockets, addr: string, port: number, isV6: boolean, h: TargetSocketHandlers): Promise<TargetSocket> {
    const sock = dgram.createSocket({ type: isV6 ? 'udp6' : 'udp4' });
    try {
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.connect(port, addr, () => {
          sock.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      sock.close();
      throw e;
    }
    const t = new TargetSocket(sock, h);
    t.start(shared, { host: addr, port });
    return t;
  }

  /** Whether datagrams go through native/udp (for tests and diagnostics). */
  get isNative(): boolean {
    return this.send_ !== undefined;
  }

  /** Queues (native) or sends a copy of payload; the caller may reuse it at once. */
  send(payload: Uint8Array): void {
    if (this.isClosed) return;
    const b = this.send_;
    if (b === undefined) this.sock.send(Buffer.from(payload)); // dgram may hold it until the syscall
    else if (!b.push(payload, undefined)) b.sendDirect(payload, undefined);
  }

  /** Sends what is queued, stops receiving, closes the socket. Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true; // first: errors from the last flush below are no longer reported
    this.send_?.close();
    this.recv?.close();
    this.recv = undefined;
    this.sock.on('error', () => undefined); // late errors of a closed socket are nobody's
    try {
      this.sock.close();
    } catch {
      /* already closed */
    }
  }

  private start(shared: TargetSockets, peer: HostPort): void {
    // FACTS.md: a connected socket reports ICMP errors as 'error' (dgram paths).
    this.sock.on('error', this.fail);
    const n = shared.native();
    const fd = n ? socketFd(this.sock) : undefined;
    if (n !== null && fd !== undefined) {
      this.send_ = new UdpSendBatch(this.sock, fd, n.addon, {
        connected: true, arena: n.arena, gso: process.env.MASQUE_UDP_GSO !== '0', onErrors: this.fail,
      });
    }
    // onErrors: SO_ERROR after EPOLLERR, the ICMP error dgram would have emitted as 'error'.
    this.recv = receiveDatagrams(this.sock, n !== null && fd !== undefined ? { fd, addon: n.addon, bufs: n.recv } : undefined,
      peer, (pkt) => this.h.onPacket(pkt), this.fail);
  }

  private readonly fail = (): void => {
    if (this.hasFailed || this.isClosed) return;
    this.hasFailed = true;
    this.h.onError();
  };
}
