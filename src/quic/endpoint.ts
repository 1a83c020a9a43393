/**
 * QuicEndpoint: the one owner of a PacketPath (tokio-quiche's InboundPacketRouter).
 * It routes every incoming packet by DCID to its ConnDriver, accepts new connections as a
 * server (version negotiation, optional stateless Retry, a bound on half-open handshakes),
 * connects as a client, and flushes all woken drivers once per event-loop turn.
 *
 * Unknown-CID packets leave no state behind: they are counted in `counters` and dropped.
 */
import { randomBytes } from 'node:crypto';
import { quiche, native } from './native.js';
import type { QuicApp, QuicConnHandle } from './app.js';
import type { QuicConfig } from './config.js';
import type { HostPort, PacketPath } from './path.js';
import { ConnDriver, type DriverHost } from './driver.js';
import { TimerHeap } from './timer-heap.js';
import { CID_LEN, cidKey, dcidKeyOf, isLongHeader, newCid } from './cid.js';
import { checkRetryToken, mintRetryToken } from './retry-token.js';
import { QuicError } from './errors.js';

export interface ServerOptions {
  config: QuicConfig;
  /** Called for each accepted connection (before its handshake completes); returns its app. */
  onConnection(conn: QuicConnHandle): QuicApp;
  /** 'always' validates every client address with a Retry round trip; default 'never'. */
  retry?: 'always' | 'never';
  /** At most this many connections may be mid-handshake; further Initials are dropped. */
  maxHalfOpen?: number;
}

export interface EndpointOptions {
  path: PacketPath;
  server?: ServerOptions;
}

export interface ConnectOptions {
  peer: HostPort;
  /** SNI and the name the certificate is checked against (when verifying). */
  serverName?: string;
  config: QuicConfig;
  app: QuicApp;
  /** A TLS session from an earlier connection (`ConnDriver.session()`) for resumption. */
  session?: Uint8Array;
}

/** Why packets were dropped before reaching a connection. */
export interface EndpointCounters {
  rxPackets: number;
  unknownCid: number;
  malformed: number;
  notInitial: number;
  tooSmallInitial: number;
  halfOpenLimit: number;
  invalidToken: number;
  versionNegotiation: number;
  retriesSent: number;
  accepted: number;
}

export class QuicEndpoint implements DriverHost {
  readonly timers = new TimerHeap();
  readonly resetKey = randomBytes(32);
  readonly counters: EndpointCounters = {
    rxPackets: 0, unknownCid: 0, malformed: 0, notInitial: 0, tooSmallInitial: 0, halfOpenLimit: 0,
    invalidToken: 0, versionNegotiation: 0, retriesSent: 0, accepted: 0,
  };
  private readonly routes = new Map<string, ConnDriver>();
  private readonly drivers = new Set<ConnDriver>();
  private dirty: ConnDriver[] = [];
  private isFlushScheduled = false;
  private readonly sendBuf = new Uint8Array(65536);
  private readonly retryKey = randomBytes(32);
  private halfOpen = 0;
  private isClosing = false;
  private path: PacketPath;
  private readonly server?: ServerOptions;

  constructor(opts: EndpointOptions) {
    this.path = opts.path;
    this.server = opts.server;
    this.path.onReceive((pkt, from) => this.onPacket(pkt, from));
  }

  get local(): HostPort {
    return this.path.local;
  }

  /** Live connections. */
  get connectionCount(): number {
    return this.drivers.size;
  }

  /** Opens a client connection. The handshake runs in the background; watch `app.onEstablished`. */
  connect(o: ConnectOptions): ConnDriver {
    if (this.isClosing) throw new QuicError('ERR_QUIC_CLOSED', 'quic: endpoint is closing');
    const scid = newCid();
    const conn = native('quic: connect', () =>
      quiche.Connection.connect(o.serverName ?? null, scid, this.path.local, o.peer, o.config.native));
    if (o.session) native('quic: setSession', () => conn.setSession(o.session!));
    const d = new ConnDriver(conn, this.path.local, o.peer, o.config, o.app, this, scid);
    this.drivers.add(d);
    this.markDirty(d);
    return d;
  }

  private onPacket(pkt: Uint8Array, from: HostPort): void {
    this.counters.rxPackets++;
    const key = dcidKeyOf(pkt);
    if (key === null) {
      this.counters.malformed++;
      return;
    }
    const d = this.routes.get(key);
    if (d) d.recv(pkt, from);
    else this.onUnknown(pkt, from);
  }

  /** A packet for no known connection: maybe a new one (server), else dropped. */
  private onUnknown(pkt: Uint8Array, from: HostPort): void {
    if (!this.server || this.isClosing || !isLongHeader(pkt)) {
      this.counters.unknownCid++;
      return;
    }
    let hdr;
    try {
      hdr = quiche.Header.fromSlice(pkt, CID_LEN);
    } catch {
      this.counters.malformed++;
      return;
    }
    if (!quiche.versionIsSupported(hdr.version)) {
      // RFC 9000 §6.1: answer an unknown version with Version Negotiation.
      const n = native('quic: negotiateVersion', () => quiche.negotiateVersion(hdr.scid, hdr.dcid, this.sendBuf));
      this.path.send(this.sendBuf.subarray(0, n), from);
      this.counters.versionNegotiation++;
      return;
    }
    if (hdr.ty !== quiche.Type.Initial) {
      this.counters.notInitial++;
      return;
    }
    // RFC 9000 §14.1: a server MUST discard an Initial in a datagram smaller than 1200 bytes.
    if (pkt.length < 1200) {
      this.counters.tooSmallInitial++;
      return;
    }
    if (this.halfOpen >= (this.server.maxHalfOpen ?? 4096)) {
      this.counters.halfOpenLimit++;
      return;
    }
    this.accept(pkt, from, hdr.dcid, hdr.scid, hdr.token, hdr.version);
  }

  private accept(pkt: Uint8Array, from: HostPort, dcid: Uint8Array, scid: Uint8Array, token: Uint8Array | undefined, version: number): void {
    const srv = this.server!;
    let odcid: Uint8Array | null = null;
    let ourScid: Uint8Array;
    if (srv.retry === 'always') {
      if (!token || token.length === 0) {
        const retryScid = newCid();
        const tok = mintRetryToken(this.retryKey, dcid, from, Date.now());
        const n = native('quic: retry', () => quiche.retry(scid, dcid, retryScid, tok, version, this.sendBuf));
        this.path.send(this.sendBuf.subarray(0, n), from);
        this.counters.retriesSent++;
        return;
      }
      odcid = checkRetryToken(this.retryKey, token, from, Date.now());
      if (!odcid || dcid.length !== CID_LEN) {
        this.counters.invalidToken++;
        return;
      }
      ourScid = Uint8Array.from(dcid);
    } else {
      ourScid = newCid();
    }
    let conn;
    try {
      conn = quiche.Connection.accept(ourScid, odcid, this.path.local, from, srv.config.native);
    } catch {
      this.counters.malformed++;
      return;
    }
    const d = new ConnDriver(conn, this.path.local, from, srv.config, { processReads() {} }, this, ourScid);
    // Until the client switches to our SCID it keeps using its own random DCID (RFC 9000 §7.2).
    if (!odcid) d.addAlias(cidKey(dcid));
    this.drivers.add(d);
    this.halfOpen++;
    this.counters.accepted++;
    d.app = wrapHalfOpen(srv.onConnection(d), () => this.halfOpen--);
    d.recv(pkt, from);
  }

  /**
   * Client roaming: replaces the path (e.g. a new UDP socket after the local address
   * changed) and migrates every connection to it (RFC 9000 §9). The old path is closed.
   * Connections that cannot migrate (no spare CID from the peer) are closed.
   */
  rebind(next: PacketPath): void {
    const old = this.path;
    this.path = next;
    next.onReceive((pkt, from) => this.onPacket(pkt, from));
    for (const d of this.drivers) {
      try {
        d.migrateTo(next.local);
      } catch {
        d.close(false, 0x10, 'no viable path'); // RFC 9000 §20.1 NO_VIABLE_PATH
      }
    }
    old.close();
  }

  // ---- DriverHost ----
  markDirty(d: ConnDriver): void {
    d.isDirty = true;
    this.dirty.push(d);
    if (!this.isFlushScheduled) {
      this.isFlushScheduled = true;
      setImmediate(this.flushAll);
    }
  }

  /** Once per turn: every woken connection runs its loop (FACTS.md: never per packet). */
  private readonly flushAll = (): void => {
    this.isFlushScheduled = false;
    const list = this.dirty;
    this.dirty = [];
    for (const d of list) if (d.isDirty) d.flush();
  };

  transmit(d: ConnDriver): void {
    const c = d.conn;
    const buf = this.sendBuf;
    let sent = 0;
    for (;;) {
      let r;
      try {
        r = c.send(buf);
      } catch {
        break;
      }
      if (r === null) break;
      this.path.send(buf.subarray(0, r[0]), r[1].to);
      sent++;
    }
    if (sent) {
      d.noteSent(Date.now());
      this.path.flush?.();
    }
  }

  registerCid(key: string, d: ConnDriver): void {
    this.routes.set(key, d);
  }

  unregisterCid(key: string): void {
    this.routes.delete(key);
  }

  driverClosed(d: ConnDriver): void {
    this.drivers.delete(d);
    if (this.isClosing && this.drivers.size === 0) this.onDrained?.();
  }

  private onDrained?: () => void;

  /**
   * Closes every connection (CONNECTION_CLOSE with `code`), waits up to `graceMs` for them
   * to drain, then stops timers and closes the path. Idempotent.
   */
  async close(opts: { code?: number; reason?: string; graceMs?: number } = {}): Promise<void> {
    if (!this.isClosing) {
      this.isClosing = true;
      for (const d of this.drivers) d.close(false, opts.code ?? 0, opts.reason ?? 'endpoint closing');
      if (this.drivers.size) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, opts.graceMs ?? 1000);
          this.onDrained = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
      this.timers.stop();
      this.drivers.clear();
      this.routes.clear();
      this.path.close();
    }
  }
}

/** Counts a server connection as half-open until its handshake completes or it dies. */
function wrapHalfOpen(app: QuicApp, done: () => void): QuicApp {
  let isCounted = true;
  const release = () => {
    if (isCounted) {
      isCounted = false;
      done();
    }
  };
  return {
    onEstablished(c) {
      release();
      app.onEstablished?.(c);
    },
    processReads: (c) => app.processReads(c),
    processWrites: app.processWrites ? (c) => app.processWrites!(c) : undefined,
    onClosed(c, info) {
      release();
      app.onClosed?.(c, info);
    },
  };
}
