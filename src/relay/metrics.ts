/**
 * Prometheus metrics for the relay (prom-client), served on a separate local HTTP listener
 * so the data port never speaks HTTP/1. Labels never carry addresses or keys: an operator's
 * dashboard must not become a log of who talked to whom.
 *
 * Counters that live inside the proxies (bytes, packets, drops) are read at scrape time
 * through `sample()`, so the data path pays nothing per packet for metrics.
 */
import http from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { MasqueError } from '../core/errors.js';
import type { HostPort } from '../quic/path.js';

export type SessionKind = 'connect-udp' | 'connect-ip';

/** What the relay reports at scrape time. */
export interface RelaySample {
  sessions: Record<SessionKind, number>;
  /** Bytes/packets by kind and direction ('up' = client → target, 'down' = target → client). */
  bytes: Record<SessionKind, { up: number; down: number }>;
  packets: Record<SessionKind, { up: number; down: number }>;
  /** Dropped packets by reason (stable labels such as 'spoofed_source', 'policy', 'unknown_context'). */
  drops: Record<string, number>;
  /** CONNECT-UDP packets that went in forwarded mode (also counted in `packets`). */
  forwarded?: { up: number; down: number };
  /** The egress TUN's offloaded reads: super-segments read, and the packets cut from them. */
  tunOffload?: { superSegments: number; segments: number };
}

export class RelayMetrics {
  readonly registry = new Registry();
  private readonly connections: Gauge;
  private readonly connectionsTotal: Counter;
  private readonly authFailures: Counter;
  private readonly requests: Counter;
  private readonly connectLatency: Histogram;
  private server?: http.Server;

  constructor(role: string, sample: () => RelaySample) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ role });
    // The event-loop lag histogram samples on a native timer; prom-client's default (10 ms)
    // woke an idle relay 100 times a second. 500 ms still shows a stalled loop.
    collectDefaultMetrics({ register: this.registry, prefix: 'masque_relay_process_', eventLoopMonitoringPrecision: 500 });
    this.connections = new Gauge({ name: 'masque_relay_connections', help: 'Open QUIC connections', registers });
    this.connectionsTotal = new Counter({ name: 'masque_relay_connections_total', help: 'QUIC connections accepted', registers });
    this.authFailures = new Counter({ name: 'masque_relay_auth_failures_total', help: 'Refused authentications by reason', labelNames: ['reason'], registers });
    this.requests = new Counter({ name: 'masque_relay_requests_total', help: 'Extended CONNECT requests by kind and status', labelNames: ['kind', 'status'], registers });
    this.connectLatency = new Histogram({
      name: 'masque_relay_connect_latency_seconds', help: 'Time from request to response', labelNames: ['kind'], registers,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    });
    const gaugeFrom = (name: string, help: string, labelNames: string[], fill: (g: Gauge, s: RelaySample) => void) =>
      new Gauge({ name, help, labelNames, registers, collect() { fill(this, sample()); } });
    gaugeFrom('masque_relay_sessions', 'Live proxy sessions by kind', ['kind'], (g, s) => {
      for (const [k, v] of Object.entries(s.sessions)) g.set({ kind: k }, v);
    });
    // Exposed as counters' values through gauges set at scrape time (monotonic in practice).
    gaugeFrom('masque_relay_bytes_total', 'Payload bytes by kind and direction', ['kind', 'direction'], (g, s) => {
      for (const [k, v] of Object.entries(s.bytes)) for (const d of ['up', 'down'] as const) g.set({ kind: k, direction: d }, v[d]);
    });
    gaugeFrom('masque_relay_packets_total', 'Packets by kind and direction', ['kind', 'direction'], (g, s) => {
      for (const [k, v] of Object.entries(s.packets)) for (const d of ['up', 'down'] as const) g.set({ kind: k, direction: d }, v[d]);
    });
    gaugeFrom('masque_relay_forwarded_packets_total', 'CONNECT-UDP packets passed in QUIC-aware forwarded mode, by direction',
      ['direction'], (g, s) => {
        if (!s.forwarded) return;
        for (const d of ['up', 'down'] as const) g.set({ direction: d }, s.forwarded[d]);
      });
    gaugeFrom('masque_relay_drops_total', 'Dropped packets by reason', ['reason'], (g, s) => {
      for (const [r, v] of Object.entries(s.drops)) g.set({ reason: r }, v);
    });
    gaugeFrom('masque_relay_tun_offload_total', 'Egress TUN reads that came as TCP/UDP super-segments, and the packets cut from them',
      ['kind'], (g, s) => {
        if (!s.tunOffload) return;
        g.set({ kind: 'super_segments' }, s.tunOffload.superSegments);
        g.set({ kind: 'segments' }, s.tunOffload.segments);
      });
  }

  connectionOpened(): void {
    this.connections.inc();
    this.connectionsTotal.inc();
  }

  connectionClosed(): void {
    this.connections.dec();
  }

  authFailed(reason: string): void {
    this.authFailures.inc({ reason });
  }

  requestDone(kind: string, status: number, seconds: number): void {
    this.requests.inc({ kind, status: String(status) });
    if (status >= 200 && status < 300) this.connectLatency.observe({ kind }, seconds);
  }

  /** Serves GET /metrics on `addr` (keep it on loopback or a management network). */
  listen(addr: HostPort): Promise<HostPort> {
    this.server = http.createServer((req, res) => {
      if (req.method !== 'GET' || req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      this.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(body),
        () => res.writeHead(500).end(),
      );
    });
    const srv = this.server;
    return new Promise((resolve, reject) => {
      // A stable code beside ERR_QUIC_BIND: an operator's typo in `metrics` is not a crash.
      srv.once('error', (e: NodeJS.ErrnoException) =>
        reject(new MasqueError('ERR_RELAY_METRICS_BIND', `metrics: cannot listen on ${addr.host}:${addr.port} (${e.code ?? e.message})`, { cause: e })));
      srv.listen(addr.port, addr.host, () => {
        const a = srv.address() as { address: string; port: number };
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  close(): Promise<void> {
    const srv = this.server;
    this.server = undefined;
    return srv ? new Promise((r) => srv.close(() => r())) : Promise.resolve();
  }
}
