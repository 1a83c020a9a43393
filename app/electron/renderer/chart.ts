/**
 * The live throughput chart: up and down rates over the last 60 s on a <canvas>, redrawn on
 * each stats sample and once a second so the lines scroll even when samples stop. After every
 * draw the canvas carries `data-points` and `data-max-bps`, which the browser tests assert on
 * (DOM, not pixels).
 */
import { CHART_WINDOW_MS, type StatsSample } from '../shared/ipc-schema.js';
import { chartPoints, formatRate, niceCeil } from './format.js';

/** Line colours; the legend in index.html uses the same CSS variables. */
const UP_COLOR = '#5aa9ff';
const DOWN_COLOR = '#2eb85c';

export class ThroughputChart {
  private samples: StatsSample[] = [];
  private readonly ctx: CanvasRenderingContext2D;
  private timer: number | null = null;

  constructor(private readonly canvas: HTMLCanvasElement) {
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('canvas 2d context unavailable');
    this.ctx = ctx;
    this.timer = window.setInterval(() => this.draw(), 1000);
  }

  /** Replace all samples (snapshot on open). */
  reset(samples: StatsSample[]): void {
    this.samples = [...samples];
    this.draw();
  }

  add(sample: StatsSample): void {
    this.samples.push(sample);
    const cutoff = sample.t - CHART_WINDOW_MS - 2000;
    while (this.samples.length > 0 && this.samples[0]!.t < cutoff) this.samples.shift();
    this.draw();
  }

  dispose(): void {
    if (this.timer !== null) window.clearInterval(this.timer);
  }

  /** Scale the backing store to the device pixel ratio so lines stay crisp. */
  private fit(): { w: number; h: number } {
    const dpr = window.devicePixelRatio || 1;
    const w = this.canvas.clientWidth || 360;
    const h = this.canvas.clientHeight || 120;
    if (this.canvas.width !== Math.round(w * dpr) || this.canvas.height !== Math.round(h * dpr)) {
      this.canvas.width = Math.round(w * dpr);
      this.canvas.height = Math.round(h * dpr);
    }
    this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return { w, h };
  }

  draw(): void {
    const { w, h } = this.fit();
    const ctx = this.ctx;
    // Anchor "now" to the newest sample, not the page clock: the daemon's clock is the truth.
    const last = this.samples[this.samples.length - 1];
    const now = last ? Math.max(last.t, Date.now() - 1500) : Date.now();
    const visible = this.samples.filter((s) => s.t >= now - CHART_WINDOW_MS);
    const max = niceCeil(Math.max(1000, ...visible.map((s) => Math.max(s.upBps, s.downBps))));
    const plotH = h - 16;

    ctx.clearRect(0, 0, w, h);
    ctx.strokeStyle = 'rgba(255,255,255,0.08)';
    ctx.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const y = Math.round((plotH * i) / 4) + 0.5;
      ctx.beginPath();
      ctx.moveTo(0, y);
      ctx.lineTo(w, y);
      ctx.stroke();
    }
    ctx.fillStyle = 'rgba(255,255,255,0.45)';
    ctx.font = '10px system-ui, sans-serif';
    ctx.fillText(formatRate(max), 4, 11);
    ctx.fillText('60 s', 4, h - 3);
    ctx.fillText('now', w - 24, h - 3);

    const line = (values: { t: number; v: number }[], color: string): void => {
      const pts = chartPoints(values, now, CHART_WINDOW_MS, w, plotH, max);
      if (pts.length === 0) return;
      ctx.beginPath();
      pts.forEach((p, i) => (i === 0 ? ctx.moveTo(p.x, p.y) : ctx.lineTo(p.x, p.y)));
      ctx.strokeStyle = color;
      ctx.lineWidth = 2;
      ctx.stroke();
      // A soft fill under the line makes small rates readable.
      ctx.lineTo(pts[pts.length - 1]!.x, plotH);
      ctx.lineTo(pts[0]!.x, plotH);
      ctx.closePath();
      ctx.fillStyle = color + '22';
      ctx.fill();
    };
    line(visible.map((s) => ({ t: s.t, v: s.downBps })), DOWN_COLOR);
    line(visible.map((s) => ({ t: s.t, v: s.upBps })), UP_COLOR);

    this.canvas.dataset.points = String(visible.length);
    this.canvas.dataset.maxBps = String(Math.max(0, ...visible.map((s) => Math.max(s.upBps, s.downBps))));
  }
}
