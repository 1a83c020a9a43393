/**
 * Receive-side state of one request stream: the message sequence of RFC 9114 §4.1
 * (HEADERS, DATA*, optional trailing HEADERS; 1xx interim heads before the final one),
 * content-length (§4.1.2), QPACK blocking (RFC 9204 §2.1.2) and capsules (RFC 9297 §3).
 *
 * Sans-IO: the owning H3Conn feeds it through a `RequestContext` and sends nothing here.
 */
import type { FieldLine } from './qpack/types.js';
import type { H3Event } from './events.js';
import {
  H3Error, H3_FRAME_UNEXPECTED, H3_MESSAGE_ERROR, H3_REQUEST_INCOMPLETE,
} from './errors.js';
import { StreamParser } from './stream.js';
import { SendQueue } from './send-queue.js';
import {
  type RequestHead, contentLength, hasCapsuleProtocol, validateRequest, validateResponse, validateTrailers,
} from './message.js';
import { CapsuleParser } from './capsule.js';

/** What a RequestStream needs from its connection. */
export interface RequestContext {
  readonly isServer: boolean;
  /** Whether WE (the server) enabled extended CONNECT (RFC 9220 §3). */
  readonly isConnectProtocolEnabled: boolean;
  /** QPACK-decodes a field section; null = blocked on the encoder stream. */
  decodeFields(streamId: number, block: Uint8Array): FieldLine[] | null;
  emit(ev: H3Event): void;
}

/** Message phase on the receive side (§4.1). */
export type RecvPhase = 'head' | 'body' | 'trailers' | 'done';

/** One request stream (client or server side). Owned by H3Conn. */
export class RequestStream {
  readonly id: number;
  readonly parser: StreamParser;
  readonly send: SendQueue;
  phase: RecvPhase = 'head';
  /** Waiting for QPACK encoder-stream bytes before the next field section can be decoded. */
  isBlocked = false;
  /** FIN arrived but could not be processed yet (blocked). */
  isFinPending = false;
  /** Receive side over (FIN processed or stream aborted). */
  isRecvDone = false;
  /** The stream was aborted (by either side); nothing more is sent or delivered. */
  isAborted = false;
  /** Client: we sent an extended CONNECT with `capsule-protocol: ?1`. */
  isCapsuleRequested = false;
  /** Server: the validated request head. */
  requestHead: RequestHead | null = null;
  /** Non-null while DATA payloads are parsed as capsules (RFC 9297 §3.2). */
  capsules: CapsuleParser | null = null;
  /** Above the high-water mark since the last 'writable'. */
  isWriteBlocked = false;
  private contentLength = -1;
  private bodyBytes = 0;

  constructor(id: number, isServer: boolean, maxHeadersBytes: number) {
    this.id = id;
    this.parser = new StreamParser({ kind: 'request', isServer, maxHeadersBytes });
    this.send = new SendQueue(id);
  }

  /** True when both directions are over and the stream can be forgotten. */
  get isClosed(): boolean {
    return this.isAborted || (this.isRecvDone && this.send.isFinSent);
  }

  /**
   * Processes parsed items until blocked or out of bytes, then the pending FIN if any.
   * Throws H3Error (stream or connection error) for violations.
   */
  pump(ctx: RequestContext): void {
    while (!this.isBlocked && !this.isAborted) {
      const item = this.parser.next();
      if (item === null) break;
      if (item.kind === 'data') this.onData(ctx, item.bytes);
      else if (item.kind === 'frame' && item.frame.type === 'headers') this.onHeadersFrame(ctx, item.frame.block);
      // Unknown frames never reach here (skipped by the parser, RFC 9114 §9).
    }
    if (this.isFinPending && !this.isBlocked && !this.isAborted) this.onFin(ctx);
  }

  /** The peer's FIN: call after feeding the last bytes. */
  fin(ctx: RequestContext): void {
    this.isFinPending = true;
    this.pump(ctx);
  }

  /** QPACK unblocked this stream's pending field section. */
  unblocked(ctx: RequestContext, fields: FieldLine[]): void {
    this.isBlocked = false;
    this.onFields(ctx, fields);
    this.pump(ctx);
  }

  private onHeadersFrame(ctx: RequestContext, block: Uint8Array): void {
    // §4.1: HEADERS after trailers is an invalid frame sequence.
    if (this.phase === 'done' || this.phase === 'trailers') {
      throw new H3Error(H3_FRAME_UNEXPECTED, 'h3: HEADERS after trailers');
    }
    const fields = ctx.decodeFields(this.id, block);
    if (fields === null) {
      this.isBlocked = true;
      return;
    }
    this.onFields(ctx, fields);
  }

  private onFields(ctx: RequestContext, fields: FieldLine[]): void {
    if (this.phase === 'body') {
      const trailers = validateTrailers(fields);
      this.phase = 'trailers';
      ctx.emit({ type: 'trailers', streamId: this.id, fields: trailers });
      return;
    }
    if (ctx.isServer) this.onRequestHead(ctx, fields);
    else this.onResponseHead(ctx, fields);
  }

  private onRequestHead(ctx: RequestContext, fields: FieldLine[]): void {
    const head = validateRequest(fields, ctx.isConnectProtocolEnabled);
    this.contentLength = contentLength(head.fields);
    this.requestHead = head;
    this.phase = 'body';
    // RFC 9297 §3.2/§3.4: an extended CONNECT that declares the Capsule Protocol carries
    // capsules in its DATA frames from the start.
    if (head.method === 'CONNECT' && head.protocol !== undefined && hasCapsuleProtocol(head.fields)) {
      this.capsules = new CapsuleParser();
    }
    ctx.emit({ type: 'request', streamId: this.id, head, fields });
  }

  private onResponseHead(ctx: RequestContext, fields: FieldLine[]): void {
    const head = validateResponse(fields);
    if (head.status < 200) {
      // §4.5: 101 is not applicable to HTTP/3.
      if (head.status === 101) throw new H3Error(H3_MESSAGE_ERROR, 'h3: malformed message: 101 in HTTP/3', false);
      ctx.emit({ type: 'informational', streamId: this.id, head });
      return;
    }
    this.contentLength = contentLength(head.fields);
    this.phase = 'body';
    if (this.isCapsuleRequested && head.status < 300) this.capsules = new CapsuleParser();
    ctx.emit({ type: 'response', streamId: this.id, head, fields });
  }

  private onData(ctx: RequestContext, bytes: Uint8Array): void {
    // §4.1: DATA before the (final) HEADERS or after trailers is an invalid sequence.
    if (this.phase !== 'body') throw new H3Error(H3_FRAME_UNEXPECTED, `h3: DATA in phase ${this.phase}`);
    this.bodyBytes += bytes.length;
    if (this.contentLength >= 0 && this.bodyBytes > this.contentLength) {
      throw new H3Error(H3_MESSAGE_ERROR, 'h3: malformed message: body longer than content-length', false);
    }
    const caps = this.capsules;
    if (caps === null) {
      ctx.emit({ type: 'data', streamId: this.id, bytes });
      return;
    }
    caps.push(bytes);
    for (let c = nextCapsule(caps); c !== null; c = nextCapsule(caps)) {
      ctx.emit({ type: 'capsule', streamId: this.id, capsuleType: c.type, value: c.value });
    }
  }

  private onFin(ctx: RequestContext): void {
    this.isFinPending = false;
    this.parser.finish(); // a cut frame → H3_FRAME_ERROR (§7.1)
    if (this.phase === 'head') {
      // §4.1: a request stream that ends before a complete request; a response likewise.
      if (ctx.isServer) throw new H3Error(H3_REQUEST_INCOMPLETE, 'h3: request stream ended before HEADERS', false);
      throw new H3Error(H3_MESSAGE_ERROR, 'h3: malformed message: response stream ended before HEADERS', false);
    }
    if (this.contentLength >= 0 && this.bodyBytes !== this.contentLength) {
      throw new H3Error(H3_MESSAGE_ERROR, 'h3: malformed message: body shorter than content-length', false);
    }
    if (this.capsules !== null) {
      // RFC 9297 §3.3: a capsule cut by the end of the stream makes the message malformed.
      try {
        this.capsules.finish();
      } catch (e) {
        throw new H3Error(H3_MESSAGE_ERROR, 'h3: malformed message: capsule truncated by FIN', false, { cause: e });
      }
    }
    this.phase = 'done';
    this.isRecvDone = true;
    ctx.emit({ type: 'end', streamId: this.id });
  }
}

/** A capsule, with capsule-codec errors mapped to H3_MESSAGE_ERROR (RFC 9297 §3.3). */
function nextCapsule(caps: CapsuleParser): { type: number; value: Uint8Array } | null {
  try {
    return caps.next();
  } catch (e) {
    throw new H3Error(H3_MESSAGE_ERROR, 'h3: malformed message: bad capsule', false, { cause: e });
  }
}
