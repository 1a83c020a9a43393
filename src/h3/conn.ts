/**
 * H3Conn: one HTTP/3 connection, sans-IO (quiche h3 `Connection` style).
 *
 * The caller feeds what the QUIC connection delivered — `feedStream(id, bytes, fin)`,
 * `feedReset(id, code)`, `routeDatagram(d)` — and drains `poll()` for H3Events. Writes go
 * straight to the transport (a `QuicConnHandle`, or a fake in tests); what flow control
 * refuses is buffered per stream and retried by `flush()` (call it from processWrites).
 *
 * Errors: a connection error (RFC 9114 §8) closes the QUIC connection with its code and
 * yields a 'closed' event; a stream error resets that stream (STOP_SENDING + RESET_STREAM)
 * and yields a 'reset' event with `isLocal: true`. Not safe for use from several connections.
 */
import type { QuicConnHandle, RawPacketPort } from '../quic/app.js';
import { MasqueError, isMasqueError } from '../core/errors.js';
import { Writer } from '../wire/writer.js';
import { readVarintAt, varintLen, varintLenFromFirstByte, writeVarint } from '../wire/varint.js';
import type { FieldLine } from './qpack/types.js';
import { QpackDecoder } from './qpack/decoder.js';
import { QpackEncoder } from './qpack/encoder.js';
import {
  H3Error, H3_CLOSED_CRITICAL_STREAM, H3_DATAGRAM_ERROR, H3_EXCESSIVE_LOAD, H3_INTERNAL_ERROR, H3_NO_ERROR, H3_REQUEST_CANCELLED,
  H3_REQUEST_REJECTED, H3_STREAM_CREATION_ERROR, QPACK_DECOMPRESSION_FAILED,
} from './errors.js';
import { H3_FRAME_DATA, H3_FRAME_HEADERS, encodeFrameHeader } from './frame.js';
import { DEFAULT_SETTINGS, type H3Settings } from './settings.js';
import type { H3Event } from './events.js';
import { LocalUniStreams, PeerUniStreams, type ControlHandler } from './control.js';
import { RequestStream, type RequestContext } from './request.js';
import { hasCapsuleProtocol, validateRequest, validateResponse, validateTrailers } from './message.js';
import { SendQueue } from './send-queue.js';
import { CAPSULE_DATAGRAM } from './capsule.js';

/** The transport calls H3Conn makes (a subset of QuicConnHandle). */
export type H3Transport = Pick<QuicConnHandle,
  'streamSend' | 'streamShutdown' | 'dgramSend' | 'dgramMaxWritableLen' | 'close' | 'peerStreamsLeftBidi' | 'raw'>;

export interface H3ConnOptions {
  isServer: boolean;
  /**
   * Our SETTINGS. Defaults: QPACK table 4096 bytes, 16 blocked streams, field sections
   * up to 64 KiB, extended CONNECT and HTTP Datagrams off.
   */
  settings?: Partial<H3Settings>;
  /** Send a grease setting (RFC 9114 §7.2.4.1). Default true. */
  isGreaseEnabled?: boolean;
  /** Per-stream buffered bytes above which writes report back-pressure. Default 256 KiB. */
  highWaterBytes?: number;
  /** Per-stream buffered bytes beyond which DATA writes throw ERR_H3_WRITE_BUFFER_FULL. Default 4 MiB. */
  maxBufferedBytes?: number;
  /** Random source in [0,1) for grease values (inject for determinism). Default Math.random. */
  random?: () => number;
}

/** Counters (STYLE.md §5: dropped datagrams are counted, not logged one by one). */
export interface H3ConnStats {
  dgramsRecv: number;
  /** No live request stream with that Quarter Stream ID (unknown, closed or not yet opened). */
  dgramsDroppedUnknownStream: number;
  /** We did not enable H3_DATAGRAM, so the datagram could not be HTTP Datagram. */
  dgramsDroppedNotEnabled: number;
  dgramsSent: number;
  dgramsSendDropped: number;
}

const DEFAULT_LOCAL: H3Settings = {
  ...DEFAULT_SETTINGS, qpackMaxTableCapacity: 4096, qpackBlockedStreams: 16, maxFieldSectionSize: 65536,
};

export class H3Conn implements RequestContext, ControlHandler {
  readonly isServer: boolean;
  readonly localSettings: H3Settings;
  /** The peer's SETTINGS, or null until they arrive. */
  peerSettings: H3Settings | null = null;
  /** Set once a connection error was raised or close() was called. */
  isClosed = false;
  /** GOAWAY id received from the peer (Infinity if none). */
  peerGoawayId = Infinity;
  /** True after shutdown(): no new requests; closes when the last stream ends. */
  isShuttingDown = false;
  readonly stats: H3ConnStats = {
    dgramsRecv: 0, dgramsDroppedUnknownStream: 0, dgramsDroppedNotEnabled: 0, dgramsSent: 0, dgramsSendDropped: 0,
  };
  readonly highWaterBytes: number;
  private readonly maxBufferedBytes: number;
  private readonly t: H3Transport;
  private readonly opts: H3ConnOptions;
  private readonly streams = new Map<number, RequestStream>();
  private readonly local: LocalUniStreams;
  private readonly peerUni: PeerUniStreams;
  private readonly decoder: QpackDecoder;
  private readonly encoder: QpackEncoder;
  private readonly pending = new Set<number>();
  private events: H3Event[] = [];
  private eventHead = 0;
  private nextBidi = 0;
  private maxPeerBidi = -4;
  private sentGoawayId = Infinity;
  private dgramScratch = new Uint8Array(2048);
  private isStarted = false;

  constructor(transport: H3Transport, opts: H3ConnOptions) {
    this.t = transport;
    this.opts = opts;
    this.isServer = opts.isServer;
    this.localSettings = { ...DEFAULT_LOCAL, ...opts.settings };
    this.highWaterBytes = opts.highWaterBytes ?? 256 * 1024;
    this.maxBufferedBytes = opts.maxBufferedBytes ?? 4 * 1024 * 1024;
    this.local = new LocalUniStreams(this.isServer);
    this.peerUni = new PeerUniStreams(this.isServer, this);
    this.decoder = new QpackDecoder({
      maxTableCapacity: this.localSettings.qpackMaxTableCapacity,
      maxBlockedStreams: this.localSettings.qpackBlockedStreams,
      maxFieldSectionSize: this.localSettings.maxFieldSectionSize,
    });
    this.encoder = new QpackEncoder();
  }

  /** Packets beside this connection on its path (QUIC-aware forwarding); undefined when the transport offers none. */
  get raw(): RawPacketPort | undefined {
    return this.t.raw;
  }

  /** Whether we enabled extended CONNECT (RFC 9220 §3; servers only). */
  get isConnectProtocolEnabled(): boolean {
    return this.isServer && this.localSettings.enableConnectProtocol;
  }

  /**
   * True when HTTP Datagrams may be sent as QUIC DATAGRAM frames: both sides sent
   * H3_DATAGRAM=1 and the peer accepts DATAGRAM frames (RFC 9297 §2.1.1, RFC 9221 §3).
   */
  get isDatagramEnabled(): boolean {
    if (this.isDatagramOn) return true;
    this.isDatagramOn = this.localSettings.h3Datagram && this.peerSettings !== null && this.peerSettings.h3Datagram
      && this.t.dgramMaxWritableLen() !== null;
    return this.isDatagramOn;
  }

  /**
   * isDatagramEnabled, once true: SETTINGS are sent once (RFC 9114 §7.2.4) and the peer's
   * max_datagram_frame_size is a transport parameter, fixed for the connection, so the answer
   * cannot turn false again. Every tunneled packet asks; without this each one paid a napi
   * call (dgramMaxWritableLen) on the cold caches of an idle tunnel. After the connection
   * ends, datagram sends fail in the transport and are counted as drops.
   */
  private isDatagramOn = false;

  /**
   * Largest HTTP Datagram Payload (RFC 9297 §2.1: what follows the Quarter Stream ID) that one
   * QUIC DATAGRAM can carry for request stream `streamId` right now: the transport's writable
   * DATAGRAM size minus the Quarter Stream ID varint, never below 0. null when HTTP Datagrams
   * do not go as QUIC DATAGRAMs (isDatagramEnabled false); sendDatagram then falls back to
   * DATAGRAM capsules. Follows the path MTU, so re-read it rather than keep it.
   */
  maxDatagramPayloadBytes(streamId: number): number | null {
    if (!this.isDatagramEnabled) return null;
    const max = this.t.dgramMaxWritableLen();
    return max === null ? null : Math.max(0, max - varintLen(streamId / 4));
  }

  /** Opens our control and QPACK streams and sends SETTINGS. Call once, when established. */
  start(): void {
    if (this.isStarted) return;
    this.isStarted = true;
    const greaseN = this.opts.isGreaseEnabled === false ? null : Math.floor((this.opts.random ?? Math.random)() * 1000);
    this.guard(() => this.local.open(this.t, this.localSettings, greaseN));
    for (const q of this.local.queues()) if (!q.isIdle) this.pending.add(q.streamId);
  }

  /** The next event, or null when there is none. */
  poll(): H3Event | null {
    if (this.eventHead >= this.events.length) {
      if (this.events.length > 0) { this.events = []; this.eventHead = 0; }
      return null;
    }
    return this.events[this.eventHead++];
  }

  /** @internal RequestContext / ControlHandler */
  emit(ev: H3Event): void {
    this.events.push(ev);
  }

  // ---- receive ----

  /** Bytes (and/or FIN) the transport delivered on `streamId`. `bytes` is copied if kept. */
  feedStream(streamId: number, bytes: Uint8Array, fin: boolean): void {
    if (this.isClosed) return;
    if ((streamId & 2) !== 0) {
      this.guard(() => this.peerUni.feed(streamId, bytes, fin));
      return;
    }
    const req = this.requestFor(streamId);
    if (req === null || req.isAborted) return;
    this.guardStream(req, () => {
      req.parser.feed(bytes);
      if (fin) req.fin(this);
      else req.pump(this);
    });
    this.forgetIfClosed(req);
  }

  /** The peer reset its sending side of `streamId` with `code` (RESET_STREAM). */
  feedReset(streamId: number, code: number): void {
    if (this.isClosed) return;
    if ((streamId & 2) !== 0) {
      this.guard(() => this.peerUni.reset(streamId));
      return;
    }
    const req = this.streams.get(streamId);
    if (!req || req.isAborted) return;
    this.abort(req, H3_REQUEST_CANCELLED, false, code);
  }

  /**
   * Routes one received QUIC DATAGRAM (RFC 9297 §2.1) without allocating: returns the
   * request stream id it belongs to (its payload starts at `datagramPayloadOffset(d)`), or
   * -1 when it was dropped (counted in stats). A Quarter Stream ID that cannot be parsed or
   * exceeds 2^60−1 (RFC 9297 §2.1) is a connection error H3_DATAGRAM_ERROR (then -1 too).
   */
  routeDatagram(d: Uint8Array): number {
    if (this.isClosed) return -1;
    this.stats.dgramsRecv++;
    const qsid = readVarintAt(d, 0);
    // 2^60−1 is not exact as a double: test the top bits of an 8-byte varint instead.
    if (qsid < 0 || ((d[0] & 0xc0) === 0xc0 && (d[0] & 0x30) !== 0)) {
      this.fail(new H3Error(H3_DATAGRAM_ERROR, 'h3: datagram with a bad Quarter Stream ID'));
      return -1;
    }
    if (!this.localSettings.h3Datagram) {
      this.stats.dgramsDroppedNotEnabled++;
      return -1;
    }
    const req = this.streams.get(qsid * 4);
    if (!req || req.isAborted || req.isRecvDone) {
      this.stats.dgramsDroppedUnknownStream++; // RFC 9297 §2.1: drop for unknown or closed streams
      return -1;
    }
    return req.id;
  }

  /** routeDatagram() that queues a 'datagram' event instead (allocates; for sans-IO users). */
  feedDatagram(d: Uint8Array): void {
    const id = this.routeDatagram(d);
    if (id >= 0) this.emit({ type: 'datagram', streamId: id, payload: d.subarray(datagramPayloadOffset(d)) });
  }

  /** The QUIC connection is gone: emits 'closed' (once). */
  transportClosed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.emit({ type: 'closed', error: null });
  }

  // ---- send ----

  /**
   * Client: opens a request stream and sends its HEADERS. Throws H3Error H3_MESSAGE_ERROR
   * for an invalid request — including `:protocol` before the server's SETTINGS enabled
   * extended CONNECT (RFC 9220 §3) — H3_REQUEST_REJECTED after GOAWAY, and MasqueError
   * ERR_H3_STREAMS_BLOCKED when the peer allows no more streams now.
   */
  request(fields: FieldLine[], endStream = false): number {
    if (this.isServer) throw new MasqueError('ERR_H3_ROLE', 'h3: request() on a server');
    this.checkOpen();
    validateRequest(fields, this.peerSettings?.enableConnectProtocol ?? false);
    if (this.isShuttingDown || this.nextBidi >= this.peerGoawayId) {
      throw new H3Error(H3_REQUEST_REJECTED, 'h3: connection is going away', false);
    }
    if (this.t.peerStreamsLeftBidi() <= 0) throw new MasqueError('ERR_H3_STREAMS_BLOCKED', 'h3: no request streams left');
    const id = this.nextBidi;
    this.nextBidi += 4;
    const req = new RequestStream(id, false, this.localSettings.maxFieldSectionSize);
    req.isCapsuleRequested = fields.some(([n]) => n === ':protocol') && hasCapsuleProtocol(fields);
    this.streams.set(id, req);
    this.writeHeaders(req, fields, endStream);
    return id;
  }

  /** Server: sends the response head (interim 1xx or final). Throws H3Error for invalid fields. */
  respond(streamId: number, fields: FieldLine[], endStream = false): void {
    validateResponse(fields);
    const req = this.liveStream(streamId);
    if (req) this.writeHeaders(req, fields, endStream);
  }

  /** Sends trailers and ends the stream (RFC 9114 §4.1). */
  sendTrailers(streamId: number, fields: FieldLine[]): void {
    validateTrailers(fields);
    const req = this.liveStream(streamId);
    if (req) this.writeHeaders(req, fields, true);
  }

  /**
   * Sends body bytes in one DATA frame (none for an empty `bytes`), then FIN if `fin`.
   * Returns false when the stream's buffer is above the high-water mark (wait for
   * 'writable') or the stream is gone (bytes dropped). Throws MasqueError
   * ERR_H3_WRITE_BUFFER_FULL past `maxBufferedBytes`.
   */
  sendData(streamId: number, bytes: Uint8Array, fin = false): boolean {
    const req = this.liveStream(streamId);
    if (!req) return false;
    if (req.send.bufferedBytes + bytes.length > this.maxBufferedBytes) {
      throw new MasqueError('ERR_H3_WRITE_BUFFER_FULL', `h3: stream ${streamId} has too much buffered`);
    }
    const w = new Writer(16);
    if (bytes.length > 0) encodeFrameHeader(w, H3_FRAME_DATA, bytes.length);
    this.write(req, w.finish(), false);
    this.write(req, bytes, fin);
    return this.checkHighWater(req);
  }

  /**
   * Sends one capsule (RFC 9297 §3.2) in a DATA frame. Same return contract as sendData.
   */
  sendCapsule(streamId: number, capsuleType: number, value: Uint8Array): boolean {
    const req = this.liveStream(streamId);
    if (!req) return false;
    const capLen = varintLen(capsuleType) + varintLen(value.length) + value.length;
    const w = new Writer(24);
    encodeFrameHeader(w, H3_FRAME_DATA, capLen);
    w.varint(capsuleType).varint(value.length);
    this.write(req, w.finish(), false);
    this.write(req, value, false);
    return this.checkHighWater(req);
  }

  /**
   * Sends an HTTP Datagram for `streamId`: a QUIC DATAGRAM with the Quarter Stream ID
   * (RFC 9297 §2.1) when isDatagramEnabled, else a DATAGRAM capsule (§3.5) when the stream
   * uses the Capsule Protocol and is below its high-water mark. Returns false when dropped.
   * `payload` is copied; the caller keeps ownership.
   */
  sendDatagram(streamId: number, payload: Uint8Array): boolean {
    const req = this.streams.get(streamId);
    if (!req || req.isAborted) return this.droppedDgram();
    if (this.isDatagramEnabled) {
      const qsid = streamId / 4;
      const n = varintLen(qsid);
      const total = n + payload.length;
      if (total > this.dgramScratch.length) this.dgramScratch = new Uint8Array(total);
      writeVarint(this.dgramScratch, 0, qsid);
      this.dgramScratch.set(payload, n);
      if (!this.t.dgramSend(this.dgramScratch.subarray(0, total))) return this.droppedDgram();
      this.stats.dgramsSent++;
      return true;
    }
    const usesCapsules = req.capsules !== null || req.isCapsuleRequested;
    if (!usesCapsules || req.send.isEnded || req.send.bufferedBytes > this.highWaterBytes) return this.droppedDgram();
    this.sendCapsule(streamId, CAPSULE_DATAGRAM, payload);
    this.stats.dgramsSent++;
    return true;
  }

  /** Aborts both directions of a request stream with `code` (e.g. H3_REQUEST_CANCELLED). No event. */
  resetStream(streamId: number, code: number): void {
    const req = this.streams.get(streamId);
    if (req && !req.isAborted) this.abort(req, code, null, code);
  }

  /** Bytes buffered on a stream (not yet accepted by flow control); 0 for unknown streams. */
  bufferedBytes(streamId: number): number {
    return this.streams.get(streamId)?.send.bufferedBytes ?? 0;
  }

  /** Retries buffered writes; queues 'writable' events. Call from processWrites. */
  flush(): void {
    for (const id of this.pending) {
      const req = this.streams.get(id);
      const q = req ? req.send : this.localQueue(id);
      if (!q) { this.pending.delete(id); continue; }
      let isIdle = false;
      if (req) this.guardStream(req, () => { isIdle = q.flush(this.t); });
      else this.guard(() => { isIdle = q.flush(this.t); });
      if (isIdle) this.pending.delete(id);
      if (req && req.isWriteBlocked && q.bufferedBytes <= this.highWaterBytes / 2) {
        req.isWriteBlocked = false;
        this.emit({ type: 'writable', streamId: id });
      }
      if (req) this.forgetIfClosed(req);
    }
    this.maybeFinishShutdown();
  }

  /**
   * Graceful shutdown (RFC 9114 §5.2): sends GOAWAY (server: the first request stream id
   * it will not process; client: push id 0), accepts no new requests, and closes with
   * H3_NO_ERROR once every request stream has ended.
   */
  shutdown(): void {
    if (this.isClosed || this.isShuttingDown) return;
    this.isShuttingDown = true;
    const id = this.isServer ? this.maxPeerBidi + 4 : 0;
    this.sentGoawayId = id;
    this.guard(() => this.local.sendControlFrame(this.t, { type: 'goaway', id }));
    this.pending.add(this.local.control.streamId);
    this.maybeFinishShutdown();
  }

  /** Closes the connection now with an application error code (default H3_NO_ERROR). */
  close(code = H3_NO_ERROR, reason = ''): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.t.close(true, code, reason);
    this.emit({ type: 'closed', error: code === H3_NO_ERROR ? null : new H3Error(code, reason || 'h3: closed') });
  }

  // ---- ControlHandler ----

  /** @internal */
  onSettings(s: H3Settings): void {
    this.peerSettings = s;
    this.emit({ type: 'settings', settings: s });
  }

  /** @internal */
  onGoaway(id: number): void {
    this.peerGoawayId = id;
    this.emit({ type: 'goaway', id });
    if (this.isServer) return;
    // §5.2: requests on ids ≥ the GOAWAY id were not and will not be processed.
    for (const req of this.streams.values()) {
      if (req.id >= id && !req.isAborted) this.abort(req, H3_REQUEST_REJECTED, true, H3_REQUEST_REJECTED);
    }
  }

  /** @internal */
  onEncoderStreamBytes(bytes: Uint8Array): void {
    this.decoder.feedEncoderStream(bytes);
    for (const { streamId, fields, error } of this.decoder.takeUnblocked()) {
      const req = this.streams.get(streamId);
      if (!req || req.isAborted) continue;
      this.guardStream(req, () => {
        if (error) throw error; // an over-size section: a stream error (RFC 9114 §4.2.2)
        req.unblocked(this, fields);
      });
      this.forgetIfClosed(req);
    }
    this.flushDecoderStream();
  }

  /** @internal */
  onDecoderStreamBytes(bytes: Uint8Array): void {
    this.encoder.feedDecoderStream(bytes);
  }

  /** @internal */
  stopReading(streamId: number, code: number): void {
    this.t.streamShutdown(streamId, 'read', code);
  }

  /** @internal RequestContext */
  decodeFields(streamId: number, block: Uint8Array): FieldLine[] | null {
    let fields: FieldLine[] | null;
    try {
      fields = this.decoder.decodeFieldSection(streamId, block);
    } catch (e) {
      if (e instanceof H3Error) throw e;
      throw new H3Error(QPACK_DECOMPRESSION_FAILED, 'h3: QPACK decoding failed', true, { cause: e });
    }
    this.flushDecoderStream();
    return fields;
  }

  // ---- internals ----

  private requestFor(streamId: number): RequestStream | null {
    const existing = this.streams.get(streamId);
    if (existing) return existing;
    const isClientInitiated = (streamId & 1) === 0;
    if (!this.isServer) {
      // §6.1: server-initiated bidirectional streams are not allowed without an extension.
      if (!isClientInitiated) this.fail(new H3Error(H3_STREAM_CREATION_ERROR, 'h3: server-initiated bidirectional stream'));
      return null; // else one of ours that we already forgot
    }
    if (!isClientInitiated || streamId <= this.maxPeerBidi) return null;
    this.maxPeerBidi = streamId;
    if (streamId >= this.sentGoawayId) {
      // §5.2: requests at or above our GOAWAY id are rejected unprocessed.
      this.t.streamShutdown(streamId, 'read', H3_REQUEST_REJECTED);
      this.t.streamShutdown(streamId, 'write', H3_REQUEST_REJECTED);
      return null;
    }
    const req = new RequestStream(streamId, true, this.localSettings.maxFieldSectionSize);
    this.streams.set(streamId, req);
    return req;
  }

  private liveStream(streamId: number): RequestStream | null {
    const req = this.streams.get(streamId);
    return req && !req.isAborted && !req.send.isEnded && !this.isClosed ? req : null;
  }

  private writeHeaders(req: RequestStream, fields: FieldLine[], fin: boolean): void {
    const limit = this.peerSettings?.maxFieldSectionSize ?? Infinity;
    let size = 0;
    for (const [n, v] of fields) size += n.length + v.length + 32; // §4.2.2
    if (size > limit) throw new H3Error(H3_EXCESSIVE_LOAD, `h3: field section of ${size} exceeds the peer's limit`, false);
    const block = this.encoder.encode(fields);
    const w = new Writer(block.length + 8);
    encodeFrameHeader(w, H3_FRAME_HEADERS, block.length);
    w.bytes(block);
    this.write(req, w.finish(), fin);
  }

  private write(req: RequestStream, bytes: Uint8Array, fin: boolean): void {
    if (bytes.length === 0 && !fin) return;
    this.guardStream(req, () => req.send.write(this.t, bytes, fin));
    if (!req.send.isIdle) this.pending.add(req.id);
    this.forgetIfClosed(req);
  }

  private checkHighWater(req: RequestStream): boolean {
    if (req.send.bufferedBytes <= this.highWaterBytes) return true;
    req.isWriteBlocked = true;
    return false;
  }

  private droppedDgram(): false {
    this.stats.dgramsSendDropped++;
    return false;
  }

  private localQueue(id: number): SendQueue | null {
    return this.local.queues().find((q) => q.streamId === id) ?? null;
  }

  private flushDecoderStream(): void {
    const b = this.decoder.takeDecoderStreamBytes();
    if (b === null || b.length === 0) return;
    this.local.decoder.write(this.t, b, false);
    if (!this.local.decoder.isIdle) this.pending.add(this.local.decoder.streamId);
  }

  /**
   * Aborts a request stream both ways with `code`. `isLocal` null = the app asked (no
   * event); otherwise a 'reset' event with `eventCode` is queued.
   */
  private abort(req: RequestStream, code: number, isLocal: boolean | null, eventCode: number): void {
    req.isAborted = true;
    req.send.clear();
    this.pending.delete(req.id);
    this.t.streamShutdown(req.id, 'read', code);
    this.t.streamShutdown(req.id, 'write', code);
    this.decoder.cancelStream(req.id); // RFC 9204 §4.4.2: Stream Cancellation
    this.flushDecoderStream();
    if (isLocal !== null) this.emit({ type: 'reset', streamId: req.id, code: eventCode, isLocal });
    this.forgetIfClosed(req);
  }

  private forgetIfClosed(req: RequestStream): void {
    if (req.isClosed && this.streams.get(req.id) === req && req.send.isIdle) {
      this.streams.delete(req.id);
      this.pending.delete(req.id);
      this.emit({ type: 'done', streamId: req.id });
      this.maybeFinishShutdown();
    }
  }

  private maybeFinishShutdown(): void {
    if (this.isShuttingDown && !this.isClosed && this.streams.size === 0 && this.pending.size === 0) this.close(H3_NO_ERROR);
  }

  private checkOpen(): void {
    if (this.isClosed) throw new MasqueError('ERR_H3_CLOSED', 'h3: connection is closed');
  }

  /** Runs `fn`; a thrown error becomes a connection error. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.fail(e);
    }
  }

  /** Runs `fn`; stream errors abort `req`, peer STOP_SENDING ends its writes, others fail the connection. */
  private guardStream(req: RequestStream, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (e instanceof H3Error && !e.isConnectionError) this.abort(req, e.h3Code, true, e.h3Code);
      else if (isMasqueError(e) && e.code === 'ERR_QUIC_STREAM_STOPPED') this.onStopped(req, (e as { appCode?: number }).appCode ?? 0);
      else this.fail(e);
    }
  }

  /** The peer sent STOP_SENDING: our writes on this stream are over (RFC 9000 §3.5). */
  private onStopped(req: RequestStream, code: number): void {
    req.send.clear();
    req.send.isEnded = true;
    req.send.isFinSent = true;
    this.pending.delete(req.id);
    this.t.streamShutdown(req.id, 'write', code);
    this.emit({ type: 'reset', streamId: req.id, code, isLocal: false });
  }

  /** A connection error: close with its code (RFC 9114 §8) and report it once. */
  private fail(e: unknown): void {
    if (this.isClosed) return;
    let err: H3Error;
    if (e instanceof H3Error) err = e;
    else if (isMasqueError(e) && e.code === 'ERR_QUIC_STREAM_STOPPED') {
      // Only our critical streams get here: the peer stopped one (§6.2.1).
      err = new H3Error(H3_CLOSED_CRITICAL_STREAM, 'h3: peer stopped a critical stream', true, { cause: e });
    } else err = new H3Error(H3_INTERNAL_ERROR, 'h3: internal error', true, { cause: e });
    this.isClosed = true;
    this.t.close(true, err.h3Code, err.message.slice(0, 100));
    this.emit({ type: 'closed', error: err });
  }
}

/** Where the HTTP Datagram Payload starts in a QUIC DATAGRAM (after the Quarter Stream ID). */
export function datagramPayloadOffset(d: Uint8Array): number {
  return varintLenFromFirstByte(d[0]);
}
