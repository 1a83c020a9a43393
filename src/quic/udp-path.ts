/**
 * PacketPath over a real node:dgram socket (IPv4 or IPv6, chosen by the bind address).
 * FACTS.md: a connected socket emits 'error' on ICMP errors — we always handle 'error'
 * (counted, never thrown) so a dead peer cannot crash the process.
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { HostPort, PacketPath } from './path.js';
import { QuicError } from './errors.js';

export class UdpPath implements PacketPath {
  readonly local: HostPort;
  /** Send/receive errors (ICMP unreachable, EPERM from a firewall…), counted not thrown. */
  errors = 0;
  private closed = false;
  /** Set when the socket is connected to one peer (a client's first hop): sends skip the address lookup. */
  private connectedTo?: HostPort;

  private constructor(private readonly sock: dgram.Socket) {
    const a = sock.address();
    this.local = { host: a.address, port: a.port };
    sock.on('error', () => {
      this.errors++;
    });
  }

  /** Binds a socket. `port: 0` picks a free port. */
  static bind(addr: HostPort, opts: { recvBufferBytes?: number; sendBufferBytes?: number; connect?: HostPort } = {}): Promise<UdpPath> {
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
        if (!opts.connect) return resolve(new UdpPath(sock));
        // A connected socket: the kernel filters other senders and send() needs no address
        // (FACTS.md: +10 % for a client). ICMP errors then surface as 'error' (counted).
        const peer = opts.connect;
        sock.connect(peer.port, peer.host, () => {
          const p = new UdpPath(sock);
          p.connectedTo = peer;
          resolve(p);
        });
      });
    });
  }

  send(pkt: Uint8Array, to: HostPort): void {
    if (this.closed) return;
    // dgram.send may keep the buffer until the syscall completes: copy (the caller reuses pkt).
    const c = this.connectedTo;
    if (c !== undefined && c.port === to.port && c.host === to.host) this.sock.send(Buffer.from(pkt));
    else if (c === undefined) this.sock.send(Buffer.from(pkt), to.port, to.host);
    else this.errors++; // a connected socket cannot reach another address
  }

  onReceive(handler: (pkt: Uint8Array, from: HostPort) => void): void {
    this.sock.on('message', (msg, rinfo) => {
      if (!this.closed) handler(msg, { host: rinfo.address, port: rinfo.port });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sock.close();
  }
}
