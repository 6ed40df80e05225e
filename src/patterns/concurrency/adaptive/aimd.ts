import {
  clampLimit,
  type LimitAlgorithm,
  type LimitBounds,
  type LimitState,
} from './limit-algorithm.js';

/** Options of the AIMD algorithm. */
export interface AimdOptions extends LimitBounds {
  /** A success slower than this (ms) counts as a drop; Infinity to count failures only. */
  readonly latencyThreshold: number;
  /** What a drop multiplies the limit by, in (0, 1). */
  readonly backoffRatio: number;
}

/** The AIMD algorithm's state: just its limit. */
export type AimdState = LimitState;

/**
 * Additive increase, multiplicative decrease, as TCP Reno and Netflix's AIMDLimit: +1 after a window without a
 * drop that used at least half the limit, × backoffRatio after a window with one. A drop is a counted failure, a
 * timeout, a `ConcurrencyLimitError` from downstream, or a success slower than `latencyThreshold`: without that
 * last rule it could not follow a dependency that slows down without failing.
 */
export const aimd: LimitAlgorithm<AimdState, AimdOptions> = {
  initial: (initialLimit) => ({ limit: initialLimit }),
  next(state, window, options) {
    const dropped = window.drops > 0 || window.maxRtt > options.latencyThreshold;
    if (dropped) return { limit: clampLimit(state.limit * options.backoffRatio, options) };
    if (window.maxInflight * 2 < state.limit) return state;
    return { limit: clampLimit(state.limit + 1, options) };
  },
};
