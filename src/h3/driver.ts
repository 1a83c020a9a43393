/**
 * H3Driver: runs an H3Conn over a QUIC connection as its QuicApp (tokio-quiche's H3Driver).
 *
 * The endpoint calls the hooks; the driver reads every readable stream and datagram,
 * feeds the sans-IO H3Conn, and dispatches its events to H3Stream handlers and to the
 * role hooks (ClientH3Driver / ServerH3Driver differ only in those). Writes buffered by
 * flow control are retried in processWrites.
 *
 * Receive buffers: one stream buffer and one datagram stage per process, reused; datagram
 * payloads reach `onDatagram` as views into the stage (valid during the call only).
 */
import type { CloseInfo, QuicApp, QuicConnHandle } from '../quic/app.js';
import { isMasqueError, MasqueError } from '../core/errors.js';
import { H3Conn, type H3ConnOptions, type H3ConnStats, datagramPayloadOffset } from './conn.js';
import type { H3Event } from './events.js';
import type { H3Settings } from './settings.js';
import type { H3Error } from './errors.js';
import { H3Stream, type StreamOwner } from './h3-stream.js';
import { CAPSULE_DATAGRAM } from './capsule.js';

export type H3DriverOptions = Omit<H3ConnOptions, 'isServer'>;

/** How the H3 connection ended. */
export interface H3CloseInfo {
  /** The H3 connection error we raised, if that is why it closed. */
  error: H3Error | null;
  /** The QUIC close (null if the H3 layer closed first and QUIC has not reported yet). */
  quic: CloseInfo | null;
}

const SHARED_RECV_BUF = new Uint8Array(65536);
const MAX_DGRAM = 65536;

/** Received datagrams back to back (drained from quiche before streams, delivered after). */
class DatagramStage {
  readonly buf = new Uint8Array(4 * MAX_DGRAM);
  /** End offset of each staged datagram. */
  readonly ends = new Int32Array(1024);

  /**
   * Whether the last fill() emptied the connection's queue. It stays empty until quiche takes
   * another packet (conn.recv), which never happens inside a read pass: so after delivering a
   * drained stage there is nothing to fill, and asking would be one more napi call per pass.
   */
  isDrained = false;

  /** Reads queued datagrams; returns how many. Stops while a maximal one still fits. */
  fill(qc: QuicConnHandle): number {
    const { buf, ends } = this;
    let off = 0;
    let count = 0;
    this.isDrained = false;
    while (buf.length - off >= MAX_DGRAM && count < ends.length) {
      const n = qc.dgramRecv(buf.subarray(off));
      if (n === null) {
        this.isDrained = true;
        break;
      }
      off += n;
      ends[count++] = off;
    }
    return count;
  }
}
const SHARED_STAGE = new DatagramStage();
let stageInUse = false;

export abstract class H3Driver implements QuicApp, StreamOwner {
  /** Resolves with the peer's SETTINGS; rejects if the connection closes first. */
  readonly ready: Promise<H3Settings>;
  /** Resolves once the QUIC connection is gone. Never rejects. */
  readonly closed: Promise<H3CloseInfo>;
  /**
   * Called at the end of each read pass, after the datagram handlers ran and before the
   * connection transmits: a consumer that batches what handlers gave it (a TUN writer)
   * flushes here, so the batch leaves before the ACKs for it do.
   */
  afterReads: (() => void) | null = null;
  protected readonly streams = new Map<number, H3Stream>();
  protected readonly isServer: boolean;
  private readonly opts: H3DriverOptions;
  private h3: H3Conn | null = null;
  private qc: QuicConnHandle | null = null;
  // One pair per process, not per connection (they were 128 KiB of every idle tunnel): they
  // are only used synchronously inside processReads, and what is handed out of them is valid
  // only during the callback (h3-stream.ts contract), so connections cannot see each other's.
  private readonly recvBuf = SHARED_RECV_BUF;
  private closeError: H3Error | null = null;
  private resolveReady!: (s: H3Settings) => void;
  private rejectReady!: (e: Error) => void;
  private resolveClosed!: (i: H3CloseInfo) => void;

  protected constructor(isServer: boolean, opts: H3DriverOptions = {}) {
    this.isServer = isServer;
    this.opts = opts;
    this.ready = new Promise((res, rej) => { this.resolveReady = res; this.rejectReady = rej; });
    this.ready.catch(() => undefined); // callers that never await it must not crash the process
    this.closed = new Promise((res) => { this.resolveClosed = res; });
  }

  /** The sans-IO connection (throws before the QUIC handshake completed). */
  get conn(): H3Conn {
    if (!this.h3) throw new MasqueError('ERR_H3_NOT_READY', 'h3: QUIC connection not established yet');
    return this.h3;
  }

  /** The peer's SETTINGS, or null before they arrived. */
  get peerSettings(): H3Settings | null {
    return this.h3?.peerSettings ?? null;
  }

  /** True when HTTP Datagrams go as QUIC DATAGRAM frames (RFC 9297 §2.1.1). */
  get isDatagramEnabled(): boolean {
    return this.h3?.isDatagramEnabled ?? false;
  }

  get stats(): H3ConnStats | null {
    return this.h3?.stats ?? null;
  }

  /** The QUIC handle (null before onEstablished). */
  get quic(): QuicConnHandle | null {
    return this.qc;
  }

  /** @internal StreamOwner */
  wake(): void {
    this.qc?.wake();
  }

  /** Graceful shutdown: GOAWAY, then close when every stream is done (RFC 9114 §5.2). */
  shutdown(): void {
    this.h3?.shutdown();
    this.dispatch();
    this.wake();
  }

  /** Closes now with an H3 code (default H3_NO_ERROR). */
  close(code?: number, reason?: string): void {
    this.h3?.close(code, reason);
    this.dispatch();
    this.wake();
  }

  // ---- QuicApp ----

  onEstablished(qc: QuicConnHandle): void {
    this.qc = qc;
    this.h3 = new H3Conn(qc, { ...this.opts, isServer: this.isServer });
    this.h3.start();
    this.dispatch();
  }

  processReads(qc: QuicConnHandle): void {
    const h3 = this.h3;
    if (!h3) return;
    // Datagrams are taken out of quiche first so that readableStreams() is cheap when only
    // datagrams arrived (quic/driver.ts), but delivered after the streams: a request's HEADERS
    // and its first datagrams may come in one batch, and the stream must exist first.
    // A handler that synchronously drove another connection's reads would overwrite the
    // shared stage; none does today, but such a nested call gets a buffer of its own.
    const stage = stageInUse ? new DatagramStage() : SHARED_STAGE;
    stageInUse = true;
    try {
      let staged = stage.fill(qc);
      for (const id of qc.readableStreams()) this.readStream(qc, h3, id);
      this.dispatch();
      while (staged > 0) {
        this.deliverStaged(h3, stage, staged);
        this.dispatch();
        staged = stage.isDrained ? 0 : stage.fill(qc);
      }
    } finally {
      if (stage === SHARED_STAGE) stageInUse = false;
    }
    this.afterReads?.();
  }

  processWrites(): void {
    const h3 = this.h3;
    if (!h3) return;
    h3.flush();
    this.dispatch();
  }

  onClosed(_qc: QuicConnHandle, info: CloseInfo): void {
    this.h3?.transportClosed();
    this.dispatch();
    const code = this.closeError?.h3Code ?? (info.isApp ? info.code : 0x100);
    for (const s of this.streams.values()) this.deliverReset(s, code, info.isLocal);
    this.streams.clear();
    this.rejectReady(new MasqueError('ERR_H3_CLOSED', 'h3: connection closed before SETTINGS'));
    this.resolveClosed({ error: this.closeError, quic: info });
  }

  // ---- role hooks ----

  /** Server: a request arrived. */
  protected onRequestEvent(_ev: Extract<H3Event, { type: 'request' }>): void {}
  /** The peer sent GOAWAY. */
  protected onGoaway(_id: number): void {}

  protected registerStream(s: H3Stream): void {
    this.streams.set(s.id, s);
  }

  // ---- internals ----

  private readStream(qc: QuicConnHandle, h3: H3Conn, id: number): void {
    for (;;) {
      let r: [number, boolean] | null;
      try {
        r = qc.streamRecv(id, this.recvBuf);
      } catch (e) {
        if (isMasqueError(e) && e.code === 'ERR_QUIC_STREAM_RESET') h3.feedReset(id, (e as { appCode?: number }).appCode ?? 0);
        return; // other errors: the stream is unusable; quiche stops listing it
      }
      if (r === null) return;
      const [n, fin] = r;
      h3.feedStream(id, this.recvBuf.subarray(0, n), fin);
      if (fin || n === 0) return;
    }
  }

  private deliverStaged(h3: H3Conn, stage: DatagramStage, count: number): void {
    const { buf, ends } = stage;
    for (let i = 0, start = 0; i < count; start = ends[i]!, i++) {
      if (ends[i] === start) continue;
      const d = buf.subarray(start, ends[i]);
      const id = h3.routeDatagram(d);
      if (id < 0) continue;
      const s = this.streams.get(id);
      s?.handler?.onDatagram?.(s, d.subarray(datagramPayloadOffset(d)));
    }
  }

  /** Delivers every queued H3Conn event. */
  protected dispatch(): void {
    const h3 = this.h3;
    if (!h3) return;
    for (let ev = h3.poll(); ev !== null; ev = h3.poll()) this.deliver(ev);
  }

  private deliver(ev: H3Event): void {
    switch (ev.type) {
      case 'settings': this.resolveReady(ev.settings); return;
      case 'goaway': this.onGoaway(ev.id); return;
      case 'closed':
        this.closeError = ev.error;
        if (ev.error) this.rejectReady(ev.error);
        return;
      case 'request': this.onRequestEvent(ev); return;
      default: this.deliverStreamEvent(ev);
    }
  }

  private deliverStreamEvent(ev: Exclude<H3Event, { type: 'settings' | 'goaway' | 'closed' | 'request' }>): void {
    const s = this.streams.get(ev.streamId);
    if (!s) return;
    const h = s.handler;
    switch (ev.type) {
      case 'informational': h?.onInformational?.(s, ev.head); return;
      case 'response': s.response = ev.head; h?.onResponse?.(s, ev.head); return;
      case 'data': h?.onData?.(s, ev.bytes); return;
      case 'capsule':
        if (ev.capsuleType === CAPSULE_DATAGRAM) h?.onDatagram?.(s, ev.value); // RFC 9297 §3.5
        else h?.onCapsule?.(s, ev.capsuleType, ev.value);
        return;
      case 'datagram': h?.onDatagram?.(s, ev.payload); return;
      case 'trailers': h?.onTrailers?.(s, ev.fields); return;
      case 'end': h?.onEnd?.(s); return;
      case 'done': this.streams.delete(s.id); return;
      case 'writable': h?.onWritable?.(s); return;
      case 'reset': this.deliverReset(s, ev.code, ev.isLocal); return;
    }
  }

  private deliverReset(s: H3Stream, code: number, isLocal: boolean): void {
    if (s.isDead) return;
    s.isDead = true;
    s.handler?.onReset?.(s, code, isLocal);
  }
}
