// What a path adds to the idle RTT over another, from the interleaved rounds of
// interleavedIdleRtt (measure.ts). The box's state drifts by ±0.3 ms between minutes
// (docs/benchmarks.md), so the difference of two overall medians mixes that drift with the
// paths' difference. Within one round the two paths' pings are seconds apart: the per-round
// difference of their medians cancels the drift, and the spread of those differences over the
// rounds says how sure the run is of the answer.
import { mulberry32 } from '../../src/core/prng.js';
import { median } from './measure.js';

/** The paired difference of path A over path B, in ms. */
export interface PairedDiff {
  /** Median over rounds of (A's median in the round − B's median in the round). */
  medianMs: number;
  /** 95 % percentile-bootstrap interval of that median, resampling rounds. */
  loMs: number;
  hiMs: number;
  rounds: number;
}

const RESAMPLES = 2000;

/**
 * `a[i]` and `b[i]` are the ping times of round i for each path. Rounds where either path got
 * no reply are left out (a lost ping is not a time). The bootstrap uses a fixed seed so the
 * same data prints the same interval.
 */
export function pairedDiff(a: readonly number[][], b: readonly number[][]): PairedDiff {
  const d: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i]!.length && b[i]!.length) d.push(median(a[i]!) - median(b[i]!));
  }
  if (d.length === 0) return { medianMs: Number.NaN, loMs: Number.NaN, hiMs: Number.NaN, rounds: 0 };
  const rand = mulberry32(0x9484);
  const meds = new Float64Array(RESAMPLES);
  const pick = new Array<number>(d.length);
  for (let r = 0; r < RESAMPLES; r++) {
    for (let j = 0; j < d.length; j++) pick[j] = d[Math.floor(rand() * d.length)]!;
    meds[r] = median(pick);
  }
  meds.sort();
  return {
    medianMs: median(d),
    loMs: meds[Math.floor(RESAMPLES * 0.025)]!,
    hiMs: meds[Math.ceil(RESAMPLES * 0.975) - 1]!,
    rounds: d.length,
  };
}
