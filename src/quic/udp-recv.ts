/**
 * Batched UDP receive for UdpPath: recvmmsg(2) through native/udp (recv.c), one JS call per
 * batch instead of dgram's per-datagram recvmsg + 64 KiB malloc + ArrayBuffer + rinfo object +
 * MakeCallback (docs/benchmarks.md: ~16 % of a loaded relay).
 *
 * The dgram socket keeps everything else (bind, connect, close, the send fallback): the addon
 * polls a dup of its fd and dgram's own receiving is stopped through its handle. If the
 * handle has no recvStop/recvStart (a future Node), this path is not used at all.
 */
import type dgram from 'node:dgram';
import type { HostPort } from './path.js';
import { formatIpAddress } from '../wire/ip-address.js';
import { dgramState, type UdpBatchAddon } from './udp-batch.js';

/** Receive side of the addon (native/udp/recv.c has the contract). */
export interface UdpRecvAddon {
  recvStart(fd: number, buf: Uint8Array, slot: number, maxBatch: number, lens: Int32Array,
    addrs: Uint8Array, state: Int32Array, cb: (count: number, errno: number) => void): unknown;
  recvClose(handle: unknown): void;
  recvRef(handle: unknown, on: boolean): void;
}

/** Bytes per datagram slot: more than any path MTU here; a longer datagram is dropped (counted). */
const SLOT = 4096;
const BATCH = 64;
const AF_INET6 = 10;
/** Distinct source addresses remembered; the cache is dropped when full. */
const MAX_SOURCES = 4096;

interface DgramHandle {
  recvStart(): number;
  recvStop(): number;
}

/** dgram's internal handle, if it has what we need (found like socketFd in udp-batch.ts). */
function dgramHandle(sock: dgram.Socket): DgramHandle | undefined {
  const h = (dgramState(sock) as { handle?: Partial<DgramHandle> } | undefined)?.handle;
  return typeof h?.recvStop === 'function' && typeof h.recvStart === 'function' ? (h as DgramHandle) : undefined;
}

export type UdpRecvHandler = (pkt: Uint8Array, from: HostPort) => void;

/**
 * The buffers the addon writes a batch into. Readers on one thread may share them: a batch is
 * read inside its own poll callback and handed out before that callback returns, and nothing
 * reads a UDP socket synchronously from a handler, so one batch never overwrites another that
 * is still being delivered. A relay's CONNECT-UDP sessions share one set (256 KiB), not one each.
 */
export interface UdpRecvBuffers {
  readonly buf: Buffer;
  readonly lens: Int32Array;
  readonly addrs: Uint8Array;
}

export function udpRecvBuffers(addon: UdpBatchAddon): UdpRecvBuffers {
  return { buf: Buffer.allocUnsafeSlow(SLOT * BATCH), lens: new Int32Array(BATCH), addrs: new Uint8Array(BATCH * addon.ADDR_SLOT) };
}

export class UdpRecvBatch {
  private readonly buf: Buffer;
  private readonly lens: Int32Array;
  private readonly addrs: Uint8Array;
  private readonly view: DataView;
  private readonly state = new Int32Array(2);
  private readonly sources = new Map<number | string, HostPort>();
  private reader: unknown;

  private constructor(private readonly addon: UdpBatchAddon & UdpRecvAddon, private readonly dg: DgramHandle,
    private readonly connectedTo: HostPort | undefined, private readonly onPacket: UdpRecvHandler,
    private readonly onErrors: (n: number) => void, private readonly onStopped: () => void, bufs: UdpRecvBuffers) {
    this.buf = bufs.buf;
    this.lens = bufs.lens;
    this.addrs = bufs.addrs;
    this.view = new DataView(this.addrs.buffer, this.addrs.byteOffset, this.addrs.byteLength);
  }

  /**
   * Starts native receiving on sock and stops dgram's; undefined when that is not possible
   * (the caller then listens for 'message'). onStopped: the reader died (socket error) and
   * dgram's receiving was switched back on: the caller must listen for 'message' now.
   * onErrors may close the reader (the rest of that batch is then not delivered). bufs: shared
   * buffers (see UdpRecvBuffers); default, a set of its own.
   */
  static start(sock: dgram.Socket, fd: number, addon: UdpBatchAddon, connectedTo: HostPort | undefined,
    onPacket: UdpRecvHandler, onErrors: (n: number) => void, onStopped: () => void,
    bufs?: UdpRecvBuffers): UdpRecvBatch | undefined {
    const a = addon as UdpBatchAddon & Partial<UdpRecvAddon>;
    const dg = dgramHandle(sock);
    if (typeof a.recvStart !== 'function' || dg === undefined) return undefined;
    const b = new UdpRecvBatch(a as UdpBatchAddon & UdpRecvAddon, dg, connectedTo, onPacket, onErrors, onStopped,
      bufs ?? udpRecvBuffers(addon));
    try {
      b.reader = a.recvStart(fd, b.buf, SLOT, BATCH, b.lens, b.addrs, b.state, b.onBatch);
    } catch {
      return undefined;
    }
    dg.recvStop(); // from here on only our dup reads the socket
    return b;
  }

  close(): void {
    if (this.reader === undefined) return;
    this.addon.recvClose(this.reader);
    this.reader = undefined;
  }

  private readonly onBatch = (count: number, errno: number): void => {
    if (this.state[0] !== 0) {
      const n = this.state[0]!;
      this.state[0] = 0;
      this.onErrors(n);
      if (this.reader === undefined) return; // the handler closed us (and maybe the socket)
    }
    if (errno !== 0) {
      // The reader stopped itself (the socket broke): give receiving back to dgram, whose
      // 'error' event reports what it sees from now on.
      this.onErrors(1);
      if (this.reader === undefined) return; // closed by the handler: the socket may be gone too
      this.close();
      this.dg.recvStart();
      this.onStopped();
      return;
    }
    const { buf, lens } = this;
    for (let i = 0; i < count; i++) {
      const len = lens[i]!;
      if (len < 0) {
        this.onErrors(1); // longer than a slot: truncated by the kernel, useless to QUIC
        continue;
      }
      const off = i * SLOT;
      this.onPacket(buf.subarray(off, off + len), this.connectedTo ?? this.sourceOf(i));
      if (this.reader === undefined) return; // the handler closed the path
    }
  };

  /** The source of datagram i, parsed once per distinct address. */
  private sourceOf(i: number): HostPort {
    const v = this.view;
    const o = i * this.addon.ADDR_SLOT;
    const port = v.getUint16(o + 2);
    const isV6 = v.getUint16(o, true) === AF_INET6;
    const key: number | string = isV6
      ? `${v.getUint32(o + 8)},${v.getUint32(o + 12)},${v.getUint32(o + 16)},${v.getUint32(o + 20)},${port}`
      : v.getUint32(o + 4) * 65536 + port;
    let hp = this.sources.get(key);
    if (hp === undefined) {
      // RFC 5952 text, as dgram's rinfo gives it.
      hp = { host: isV6 ? formatIpAddress(this.addrs, o + 8, 16) : formatIpAddress(this.addrs, o + 4, 4), port };
      if (this.sources.size >= MAX_SOURCES) this.sources.clear();
      this.sources.set(key, hp);
    }
    return hp;
  }
}

/** What receiveDatagrams started: which path runs now, and how to stop it. */
export interface UdpReceiver {
  /** True while datagrams arrive in native batches (false on dgram, or after the reader stopped). */
  readonly isBatched: boolean;
  /** Stops delivery (idempotent); closing the socket stays the caller's job. */
  close(): void;
}

/**
 * Delivers sock's datagrams to onPacket: through native recvmmsg batches when `native` is
 * given and MASQUE_UDP_RECV_BATCH is not 0, else through dgram's 'message' — and through
 * dgram from the moment the native reader stops (a broken socket). onErrors counts what the
 * native reader saw (ICMP errors, oversize datagrams) and may close the receiver. The one
 * way both UdpPath and the CONNECT-UDP proxy's target sockets receive.
 */
export function receiveDatagrams(sock: dgram.Socket, native: { fd: number; addon: UdpBatchAddon; bufs?: UdpRecvBuffers } | undefined,
  connectedTo: HostPort | undefined, onPacket: UdpRecvHandler, onErrors: (n: number) => void): UdpReceiver {
  let isClosed = false;
  let batch: UdpRecvBatch | undefined;
  const onMessage = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    if (!isClosed) onPacket(msg, { host: rinfo.address, port: rinfo.port });
  };
  if (native !== undefined && process.env.MASQUE_UDP_RECV_BATCH !== '0') {
    batch = UdpRecvBatch.start(sock, native.fd, native.addon, connectedTo,
      (pkt, from) => {
        if (!isClosed) onPacket(pkt, from);
      },
      onErrors,
      () => {
        batch = undefined;
        if (!isClosed) sock.on('message', onMessage);
      },
      native.bufs);
  }
  if (batch === undefined) sock.on('message', onMessage);
  return {
    get isBatched() {
      return batch !== undefined;
    },
    close() {
      if (isClosed) return;
      isClosed = true;
      batch?.close();
      batch = undefined;
      sock.off('message', onMessage);
    },
  };
}
