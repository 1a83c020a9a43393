/**
 * One driver per QUIC connection (tokio-quiche's IoWorker): it owns the native connection
 * and runs the loop  recv batch → app reads → app writes → send until Done → re-arm timer.
 * The endpoint calls `flush()` once per event-loop turn for every connection that received
 * packets or was woken, never once per packet (FACTS.md: ×2 throughput).
 */
import { X509Certificate } from 'node:crypto';
import type { NativeConnection } from './native.js';
import { native, toQuicError } from './native.js';
import type { CloseInfo, ConnStats, QuicApp, QuicConnHandle, RawPacketPort } from './app.js';
import type { HostPort } from './path.js';
import type { QuicConfig } from './config.js';
import type { TimerHeap, TimerOwner } from './timer-heap.js';
import { QuicError } from './errors.js';
import { cidKey, newCid, resetTokenFor } from './cid.js';
import { sha256Hex } from './certs.js';

/** What a driver needs from its endpoint. */
export interface DriverHost {
  readonly timers: TimerHeap;
  readonly resetKey: Uint8Array;
  /** Sends every packet quiche produces for `d` and flushes the paths. */
  transmit(d: ConnDriver): void;
  markDirty(d: ConnDriver): void;
  registerCid(key: string, d: ConnDriver): void;
  unregisterCid(key: string): void;
  /** Forwarded-mode packets beside `d` on the endpoint's path (QuicEndpoint always offers them). */
  rawPortFor?(d: ConnDriver): RawPacketPort;
  driverClosed(d: ConnDriver): void;
  flushNow(): void;
}

/** Spare source CIDs we hand the peer so it can migrate (RFC 9000 §5.1.1). */
const SPARE_CIDS = 3;
/** TLS alert bad_certificate as a QUIC crypto error (RFC 9001 §4.8: 0x100 + alert 42). */
const CRYPTO_BAD_CERTIFICATE = 0x12a;

const NO_STREAMS: readonly number[] = [];

/**
 * Longest received packet treated as ACK-only (shouldHoldAck). A 1-RTT packet to us carries
 * our CID (CID_LEN, 16 bytes), a 1–4-byte packet number and the 16-byte AEAD tag: 34–37
 * bytes before any frame. An ACK frame with a few ranges stays under 60 in all; a DATAGRAM
 * with the smallest IP packet that carries anything (28 bytes: IPv4 + UDP or ICMP header)
 * is over 60. Misjudging costs little: a short ack-eliciting packet (a PING) is then
 * acknowledged at once, which RFC 9000 §13.2.1 allows.
 */
const ACK_ONLY_MAX_LEN = 60;

export class ConnDriver implements QuicConnHandle, TimerOwner {
  readonly traceId: string;
  readonly isServer: boolean;
  peer: HostPort;
  timerGen = 0;
  isDirty = false;
  /** Client, IP-literal server name with CA verification: the leaf must carry this IP SAN. */
  expectedIp?: string;
  private hasEstablished = false;
  private isFinished = false;
  /** When this connection last sent a packet (Date.now()); the endpoint reads it to spot quiet spells. */
  lastSendMs = Date.now();
  /** Packets received since the last transmit, and whether the app wrote since then. */
  private recvSinceSend = 0;
  private hasAppWrites = false;
  /** Length of the last packet received: see shouldHoldAck. */
  private lastRecvLen = 0;
  /** Inside flush(), before its transmit: a wake() now is carried by that transmit. */
  private isInPass = false;
  /** quiche took a packet since the last flush: only then can streams, datagrams, CIDs or paths have changed. */
  private hasRecvSinceFlush = false;
  /** When a held ACK must go out (config.ackDelayMs), or Infinity when none is held. */
  private ackDeadline = Infinity;
  /**
   * ACKs are never held before this time: quiche reports "established" before the handshake
   * is confirmed, while the client's Finished and the Handshake-level ACKs must still go out
   * at once (RFC 9000 §13.2.1), and it has no "confirmed" query; 200 ms is many RTTs here.
   */
  private holdFrom = Infinity;
  private readonly cidKeys = new Set<string>();
  private readonly firstScid: Uint8Array;
  /** See QuicConnHandle.raw; created on first use. */
  private rawPort?: RawPacketPort;
  private readonly counters = { dgramsDroppedSendQueueFull: 0, dgramsRecv: 0, dgramsSent: 0 };

  constructor(
    readonly conn: NativeConnection,
    public local: HostPort,
    peer: HostPort,
    readonly config: QuicConfig,
    public app: QuicApp,
    private readonly host: DriverHost,
    firstScid: Uint8Array,
  ) {
    this.peer = peer;
    this.isServer = config.isServer;
    this.traceId = Buffer.from(firstScid.subarray(0, 8)).toString('hex');
    this.firstScid = Uint8Array.from(firstScid);
    this.addCid(firstScid);
    if (config.keylogPath) native('quic: setKeylog', () => conn.setKeylog(config.keylogPath!));
  }

  /** Registers an extra router key (the client's original DCID before it switches). */
  addAlias(key: string): void {
    this.cidKeys.add(key);
    this.host.registerCid(key, this);
  }

  private addCid(cid: Uint8Array): void {
    this.addAlias(cidKey(cid));
  }

  /** One received packet. Errors inside quiche are counted by quiche and end the connection. */
  recv(pkt: Uint8Array, from: HostPort): void {
    try {
      this.conn.recv(pkt, { from, to: this.local });
    } catch {
      // quiche already queued a CONNECTION_CLOSE if the error was fatal (e.g. TlsFail).
    }
    this.recvSinceSend++;
    this.lastRecvLen = pkt.length;
    this.hasRecvSinceFlush = true;
    if (!this.isDirty) this.host.markDirty(this);
  }

  /**
   * The per-turn loop. Called by the endpoint (and by the timer with `isTimer`); safe to
   * call when nothing happened.
   */
  flush(isTimer = false): void {
    this.isDirty = false;
    if (this.isFinished) return;
    const c = this.conn;
    // A flush woken only by the app (a TUN packet to send) skips the read and CID checks:
    // nothing but a received packet (or a timer) changes them, and each is a napi call that
    // costs microseconds on the cold caches of an idle tunnel (docs/benchmarks.md). Apps read
    // everything in processReads (app.ts), so nothing readable is left behind.
    const hasNews = this.hasRecvSinceFlush || isTimer;
    this.hasRecvSinceFlush = false;
    this.isInPass = true;
    try {
      if (!this.hasEstablished && c.isEstablished()) this.establish();
      // Without news the connection cannot have closed since the last pass: quiche closes only
      // inside recv, onTimeout or send, and the pass after each asks (and finishes the driver).
      if (this.hasEstablished && (!hasNews || !c.isClosed())) {
        // isReadable() also counts queued DATAGRAMs (quiche: readable streams or a front datagram).
        if (hasNews && c.isReadable()) this.app.processReads(this);
        this.app.processWrites?.(this);
      }
    } catch (e) {
      // An application bug must not take the endpoint down: close this connection only.
      this.closeOnError(e);
    }
    this.isInPass = false;
    if (!isTimer && this.shouldHoldAck()) {
      if (hasNews) this.maintainCidsSafely();
      if (this.ackDeadline === Infinity) this.ackDeadline = Date.now() + this.config.ackDelayMs;
      this.armTimer();
      return;
    }
    this.ackDeadline = Infinity;
    this.recvSinceSend = 0;
    this.hasAppWrites = false;
    this.host.transmit(this);
    if (c.isClosed()) {
      this.finish();
      return;
    }
    // After the send, not before: retired CIDs and path events are bookkeeping that no packet
    // of this pass waits for, and on an idle tunnel each napi call costs microseconds (see
    // readableStreams). A CID issued here leaves with the next flush, which it schedules.
    if (hasNews && this.maintainCidsSafely()) this.wake();
    this.armTimer();
  }

  /**
   * True when what this turn would send is only an ACK for one packet: hold it (see
   * QuicConfigOptions.ackDelayMs). Anything the app wrote, queued datagrams (a packet that
   * opened the congestion window), a second packet or a fresh handshake send at once. With
   * nothing received since the last send there is no ACK to hold (a flush woken by the app
   * after its data already left): holding then only armed a timer that woke the process 1 ms
   * later to send nothing.
   * A packet too short to carry anything but an ACK (or a PING) is not held either: an
   * ACK-only packet needs no answer (RFC 9000 §13.2.1), so a hold would only wake us to find
   * that quiche has nothing to send; quiche does not say whether a packet was ack-eliciting.
   */
  private shouldHoldAck(): boolean {
    return this.config.ackDelayMs > 0 && !this.hasAppWrites && this.recvSinceSend === 1 && this.lastRecvLen > ACK_ONLY_MAX_LEN &&
      Date.now() >= this.holdFrom && this.conn.dgramSendQueueLen() === 0 && !this.conn.isClosed();
  }

  /** @internal — the endpoint's send loop reports each packet here for keep-alive accounting. */
  noteSent(nowMs: number): void {
    this.lastSendMs = nowMs;
  }

  private establish(): void {
    this.hasEstablished = true;
    this.holdFrom = Date.now() + 200;
    if (this.expectedIp !== undefined) {
      const leaf = this.conn.peerCertChain()?.[0];
      if (!leaf || new X509Certificate(leaf).checkIP(this.expectedIp) === undefined) {
        this.closeQuietly(false, CRYPTO_BAD_CERTIFICATE, 'certificate does not name this IP');
        return;
      }
    }
    if (this.config.pinSha256?.length) {
      const leaf = this.conn.peerCertChain()?.[0];
      if (!leaf || !this.config.pinSha256.includes(sha256Hex(leaf))) {
        this.closeQuietly(false, CRYPTO_BAD_CERTIFICATE, 'certificate pin mismatch');
        return;
      }
    }
    this.app.onEstablished?.(this);
  }

  /**
   * maintainCids once established, for a connection the caller saw open (both callers just
   * asked quiche); true when it queued frames to send.
   */
  private maintainCidsSafely(): boolean {
    if (!this.hasEstablished) return false;
    try {
      return this.maintainCids();
    } catch (e) {
      this.closeOnError(e);
      return true; // the CONNECTION_CLOSE
    }
  }

  private maintainCids(): boolean {
    const c = this.conn;
    let isIssued = false;
    for (let cid = c.retiredScidNext(); cid; cid = c.retiredScidNext()) {
      const k = cidKey(cid);
      this.cidKeys.delete(k);
      this.host.unregisterCid(k);
    }
    while (this.cidKeys.size < (this.config.spareCids ?? SPARE_CIDS) + 1 && c.sourceCidsLeft() > 0) {
      const cid = newCid();
      try {
        c.newSourceCid(cid, resetTokenFor(this.host.resetKey, cid), false);
      } catch {
        break;
      }
      this.addCid(cid);
      isIssued = true;
    }
    for (;;) {
      let ev;
      try {
        ev = c.pathEventNext();
      } catch {
        break;
      }
      if (!ev) break;
      if (ev.type === 'PeerMigrated') this.peer = ev.new;
    }
    return isIssued;
  }

  private armTimer(): void {
    const t = this.conn.timeout();
    // quiche's timeout() is whole ms, truncated: +1 so we never fire early and spin (FACTS.md).
    let at = t === null ? Infinity : Date.now() + t + 1;
    at = Math.min(at, this.ackDeadline);
    if (this.config.keepAliveMs > 0 && this.hasEstablished) at = Math.min(at, this.lastSendMs + this.config.keepAliveMs);
    this.host.timers.schedule(this, at);
  }

  onTimer(nowMs: number): void {
    if (this.isFinished) return;
    const t = this.conn.timeout();
    if (t === 0 || t === null || t <= 1) this.conn.onTimeout();
    if (this.config.keepAliveMs > 0 && this.hasEstablished && nowMs - this.lastSendMs >= this.config.keepAliveMs) {
      this.conn.sendAckEliciting();
    }
    this.flush(true);
  }

  private finish(): void {
    if (this.isFinished) return;
    this.isFinished = true;
    this.host.timers.cancel(this);
    for (const k of this.cidKeys) this.host.unregisterCid(k);
    this.cidKeys.clear();
    const c = this.conn;
    const peerErr = c.peerError();
    const localErr = c.localError();
    const err = localErr ?? peerErr;
    const info: CloseInfo = {
      isLocal: !!localErr,
      isApp: err?.isApp ?? false,
      code: err?.errorCode ?? 0,
      reason: err ? Buffer.from(err.reason).toString('utf8') : '',
      isTimeout: c.isTimedOut(),
    };
    this.host.driverClosed(this);
    try {
      this.app.onClosed?.(this, info);
    } catch {
      /* the connection is gone either way */
    }
  }

  /** Closes with INTERNAL_ERROR (RFC 9000 §20.1) after a throw inside a pass. */
  private closeOnError(e: unknown): void {
    this.closeQuietly(false, 0x1, `internal error: ${(e as Error).message}`.slice(0, 100));
  }

  private closeQuietly(isApp: boolean, code: number, reason: string): void {
    try {
      this.conn.close(isApp, code, Buffer.from(reason));
    } catch {
      /* already closing */
    }
  }

  private check(): void {
    if (this.isFinished) throw new QuicError('ERR_QUIC_CLOSED', 'quic: connection is closed');
  }

  // ---- QuicConnHandle ----
  get alpn(): string {
    return Buffer.from(this.conn.applicationProto()).toString('latin1');
  }

  get isEstablished(): boolean {
    return this.hasEstablished && !this.isFinished;
  }

  readableStreams(): Iterable<number> {
    // conn.readable() builds a fresh napi iterator object: ~30 µs even when empty (measured,
    // docs/benchmarks.md), more than a whole datagram costs. isReadable() is ~0.2 µs but also
    // counts queued DATAGRAMs, so it answers for streams only once that queue is empty: the
    // H3 driver drains datagrams before asking.
    if (!this.conn.isReadable()) return NO_STREAMS;
    return this.conn.readable();
  }

  streamRecv(streamId: number, buf: Uint8Array): [number, boolean] | null {
    this.check();
    try {
      return this.conn.streamRecv(streamId, buf);
    } catch (e) {
      throw toQuicError(e, `quic: streamRecv(${streamId})`);
    }
  }

  streamSend(streamId: number, data: Uint8Array, fin: boolean): number | null {
    this.check();
    this.hasAppWrites = true;
    try {
      return this.conn.streamSend(streamId, data, fin);
    } catch (e) {
      throw toQuicError(e, `quic: streamSend(${streamId})`);
    }
  }

  streamShutdown(streamId: number, dir: 'read' | 'write', code: number): void {
    if (this.isFinished) return;
    this.hasAppWrites = true;
    try {
      this.conn.streamShutdown(streamId, dir === 'read' ? 0 : 1, code);
    } catch {
      /* already shut or unknown: shutdown is best-effort and idempotent */
    }
    this.wake();
  }

  streamCapacity(streamId: number): number {
    this.check();
    return native(`quic: streamCapacity(${streamId})`, () => this.conn.streamCapacity(streamId));
  }

  streamFinished(streamId: number): boolean {
    return this.conn.streamFinished(streamId);
  }

  peerStreamsLeftBidi(): number {
    return this.conn.peerStreamsLeftBidi();
  }

  dgramSend(data: Uint8Array): boolean {
    if (this.isFinished) return false;
    this.hasAppWrites = true;
    try {
      if (this.conn.dgramSend(data) === null) {
        this.counters.dgramsDroppedSendQueueFull++;
        return false;
      }
    } catch {
      // BufferTooShort (too big) or InvalidState (peer takes no datagrams): a drop, not a crash.
      this.counters.dgramsDroppedSendQueueFull++;
      return false;
    }
    this.counters.dgramsSent++;
    return true;
  }

  dgramRecv(buf: Uint8Array): number | null {
    if (this.isFinished) return null;
    let n: number | null;
    try {
      n = this.conn.dgramRecv(buf);
    } catch (e) {
      throw toQuicError(e, 'quic: dgramRecv');
    }
    if (n !== null) this.counters.dgramsRecv++;
    return n;
  }

  dgramMaxWritableLen(): number | null {
    return this.isFinished ? null : this.conn.dgramMaxWritableLen();
  }

  wake(): void {
    this.hasAppWrites = true; // a wake means the app has something to send: never hold it
    // Inside our own pass (a relay writing an answer it read back while handling a packet)
    // the transmit that ends the pass sends it; another flush would find nothing to do.
    if (!this.isDirty && !this.isFinished && !this.isInPass) this.host.markDirty(this);
  }

  flushNow(): void {
    this.host.flushNow();
  }

  close(isApp: boolean, code: number, reason = ''): void {
    if (this.isFinished) return;
    this.hasAppWrites = true; // the CONNECTION_CLOSE goes out this turn
    this.closeQuietly(isApp, code, reason);
    this.wake();
  }

  stats(): ConnStats {
    const s = this.conn.stats();
    let rttMs = 0;
    let cwndBytes = 0;
    try {
      const p = this.conn.pathStats().find((x) => x.active) ?? this.conn.pathStats()[0];
      if (p) {
        rttMs = p.rtt; // the binding reports whole milliseconds (quiche 0.18)
        cwndBytes = p.cwnd;
      }
    } catch {
      /* closed */
    }
    return {
      rttMs, cwndBytes,
      sentPackets: s.sent, recvPackets: s.recv, lostPackets: s.lost,
      sentBytes: s.sentBytes, recvBytes: s.recvBytes,
      ...this.counters,
    };
  }

  peerCertChain(): Uint8Array[] | null {
    return this.conn.peerCertChain();
  }

  sourceCid(): Uint8Array {
    return this.firstScid;
  }

  destinationCid(): Uint8Array {
    this.check();
    return Uint8Array.from(this.conn.destinationId());
  }

  get raw(): RawPacketPort | undefined {
    if (!this.rawPort && this.host.rawPortFor) this.rawPort = this.host.rawPortFor(this);
    return this.rawPort;
  }

  /** TLS session for resumption (client), after the handshake; null if none yet. */
  session(): Uint8Array | null {
    return this.conn.session();
  }

  /**
   * Moves this (client) connection to a new local address (RFC 9000 §9: the client
   * initiates migration; quiche probes the new path and switches). Needs a spare CID
   * from the peer; throws QuicError ERR_QUIC_OUT_OF_IDENTIFIERS if it has none.
   */
  migrateTo(local: HostPort): void {
    this.check();
    native('quic: migrateSource', () => this.conn.migrateSource(local));
    this.local = local;
    this.wake();
  }

  get isResumed(): boolean {
    return this.conn.isResumed();
  }
}
