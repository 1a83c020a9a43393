/**
 * ClientH3Driver: the client role of H3Driver (tokio-quiche's ClientH3Driver).
 *
 * Usage: pass it as the `app` of `endpoint.connect(…)`, `await client.ready` (the server's
 * SETTINGS arrived), check `client.peerSettings`, then `client.request(fields)`.
 */
import { H3Driver, type H3DriverOptions } from './driver.js';
import { H3Stream, type H3StreamHandler } from './h3-stream.js';
import type { FieldLine } from './qpack/types.js';
import { validateRequest } from './message.js';

export interface H3RequestOptions {
  /** Send FIN right after the HEADERS (a request without a body). */
  endStream?: boolean;
  /** The stream's handler (can also be set on the returned stream before the next turn). */
  handler?: H3StreamHandler;
}

export class ClientH3Driver extends H3Driver {
  /** Called when the server sends GOAWAY (streams ≥ id are reset with H3_REQUEST_REJECTED). */
  onGoawayHook: ((id: number) => void) | null = null;

  constructor(opts: H3DriverOptions = {}) {
    super(false, opts);
  }

  /**
   * Sends a request. `fields` are in wire order, pseudo-headers first (RFC 9114 §4.3.1).
   * Throws H3Error H3_MESSAGE_ERROR for an invalid request, including `:protocol` before the
   * server enabled extended CONNECT (RFC 9220 §3: wait for `ready` first); H3Error
   * H3_REQUEST_REJECTED after GOAWAY; MasqueError ERR_H3_NOT_READY before the handshake,
   * ERR_H3_STREAMS_BLOCKED when the server allows no more streams now.
   */
  request(fields: FieldLine[], opts: H3RequestOptions = {}): H3Stream {
    const conn = this.conn;
    const id = conn.request(fields, opts.endStream ?? false);
    const head = validateRequest(fields, true);
    const s = new H3Stream(this, id, head);
    s.handler = opts.handler ?? null;
    this.registerStream(s);
    this.wake();
    return s;
  }

  protected override onGoaway(id: number): void {
    this.onGoawayHook?.(id);
  }
}
