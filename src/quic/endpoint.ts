/**
 * QuicEndpoint: the one owner of a PacketPath (tokio-quiche's InboundPacketRouter).
 * It routes every incoming packet by DCID to its ConnDriver, accepts new connections as a
 * server (version negotiation, optional stateless Retry, a bound on half-open handshakes),
 * connects as a client, and flushes all woken drivers once per event-loop turn.
 *
 * Unknown-CID packets leave no state behind: they are counted in `counters` and dropped.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { quiche, native } from './native.js';
import type { QuicApp, QuicConnHandle, RawPacketPort } from './app.js';
import { initialResetToken, type QuicConfig } from './config.js';
import { sameHostPort, type HostPort, type PacketPath } from './path.js';
import { ConnDriver, type DriverHost } from './driver.js';
import { TimerHeap } from './timer-heap.js';
import { RawPorts } from './raw-ports.js';
import { CID_LEN, cidKey, dcidKeyOf, isLongHeader, newCid, resetTokenFor } from './cid.js';
import { checkRetryToken, mintRetryToken } from './retry-token.js';
import { QuicError } from './errors.js';

/** A connection that sent nothing for longer than this (ms, Date.now() ticks) is quiet: see transmit(). */
const QUIET_MS = 1;

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
  statelessResets: number;
}

export class QuicEndpoint implements DriverHost {
  readonly timers = new TimerHeap();
  readonly resetKey: Uint8Array;
  /** Stateless resets sent this second (a bound: resets must not become an amplifier). */
  private resetsThisSecond = 0;
  private resetSecond = 0;
  private readonly initialResetToken?: Uint8Array;
  readonly counters: EndpointCounters = {
    rxPackets: 0, unknownCid: 0, malformed: 0, notInitial: 0, tooSmallInitial: 0, halfOpenLimit: 0,
    invalidToken: 0, versionNegotiation: 0, retriesSent: 0, accepted: 0, statelessResets: 0,
  };
  private readonly routes = new Map<string, ConnDriver>();
  /** Forwarded-mode routes (RawPacketPort.addRoute), checked after the connections'. */
  private readonly raw = new RawPorts({
    path: () => this.path,
    isClosing: () => this.isClosing,
    isConnCid: (k) => this.routes.has(k),
  });
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
    const secret = opts.server?.config.resetSecret;
    this.resetKey = secret ? createHmac('sha256', secret).update('masque-relay cid reset key').digest() : randomBytes(32);
    if (secret) {
      const t = initialResetToken(secret);
      const b = Buffer.alloc(16);
      b.writeBigUInt64BE(t >> 64n, 0);
      b.writeBigUInt64BE(t & (2n ** 64n - 1n), 8);
      this.initialResetToken = b;
    }
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
    // quiche hands the server name to BoringSSL's host check, which never matches an IP
    // literal against IP SANs: for an IP we send no SNI (RFC 6066 §3 forbids IPs there anyway)
    // and the driver checks the leaf's IP SAN itself once the chain verified.
    const isIpName = o.serverName !== undefined && isIP(o.serverName) !== 0;
    const conn = native('quic: connect', () =>
      quiche.Connection.connect(isIpName ? null : o.serverName ?? null, scid, this.path.local, o.peer, o.config.native));
    if (o.session) native('quic: setSession', () => conn.setSession(o.session!));
    const d = new ConnDriver(conn, this.path.local, o.peer, o.config, o.app, this, scid);
    if (isIpName && o.config.isVerifying) d.expectedIp = o.serverName;
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
    if (d) {
      d.recv(pkt, from);
      return;
    }
    const f = isLongHeader(pkt) ? undefined : this.raw.handlerFor(key);
    if (f) f(pkt, from);
    else this.onUnknown(pkt, from);
  }

  /** Forwarded-mode packets beside `d` on our socket (raw-ports.ts). */
  rawPortFor(d: ConnDriver): RawPacketPort {
    return this.raw.portFor(d);
  }

  /** A packet for no known connection: maybe a new one (server), else dropped. */
  private onUnknown(pkt: Uint8Array, from: HostPort): void {
    if (!this.server && !isLongHeader(pkt)) {
      // RFC 9000 §10.3.1: a Stateless Reset carries a random DCID and is recognised by its
      // token, per peer address. Let quiche check it on the connection to that peer.
      for (const d of this.drivers) {
        if (sameHostPort(d.peer, from)) {
          d.recv(pkt, from);
          return;
        }
      }
    }
    if (!this.server || this.isClosing || !isLongHeader(pkt)) {
      this.counters.unknownCid++;
      if (this.server && !isLongHeader(pkt)) this.sendStatelessReset(pkt, from);
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

  /**
   * RFC 9000 §10.3: tell the sender of a short-header packet for a connection we do not know
   * (e.g. we restarted) that it is gone. The token of the first server CID is per config in
   * quiche, that of later CIDs per CID, and we cannot tell which this DCID was: send both.
   * Each reset is shorter than the packet that caused it (no loops, §10.3.3), ≥ 21 bytes,
   * and at most 200 per second leave an endpoint (no amplification).
   */
  private sendStatelessReset(pkt: Uint8Array, to: HostPort): void {
    if (pkt.length < 43) return;
    const sec = Math.floor(Date.now() / 1000);
    if (sec !== this.resetSecond) {
      this.resetSecond = sec;
      this.resetsThisSecond = 0;
    }
    if (this.resetsThisSecond >= 200) return;
    this.resetsThisSecond++;
    const len = Math.min(pkt.length - 1, 42);
    const tokens: Uint8Array[] = [];
    const t = resetTokenFor(this.resetKey, pkt.subarray(1, 1 + CID_LEN));
    const b = Buffer.alloc(16);
    b.writeBigUInt64BE(t >> 64n, 0);
    b.writeBigUInt64BE(t & (2n ** 64n - 1n), 8);
    tokens.push(b);
    if (this.initialResetToken) tokens.push(this.initialResetToken);
    for (const tok of tokens) {
      const r = randomBytes(len);
      r[0] = 0x40 | (r[0] & 0x3f); // short header form, fixed bit set (§17.3)
      r.set(tok, len - 16);
      this.path.send(r, to);
      this.counters.statelessResets++;
    }
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
    // One path flush for the whole turn: a relay with many busy connections then makes one
    // sendmmsg per turn instead of one per connection.
    this.isInFlushAll = true;
    try {
      for (const d of list) if (d.isDirty) d.flush();
    } finally {
      this.isInFlushAll = false;
    }
    if (this.hasUnflushed) {
      this.hasUnflushed = false;
      this.path.flush?.();
    }
  };

  private isInFlushAll = false;
  private hasUnflushed = false;

  /**
   * Runs this turn's pending flush now instead of on the next setImmediate. For endpoints
   * stacked in one process (the client's inner QUIC inside the outer's CONNECT-UDP): a
   * flush scheduled from inside another endpoint's flush would otherwise wait a whole
   * event-loop iteration. No-op when nothing is pending or a flush is running.
   */
  flushNow(): void {
    if (this.isFlushScheduled && !this.isInFlushAll) this.flushAll();
  }

  transmit(d: ConnDriver): void {
    const c = d.conn;
    const buf = this.sendBuf;
    const now = Date.now();
    // The first packet after a quiet spell (a ping, a keystroke, a DNS query) goes to the
    // socket before we ask quiche for more: the next send() call, the timer re-arm and the
    // rest of the turn would otherwise delay it by tens of µs on the cold caches of an idle
    // process (docs/benchmarks.md). Only when nothing else waits in this turn's batch, so a
    // busy endpoint still makes one sendmmsg per turn.
    const isQuiet = now - d.lastSendMs > QUIET_MS && !this.hasUnflushed;
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
      if (++sent === 1 && isQuiet) this.path.flush?.();
    }
    if (sent) {
      d.noteSent(Date.now()); // the end of the burst: a long burst does not make the next one look quiet
      if (this.isInFlushAll) this.hasUnflushed = true;
      else this.path.flush?.(); // timer-driven sends (retransmits, keep-alives) go out now
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
      this.raw.clear();
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
