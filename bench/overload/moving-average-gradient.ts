/**
 * The straw man of the gradient algorithm: the same rule, with the no-load latency taken as a long moving
 * average of the windows' latencies (as Netflix's Gradient2 keeps its long-term RTT) instead of anchored by
 * probes. The simulation shows why dspu does not do this: under sustained queueing the average climbs with the
 * queue, the gradient reads 1, and the limit climbs to maxLimit.
 */
import type {
  LimitAlgorithm,
  LimitState,
} from '../../src/patterns/concurrency/adaptive/limit-algorithm.js';

/** The straw man's state: its limit and the moving average it compares windows with. */
export interface MovingAverageState extends LimitState {
  readonly averageRtt: number;
}

/** Options of the straw man. */
export interface MovingAverageOptions {
  readonly minLimit: number;
  readonly maxLimit: number;
  readonly smoothing: number;
  /** Windows the average spans (Gradient2 averages 600 samples; a window holds 10). */
  readonly windows: number;
}

export const movingAverageGradient: LimitAlgorithm<MovingAverageState, MovingAverageOptions> = {
  initial: (limit) => ({ limit, averageRtt: NaN }),
  next(state, window, options) {
    let average = Number.isNaN(state.averageRtt)
      ? window.meanRtt
      : state.averageRtt + (window.meanRtt - state.averageRtt) / options.windows;
    // Gradient2 pulls the average down when it is far above the window (load went away).
    if (average / window.meanRtt > 2) average *= 0.9;
    const gradient = Math.min(1, Math.max(0.5, average / window.meanRtt));
    const target = state.limit * gradient + Math.sqrt(state.limit);
    let limit = state.limit;
    if (target < limit || window.maxInflight * 2 >= limit)
      limit += options.smoothing * (target - limit);
    limit = Math.min(options.maxLimit, Math.max(options.minLimit, limit));
    return { limit, averageRtt: average };
  },
};
