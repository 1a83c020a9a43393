/**
 * ServerH3Driver: the server role of H3Driver (tokio-quiche's ServerH3Driver).
 *
 * One instance per QUIC connection: return `new ServerH3Driver({ onRequest })` from the
 * endpoint's `onConnection`. Requests arrive validated (RFC 9114 §4.3.1; extended CONNECT
 * only when `settings.enableConnectProtocol` is set, RFC 9220 §3 — otherwise a `:protocol`
 * request is reset with H3_MESSAGE_ERROR before onRequest sees it).
 */
import { H3Driver, type H3DriverOptions } from './driver.js';
import { H3Stream } from './h3-stream.js';
import type { H3Event } from './events.js';
import type { FieldLine } from './qpack/types.js';
import { H3_INTERNAL_ERROR } from './errors.js';

export interface ServerH3DriverOptions extends H3DriverOptions {
  /**
   * A request arrived. Set `stream.handler` before returning to receive its body,
   * capsules and datagrams; respond now or later with `stream.respond(…)`.
   * An exception thrown here resets the stream with H3_INTERNAL_ERROR.
   */
  onRequest(stream: H3Stream, fields: FieldLine[]): void;
  /** The client sent GOAWAY. */
  onGoaway?(id: number): void;
}

export class ServerH3Driver extends H3Driver {
  private readonly onRequestHook: ServerH3DriverOptions['onRequest'];
  private readonly onGoawayHook: ServerH3DriverOptions['onGoaway'];

  constructor(opts: ServerH3DriverOptions) {
    const { onRequest, onGoaway, ...rest } = opts;
    super(true, rest);
    this.onRequestHook = onRequest;
    this.onGoawayHook = onGoaway;
  }

  protected override onRequestEvent(ev: Extract<H3Event, { type: 'request' }>): void {
    const s = new H3Stream(this, ev.streamId, ev.head);
    this.registerStream(s);
    try {
      this.onRequestHook(s, ev.fields);
    } catch {
      s.reset(H3_INTERNAL_ERROR); // the application failed, not the peer
    }
  }

  protected override onGoaway(id: number): void {
    this.onGoawayHook?.(id);
  }
}
