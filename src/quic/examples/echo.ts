/**
 * A complete example protocol over the QUIC core (ALPN "echo"): the server echoes every
 * stream back (with FIN when the client sends FIN) and every DATAGRAM back. It shows the
 * whole ApplicationOverQuic contract in a few lines: read in processReads, write in
 * processWrites with back-pressure, react to onClosed. Used by tests and bench:quic.
 */
import type { QuicApp, QuicConnHandle } from '../app.js';

interface Pending {
  data: Uint8Array[];
  fin: boolean;
}

/** Server side: echoes streams and datagrams. One instance per connection. */
export class EchoServerApp implements QuicApp {
  private readonly buf = new Uint8Array(65536);
  private readonly out = new Map<number, Pending>();

  processReads(conn: QuicConnHandle): void {
    for (const id of conn.readableStreams()) {
      for (;;) {
        let r;
        try {
          r = conn.streamRecv(id, this.buf);
        } catch {
          break; // reset by the peer: nothing to echo
        }
        if (!r) break;
        const p = this.out.get(id) ?? { data: [], fin: false };
        if (r[0]) p.data.push(this.buf.slice(0, r[0]));
        p.fin ||= r[1];
        this.out.set(id, p);
        if (r[1]) break;
      }
    }
    for (let n = conn.dgramRecv(this.buf); n !== null; n = conn.dgramRecv(this.buf)) {
      conn.dgramSend(this.buf.subarray(0, n));
    }
  }

  processWrites(conn: QuicConnHandle): void {
    for (const [id, p] of this.out) {
      while (p.data.length) {
        const chunk = p.data[0];
        const isLast = p.data.length === 1 && p.fin;
        const n = conn.streamSend(id, chunk, isLast);
        if (n === null || n === 0 && chunk.length > 0) break; // flow control: retry next turn
        if (n < chunk.length) {
          p.data[0] = chunk.subarray(n);
          break;
        }
        p.data.shift();
        if (isLast) p.fin = false;
      }
      if (p.data.length === 0 && !p.fin) this.out.delete(id);
      else if (p.data.length === 0 && p.fin) {
        conn.streamSend(id, new Uint8Array(0), true);
        this.out.delete(id);
      }
    }
  }
}

/** Client side helper: collects what comes back. */
export class EchoClientApp implements QuicApp {
  readonly received = new Map<number, { bytes: number; chunks: Uint8Array[]; fin: boolean }>();
  readonly dgrams: Uint8Array[] = [];
  dgramCount = 0;
  keepDgrams = true;
  private readonly buf = new Uint8Array(65536);
  onEstablishedCb?: (c: QuicConnHandle) => void;
  onReadCb?: (c: QuicConnHandle) => void;
  onClosedCb?: QuicApp['onClosed'];
  processWrites?: (c: QuicConnHandle) => void;

  onEstablished(c: QuicConnHandle): void {
    this.onEstablishedCb?.(c);
  }

  processReads(conn: QuicConnHandle): void {
    for (const id of conn.readableStreams()) {
      const s = this.received.get(id) ?? { bytes: 0, chunks: [], fin: false };
      this.received.set(id, s);
      for (;;) {
        let r;
        try {
          r = conn.streamRecv(id, this.buf);
        } catch {
          break;
        }
        if (!r) break;
        s.bytes += r[0];
        if (r[0] && s.chunks.length < 1024) s.chunks.push(this.buf.slice(0, r[0]));
        if (r[1]) {
          s.fin = true;
          break;
        }
      }
    }
    for (let n = conn.dgramRecv(this.buf); n !== null; n = conn.dgramRecv(this.buf)) {
      this.dgramCount++;
      if (this.keepDgrams) this.dgrams.push(this.buf.slice(0, n));
    }
    this.onReadCb?.(conn);
  }

  onClosed: QuicApp['onClosed'] = (c, info) => this.onClosedCb?.(c, info);
}
