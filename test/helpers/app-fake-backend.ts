/**
 * FakeBackend with live-looking counters for the tray app tests: while connected, bytes grow
 * at a varying rate (≈ 2–4 Mbit/s down, a tenth of that up) and the RTT wobbles, so the
 * throughput chart has something to draw. `failNow()` forces the error state.
 */
import type { TunnelStats } from '../../src/control/schema.js';
import { FakeBackend, type FakeBackendOptions } from './fake-backend.js';

export class LiveFakeBackend extends FakeBackend {
  private since = 0;
  private down = 0;
  private up = 0;
  private lastT = 0;

  constructor(opts: FakeBackendOptions = {}) {
    super(opts);
    this.subscribe((ev) => {
      if (ev.type === 'state' && ev.state.state === 'connected') {
        this.since = Date.now();
        this.lastT = this.since;
        this.down = 0;
        this.up = 0;
      }
    });
  }

  override stats(): TunnelStats {
    const base = super.stats();
    if (this.status().state !== 'connected') return base;
    const now = Date.now();
    const dtS = (now - this.lastT) / 1000;
    this.lastT = now;
    // Integrate a smooth rate so consecutive samples differ (the chart must move).
    const downBps = 3_000_000 + 1_000_000 * Math.sin(now / 1500);
    this.down += (downBps / 8) * dtS;
    this.up += (downBps / 80) * dtS;
    return { ...base, bytesDown: Math.round(this.down), bytesUp: Math.round(this.up), rttMs: 20 + 5 * Math.sin(now / 700), uptimeMs: now - this.since };
  }

  /** Put the tunnel into `error` as a failing engine would. */
  failNow(code = 'ERR_TUNNEL_HANDSHAKE', message = 'egress relay rejected the handshake'): void {
    this.setState({ state: 'error', code, message });
  }
}
