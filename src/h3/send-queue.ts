/**
 * Outbound buffering for one QUIC stream: what flow control did not accept yet.
 *
 * Writes go straight to the transport while nothing is queued; whatever it refuses is
 * copied into the queue (so callers may reuse their buffers at once) and retried by
 * `flush()` from the driver's processWrites. Order is preserved; a FIN is sent after the
 * last byte. Sans-IO: the transport is an interface.
 */
import type { QuicConnHandle } from '../quic/app.js';

/** The subset of the QUIC handle the H3 layer writes through. */
export type StreamSink = Pick<QuicConnHandle, 'streamSend'>;

const EMPTY = new Uint8Array(0);

export class SendQueue {
  /** Bytes queued and not yet accepted by the transport. */
  bufferedBytes = 0;
  /** True once a FIN has been handed to the transport (nothing more may be written). */
  isFinSent = false;
  /** True once write(…, fin=true) was called (the FIN may still be queued). */
  isEnded = false;
  private chunks: Uint8Array[] = [];
  private isFinQueued = false;

  constructor(readonly streamId: number) {}

  /** True when nothing is waiting (data or FIN). */
  get isIdle(): boolean {
    return this.chunks.length === 0 && !this.isFinQueued;
  }

  /**
   * Sends `data` (then FIN if `fin`) now if possible, queueing the rest. Throws whatever the
   * transport throws for a stopped/closed stream.
   */
  write(sink: StreamSink, data: Uint8Array, fin: boolean): void {
    if (this.isEnded) throw new Error('h3: write after end of stream');
    if (fin) this.isEnded = true;
    if (this.chunks.length === 0 && !this.isFinQueued && (data.length > 0 || fin)) {
      const r = sink.streamSend(this.streamId, data, fin);
      // null: nothing accepted (not even a bare FIN); a FIN counts only with all the data.
      if (r !== null && r === data.length) {
        if (fin) this.isFinSent = true;
        return;
      }
      data = data.subarray(r ?? 0);
    }
    if (data.length > 0) {
      this.chunks.push(data.slice());
      this.bufferedBytes += data.length;
    }
    if (fin) this.isFinQueued = true;
  }

  /**
   * Retries queued bytes. Returns true when the queue is empty afterwards.
   * Throws whatever the transport throws for a stopped/closed stream.
   */
  flush(sink: StreamSink): boolean {
    while (this.chunks.length > 0) {
      const c = this.chunks[0];
      const isLast = this.chunks.length === 1;
      const fin = isLast && this.isFinQueued;
      const n = sink.streamSend(this.streamId, c, fin) ?? 0;
      this.bufferedBytes -= n;
      if (n < c.length) {
        this.chunks[0] = c.subarray(n);
        return false;
      }
      this.chunks.shift();
      if (fin) {
        this.isFinQueued = false;
        this.isFinSent = true;
      }
    }
    if (this.isFinQueued) {
      // A bare FIN: quiche accepts an empty write with fin once the stream has room.
      if (sink.streamSend(this.streamId, EMPTY, true) === null) return false;
      this.isFinQueued = false;
      this.isFinSent = true;
    }
    return true;
  }

  /** Drops everything queued (after a reset or STOP_SENDING). */
  clear(): void {
    this.chunks = [];
    this.bufferedBytes = 0;
    this.isFinQueued = false;
  }
}
