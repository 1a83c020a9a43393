/**
 * In-memory QUIC stand-ins for HTTP/3 tests (quiche's test_utils `Pipe`).
 *
 * `FakeQuic` implements QuicConnHandle: stream bytes and datagrams written on one side are
 * queued for the other; an optional per-stream window models flow control so back-pressure
 * paths run. `H3Pipe` joins two QuicApps (e.g. ClientH3Driver ↔ ServerH3Driver) and
 * `advance()` runs the hooks until nothing moves.
 */
import type { CloseInfo, ConnStats, QuicApp, QuicConnHandle } from '../../src/quic/app.js';
import type { HostPort } from '../../src/quic/path.js';
import { QuicError } from '../../src/quic/errors.js';

interface InStream {
  chunks: Uint8Array[];
  fin: boolean;
  isFinRead: boolean;
  resetCode: number | null;
  isResetRead: boolean;
}

export interface FakeQuicOptions {
  isServer: boolean;
  /** Bytes a stream may have in flight before streamSend accepts less. Default unlimited. */
  streamWindow?: number;
  /** Whether this side accepts DATAGRAM frames (transport parameter). Default true. */
  isDgramEnabled?: boolean;
}

export class FakeQuic implements QuicConnHandle {
  readonly traceId: string;
  readonly isServer: boolean;
  readonly peer: HostPort = { host: '127.0.0.1', port: 1 };
  readonly alpn = 'h3';
  isEstablished = true;
  other!: FakeQuic;
  readonly inStreams = new Map<number, InStream>();
  readonly dgramsIn: Uint8Array[] = [];
  /** Streams whose peer asked us to stop sending, with the code. */
  readonly stopped = new Map<number, number>();
  /** Shutdowns we performed: `${id}:${dir}:${code}`. */
  readonly shutdowns: string[] = [];
  closeInfo: { isApp: boolean; code: number; reason: string } | null = null;
  streamWindow: number;
  readonly isDgramEnabled: boolean;
  /** Largest DATAGRAM this side sends (what quiche's dgramMaxWritableLen reports). */
  maxDgramBytes = 1200;
  private readonly inFlight = new Map<number, number>();
  private woken = 0;

  constructor(opts: FakeQuicOptions) {
    this.isServer = opts.isServer;
    this.traceId = opts.isServer ? 'srv' : 'cli';
    this.streamWindow = opts.streamWindow ?? Infinity;
    this.isDgramEnabled = opts.isDgramEnabled ?? true;
  }

  /** Returns a connected client/server pair. */
  static pair(opts: Partial<FakeQuicOptions> & { serverDgram?: boolean; clientDgram?: boolean } = {}): [FakeQuic, FakeQuic] {
    const c = new FakeQuic({ isServer: false, streamWindow: opts.streamWindow, isDgramEnabled: opts.clientDgram });
    const s = new FakeQuic({ isServer: true, streamWindow: opts.streamWindow, isDgramEnabled: opts.serverDgram });
    c.other = s;
    s.other = c;
    return [c, s];
  }

  /** Test helper: deliver raw bytes to THIS side as if the peer wrote them on `id`. */
  inject(id: number, bytes: Uint8Array, fin = false): void {
    const s = this.in(id);
    s.chunks.push(bytes.slice());
    if (fin) s.fin = true;
  }

  /** Grants more window (simulates MAX_STREAM_DATA). */
  credit(id: number): void {
    this.inFlight.set(id, 0);
  }

  private in(id: number): InStream {
    let s = this.inStreams.get(id);
    if (!s) {
      s = { chunks: [], fin: false, isFinRead: false, resetCode: null, isResetRead: false };
      this.inStreams.set(id, s);
    }
    return s;
  }

  hasWork(): boolean {
    for (const id of this.readableStreams()) return id >= 0;
    return this.dgramsIn.length > 0;
  }

  *readableStreams(): Iterable<number> {
    for (const [id, s] of this.inStreams) {
      if (s.chunks.length > 0 || (s.fin && !s.isFinRead) || (s.resetCode !== null && !s.isResetRead)) yield id;
    }
  }

  streamRecv(id: number, buf: Uint8Array): [number, boolean] | null {
    const s = this.inStreams.get(id);
    if (!s) return null;
    if (s.resetCode !== null) {
      s.isResetRead = true;
      throw new QuicError('ERR_QUIC_STREAM_RESET', 'reset', { appCode: s.resetCode });
    }
    if (s.chunks.length === 0) {
      if (s.fin && !s.isFinRead) { s.isFinRead = true; return [0, true]; }
      return null;
    }
    const c = s.chunks[0];
    const n = Math.min(c.length, buf.length);
    buf.set(c.subarray(0, n));
    if (n === c.length) s.chunks.shift();
    else s.chunks[0] = c.subarray(n);
    const fin = s.chunks.length === 0 && s.fin;
    if (fin) s.isFinRead = true;
    return [n, fin];
  }

  streamSend(id: number, data: Uint8Array, fin: boolean): number | null {
    if (this.closeInfo) throw new QuicError('ERR_QUIC_CLOSED', 'closed');
    const code = this.stopped.get(id);
    if (code !== undefined) throw new QuicError('ERR_QUIC_STREAM_STOPPED', 'stopped', { appCode: code });
    const used = this.inFlight.get(id) ?? 0;
    const room = Math.max(0, this.streamWindow - used);
    const n = Math.min(room, data.length);
    if (n === 0 && data.length > 0) return null;
    const s = this.other.in(id);
    if (n > 0) s.chunks.push(data.slice(0, n));
    this.inFlight.set(id, used + n);
    if (fin && n === data.length) s.fin = true;
    return n;
  }

  streamShutdown(id: number, dir: 'read' | 'write', code: number): void {
    this.shutdowns.push(`${id}:${dir}:${code}`);
    if (dir === 'write') {
      const s = this.other.in(id);
      if (s.resetCode === null && !s.isFinRead) s.resetCode = code;
    } else {
      this.other.stopped.set(id, code);
      this.inStreams.delete(id);
    }
  }

  streamCapacity(id: number): number {
    return Math.max(0, this.streamWindow - (this.inFlight.get(id) ?? 0));
  }

  streamFinished(id: number): boolean {
    const s = this.inStreams.get(id);
    return !!s && s.isFinRead;
  }

  peerStreamsLeftBidi(): number {
    return 100;
  }

  dgramSend(data: Uint8Array): boolean {
    if (!this.other.isDgramEnabled || data.length > this.maxDgramBytes) return false;
    this.other.dgramsIn.push(data.slice());
    return true;
  }

  dgramRecv(buf: Uint8Array): number | null {
    const d = this.dgramsIn.shift();
    if (!d) return null;
    buf.set(d);
    return d.length;
  }

  dgramMaxWritableLen(): number | null {
    return this.other.isDgramEnabled ? this.maxDgramBytes : null;
  }

  wake(): void {
    this.woken++;
  }

  close(isApp: boolean, code: number, reason = ''): void {
    if (this.closeInfo) return;
    this.closeInfo = { isApp, code, reason };
  }

  stats(): ConnStats {
    return {
      rttMs: 0, cwndBytes: 0, sentPackets: 0, recvPackets: 0, lostPackets: 0, sentBytes: 0, recvBytes: 0,
      dgramsDroppedSendQueueFull: 0, dgramsRecv: 0, dgramsSent: 0,
    };
  }

  peerCertChain(): Uint8Array[] | null {
    return null;
  }
}

/** Two QuicApps over a FakeQuic pair. */
export class H3Pipe<C extends QuicApp, S extends QuicApp> {
  readonly cq: FakeQuic;
  readonly sq: FakeQuic;
  private isClosedDelivered = false;

  constructor(readonly client: C, readonly server: S, opts: Parameters<typeof FakeQuic.pair>[0] = {}) {
    [this.cq, this.sq] = FakeQuic.pair(opts);
  }

  /** Handshake done: onEstablished on both sides, then run until quiet. */
  start(): this {
    this.server.onEstablished?.(this.sq);
    this.client.onEstablished?.(this.cq);
    this.advance();
    return this;
  }

  /** Runs processReads/processWrites on both sides until nothing moves (bounded). */
  advance(maxRounds = 1000): void {
    for (let i = 0; i < maxRounds; i++) {
      this.client.processWrites?.(this.cq);
      this.server.processWrites?.(this.sq);
      const busy = this.cq.hasWork() || this.sq.hasWork();
      if (this.cq.hasWork()) this.client.processReads(this.cq);
      if (this.sq.hasWork()) this.server.processReads(this.sq);
      if (this.cq.closeInfo || this.sq.closeInfo) { this.deliverClose(); return; }
      if (!busy) return;
    }
    throw new Error('H3Pipe: did not settle');
  }

  private deliverClose(): void {
    if (this.isClosedDelivered) return;
    this.isClosedDelivered = true;
    const local = this.cq.closeInfo ? this.cq : this.sq;
    const ci = local.closeInfo!;
    const mk = (isLocal: boolean): CloseInfo => ({ isLocal, isApp: ci.isApp, code: ci.code, reason: ci.reason, isTimeout: false });
    this.client.onClosed?.(this.cq, mk(local === this.cq));
    this.server.onClosed?.(this.sq, mk(local === this.sq));
  }
}
