/**
 * PacketPath over a real node:dgram socket (IPv4 or IPv6, chosen by the bind address).
 * FACTS.md: a connected socket emits 'error' on ICMP errors — we always handle 'error'
 * (counted, never thrown) so a dead peer cannot crash the process.
 *
 * Sends are batched when native/udp is built (udp-batch.ts): `send()` copies into one
 * preallocated buffer and `flush()` (called by the endpoint after each burst) hands the batch
 * to the kernel in one sendmmsg. Receives are batched too (udp-recv.ts: recvmmsg). Without
 * the addon every packet goes through `dgram.send` and dgram's 'message'.
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { HostPort, PacketPath } from './path.js';
import { QuicError } from './errors.js';
import { loadUdpBatchAddon, socketFd, UdpSendBatch, type UdpBatchAddon } from './udp-batch.js';
import { receiveDatagrams, type UdpReceiver } from './udp-recv.js';

export interface UdpPathOptions {
  recvBufferBytes?: number;
  sendBufferBytes?: number;
  /** Connect the socket to this peer (a client's first hop). */
  connect?: HostPort;
  /** Batch sends with native sendmmsg when available (default true; MASQUE_UDP_BATCH=0 also disables). */
  batch?: boolean;
  /** Packets per batch (default 64). */
  batchPackets?: number;
  /**
   * UDP GSO for runs of equal-size packets (default on; MASQUE_UDP_GSO=0 turns it off). Off
   * until the receivers got cheaper (recvmmsg, TUN GRO): now +15-20 % single hop
   * (docs/benchmarks.md).
   */
  gso?: boolean;
}

export class UdpPath implements PacketPath {
  readonly local: HostPort;
  /** Send/receive errors (ICMP unreachable, EPERM from a firewall…), counted not thrown. */
  errors = 0;
  private closed = false;
  /** Set when the socket is connected to one peer (a client's first hop): sends skip the address lookup. */
  private connectedTo?: HostPort;

  /** The native send batch, or undefined (addon missing/disabled, no fd): per-packet dgram sends. */
  private readonly batch: UdpSendBatch | undefined;
  private readonly addon: UdpBatchAddon | undefined;
  private readonly fd: number | undefined;
  private recv: UdpReceiver | undefined;

  private constructor(private readonly sock: dgram.Socket, opts: UdpPathOptions, connectedTo?: HostPort) {
    const a = sock.address();
    this.local = { host: a.address, port: a.port };
    this.connectedTo = connectedTo;
    sock.on('error', () => {
      this.errors++;
    });
    const addon = opts.batch === false ? undefined : loadUdpBatchAddon();
    const fd = addon ? socketFd(sock) : undefined;
    this.addon = addon;
    this.fd = fd;
    if (addon && fd !== undefined) {
      this.batch = new UdpSendBatch(sock, fd, addon, {
        connected: connectedTo !== undefined,
        maxPackets: opts.batchPackets,
        gso: opts.gso ?? process.env.MASQUE_UDP_GSO !== '0',
        onErrors: (n) => {
          this.errors += n;
        },
      });
    }
  }

  /** True when sends go out in native batches (for tests and diagnostics). */
  get isBatched(): boolean {
    return this.batch !== undefined;
  }

  /** Binds a socket. `port: 0` picks a free port. */
  static bind(addr: HostPort, opts: UdpPathOptions = {}): Promise<UdpPath> {
    return new Promise((resolve, reject) => {
      const sock = dgram.createSocket({ type: isIPv6(addr.host) ? 'udp6' : 'udp4', ipv6Only: isIPv6(addr.host) });
      const onErr = (e: Error) => reject(new QuicError('ERR_QUIC_BIND', `quic: cannot bind ${addr.host}:${addr.port}: ${e.message}`, { cause: e }));
      sock.once('error', onErr);
      sock.bind(addr.port, addr.host, () => {
        sock.off('error', onErr);
        // Bigger kernel buffers absorb bursts between event-loop turns (we flush once per turn).
        try {
          sock.setRecvBufferSize(opts.recvBufferBytes ?? 1024 * 1024);
          sock.setSendBufferSize(opts.sendBufferBytes ?? 1024 * 1024);
        } catch {
          /* capped by net.core.rmem_max: not fatal */
        }
        if (!opts.connect) return resolve(new UdpPath(sock, opts));
        // A connected socket: the kernel filters other senders and send() needs no address
        // (FACTS.md: +10 % for a client). ICMP errors then surface as 'error' (counted).
        const peer = opts.connect;
        sock.connect(peer.port, peer.host, () => resolve(new UdpPath(sock, opts, peer)));
      });
    });
  }

  /** Copies pkt (into the batch, or a fresh Buffer for dgram); the caller may reuse it at once. */
  send(pkt: Uint8Array, to: HostPort): void {
    if (this.closed) return;
    const c = this.connectedTo;
    if (c !== undefined && (c.port !== to.port || c.host !== to.host)) {
      this.errors++; // a connected socket cannot reach another address
      return;
    }
    const b = this.batch;
    if (b !== undefined) {
      const dest = c === undefined ? to : undefined;
      // Not batchable (huge, or a host name): sent after what is queued.
      if (!b.push(pkt, dest)) b.sendDirect(pkt, dest);
      return;
    }
    // dgram.send may keep the buffer until the syscall completes: copy (the caller reuses pkt).
    if (c !== undefined) this.sock.send(Buffer.from(pkt));
    else this.sock.send(Buffer.from(pkt), to.port, to.host);
  }

  /** Sends the queued batch now (the endpoint calls this once after each send burst). */
  flush(): void {
    if (!this.closed) this.batch?.flush();
  }

  /** True when datagrams arrive in native recvmmsg batches (for tests and diagnostics). */
  get isRecvBatched(): boolean {
    return this.recv?.isBatched ?? false;
  }

  onReceive(handler: (pkt: Uint8Array, from: HostPort) => void): void {
    const native = this.addon && this.fd !== undefined ? { fd: this.fd, addon: this.addon } : undefined;
    // close() closes the receiver, so nothing is delivered after it.
    this.recv = receiveDatagrams(this.sock, native, this.connectedTo, handler, (n) => {
      this.errors += n;
    });
  }

  close(): void {
    if (this.closed) return;
    this.batch?.close(); // what was queued (a CONNECTION_CLOSE, say) still goes out
    this.closed = true;
    this.recv?.close();
    this.recv = undefined;
    this.sock.close();
  }
}
