/**
 * Number formatting for the window. DOM-free, so the unit tests can import it under Node.
 */

/** Bits per second as "12.3 Mbit/s" (SI units: network rates are decimal). */
export function formatRate(bps: number): string {
  const units = ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s'];
  let v = bps;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

/** Bytes as "1.5 MiB" (binary units: data totals are counted in bytes). */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** Milliseconds as "1 h 02 min", "3 min 05 s" or "42 s". */
export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (x: number): string => String(x).padStart(2, '0');
  if (h > 0) return `${h} h ${pad(m)} min`;
  if (m > 0) return `${m} min ${pad(s % 60)} s`;
  return `${s} s`;
}

/** Parse a comma/space/newline separated list, dropping empties. */
export function parseList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * Chart geometry: map samples (t, value) in the window [now − spanMs, now] to pixel points in
 * a w×h box, y growing down, scaled to `max` (≥ 1 so an idle line sits on the floor).
 */
export function chartPoints(samples: { t: number; v: number }[], now: number, spanMs: number, w: number, h: number, max: number): { x: number; y: number }[] {
  const top = Math.max(1, max);
  return samples
    .filter((s) => s.t >= now - spanMs)
    .map((s) => ({ x: ((s.t - (now - spanMs)) / spanMs) * w, y: h - (Math.min(s.v, top) / top) * h }));
}

/** A "nice" axis top ≥ v: 1, 2 or 5 × 10^k. */
export function niceCeil(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
