/**
 * The unidirectional side of an HTTP/3 connection: our control and QPACK streams, and the
 * peer's (RFC 9114 §6.2, RFC 9204 §4.2). Decides the connection errors of §6.2.1 and §7.2.
 *
 * Sans-IO: writes go through SendQueues on the transport; errors are thrown as H3Error.
 */
import { Writer } from '../wire/writer.js';
import {
  H3Error, H3_CLOSED_CRITICAL_STREAM, H3_ID_ERROR, H3_STREAM_CREATION_ERROR,
} from './errors.js';
import {
  H3_STREAM_CONTROL, H3_STREAM_PUSH, H3_STREAM_QPACK_DECODER, H3_STREAM_QPACK_ENCODER,
  encodeFrame, greaseCodepoint, type H3Frame,
} from './frame.js';
import { type H3Settings, settingsFromEntries, settingsToEntries } from './settings.js';
import { StreamParser } from './stream.js';
import { SendQueue, type StreamSink } from './send-queue.js';

/** What the uni-stream side reports to its connection. */
export interface ControlHandler {
  onSettings(settings: H3Settings): void;
  onGoaway(id: number): void;
  onEncoderStreamBytes(bytes: Uint8Array): void;
  onDecoderStreamBytes(bytes: Uint8Array): void;
  /** Abort reading an ignored stream (RFC 9114 §6.2: H3_STREAM_CREATION_ERROR). */
  stopReading(streamId: number, code: number): void;
}

/** Our three unidirectional streams (ids are the first three of our role, RFC 9000 §2.1). */
export class LocalUniStreams {
  readonly control: SendQueue;
  readonly encoder: SendQueue;
  readonly decoder: SendQueue;

  constructor(isServer: boolean) {
    const base = isServer ? 3 : 2;
    this.control = new SendQueue(base);
    this.encoder = new SendQueue(base + 4);
    this.decoder = new SendQueue(base + 8);
  }

  /**
   * Opens the three streams: the control stream starts with SETTINGS (§6.2.1), plus one
   * grease setting (§7.2.4.1) when `greaseN` is given.
   */
  open(sink: StreamSink, settings: H3Settings, greaseN: number | null): void {
    const w = new Writer(64);
    w.varint(H3_STREAM_CONTROL);
    const grease = greaseN === null ? undefined : { id: greaseCodepoint(greaseN), value: greaseN & 0xff };
    encodeFrame(w, { type: 'settings', settings: settingsToEntries(settings, grease) });
    this.control.write(sink, w.finish(), false);
    this.encoder.write(sink, Uint8Array.of(H3_STREAM_QPACK_ENCODER), false);
    this.decoder.write(sink, Uint8Array.of(H3_STREAM_QPACK_DECODER), false);
  }

  /** Sends a control frame (GOAWAY). */
  sendControlFrame(sink: StreamSink, f: H3Frame): void {
    const w = new Writer(16);
    encodeFrame(w, f);
    this.control.write(sink, w.finish(), false);
  }

  queues(): SendQueue[] {
    return [this.control, this.encoder, this.decoder];
  }
}

/** The peer's unidirectional streams. */
export class PeerUniStreams {
  private readonly parsers = new Map<number, StreamParser>();
  /** Stream ids of the peer's control, encoder, decoder streams (-1 until opened). */
  private controlId = -1;
  private encoderId = -1;
  private decoderId = -1;
  /** Last GOAWAY id received (§5.2: must not increase). */
  private goawayId = Infinity;

  constructor(private readonly isServer: boolean, private readonly h: ControlHandler) {}

  /** True if `streamId` is one of the peer's critical streams. */
  isCritical(streamId: number): boolean {
    return streamId === this.controlId || streamId === this.encoderId || streamId === this.decoderId;
  }

  /** Bytes (and/or FIN) on a peer unidirectional stream. Throws H3Error (connection errors). */
  feed(streamId: number, bytes: Uint8Array, fin: boolean): void {
    let p = this.parsers.get(streamId);
    if (!p) {
      p = new StreamParser({ kind: 'uni', isServer: this.isServer, maxHeadersBytes: 0 });
      this.parsers.set(streamId, p);
    }
    p.feed(bytes);
    for (let item = p.next(); item !== null; item = p.next()) {
      if (item.kind === 'streamType') this.onStreamType(streamId, p, item.streamType);
      else if (item.kind === 'frame') this.onControlFrame(item.frame);
      else if (item.kind === 'qpack') {
        if (streamId === this.encoderId) this.h.onEncoderStreamBytes(item.bytes);
        else this.h.onDecoderStreamBytes(item.bytes);
      }
    }
    if (fin) this.onEnd(streamId, p);
  }

  /** The peer reset one of its uni streams. */
  reset(streamId: number): void {
    if (this.isCritical(streamId)) {
      throw new H3Error(H3_CLOSED_CRITICAL_STREAM, `h3: peer reset critical stream ${streamId}`);
    }
    this.parsers.delete(streamId);
  }

  private onEnd(streamId: number, p: StreamParser): void {
    // §6.2.1 / RFC 9204 §4.2: closing a critical stream is a connection error.
    if (this.isCritical(streamId)) {
      throw new H3Error(H3_CLOSED_CRITICAL_STREAM, `h3: peer closed critical stream ${streamId}`);
    }
    if (p.state !== 'drain') p.finish();
    this.parsers.delete(streamId);
  }

  private onStreamType(streamId: number, p: StreamParser, t: number): void {
    switch (t) {
      case H3_STREAM_CONTROL:
        this.claim('controlId', streamId, 'control');
        return;
      case H3_STREAM_QPACK_ENCODER:
        this.claim('encoderId', streamId, 'QPACK encoder');
        return;
      case H3_STREAM_QPACK_DECODER:
        this.claim('decoderId', streamId, 'QPACK decoder');
        return;
      case H3_STREAM_PUSH:
        // §6.2.2: only servers push; a client that never sent MAX_PUSH_ID sees an ID error (§4.6).
        if (this.isServer) throw new H3Error(H3_STREAM_CREATION_ERROR, 'h3: push stream from a client');
        throw new H3Error(H3_ID_ERROR, 'h3: push stream but MAX_PUSH_ID was never sent');
      default:
        // §6.2: unknown (and grease, §6.2.3) stream types are ignored; abort reading them.
        p.drain();
        this.h.stopReading(streamId, H3_STREAM_CREATION_ERROR);
    }
  }

  /** §6.2.1 / RFC 9204 §4.2: at most one stream of each critical type. */
  private claim(key: 'controlId' | 'encoderId' | 'decoderId', streamId: number, what: string): void {
    if (this[key] !== -1) throw new H3Error(H3_STREAM_CREATION_ERROR, `h3: second ${what} stream`);
    this[key] = streamId;
  }

  private onControlFrame(f: H3Frame): void {
    switch (f.type) {
      case 'settings':
        this.h.onSettings(settingsFromEntries(f.settings));
        return;
      case 'goaway':
        // §5.2: from a server the id is a client-initiated bidirectional stream id.
        if (!this.isServer && f.id % 4 !== 0) throw new H3Error(H3_ID_ERROR, `h3: GOAWAY id ${f.id} is not a request stream`);
        if (f.id > this.goawayId) throw new H3Error(H3_ID_ERROR, 'h3: GOAWAY id increased');
        this.goawayId = f.id;
        this.h.onGoaway(f.id);
        return;
      case 'cancel_push':
        // §7.2.3: we never promise (server) nor allow (client) a push, so every push id is unknown.
        throw new H3Error(H3_ID_ERROR, `h3: CANCEL_PUSH for push ${f.pushId}, push is never used`);
      case 'max_push_id':
        return; // server: we never push, so the limit does not matter (§4.6)
      default:
        return; // unknown frames are skipped by the parser (§9)
    }
  }
}
