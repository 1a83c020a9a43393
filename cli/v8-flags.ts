/**
 * V8 allocates a function's feedback vector on its first call, not after its bytecode has run
 * for a while (`--no-lazy-feedback-allocation`), in every relay-cli process. Imported first by
 * main.ts, so it is set before any other module's functions exist.
 *
 * Why: until a function has its feedback vector, each of its property loads and calls takes
 * V8's generic no-feedback path. `--log-ic` on a client during its first pings showed most of
 * its inline-cache events in that state, in the first few dozen packets after connect. With
 * this flag the first 100 pings through a fresh one-hop tunnel answered faster in 6 of 6
 * alternating lab rounds (mean of the medians 1.29 vs 1.56 ms; docs/benchmarks.md). It costs
 * 3–6 MB RSS per process. It does not lower V8's thresholds for optimizing (those were tried
 * and dropped: they cost the two-hop client throughput).
 *
 * Node calls flag changes after start-up unsupported in general; this one is read each time a
 * closure is created, which is why setting it here works (test/unit/cli/v8-flags.test.ts).
 * MASQUE_EAGER_FEEDBACK=0 keeps V8's default.
 */
import v8 from 'node:v8';

if (process.env.MASQUE_EAGER_FEEDBACK !== '0') v8.setFlagsFromString('--no-lazy-feedback-allocation');
