import { clampLimit, type LimitAlgorithm, type LimitWindow } from './limit-algorithm.js';
import {
  anchored,
  endProbe,
  isProbing,
  probeIfDue,
  unanchored,
  type AnchorOptions,
  type AnchoredState,
} from './no-load-anchor.js';

/** Options of the gradient algorithm. */
export interface GradientOptions extends AnchorOptions {
  /** How far the limit moves toward its target in one window, in (0, 1]: damps the reaction to outliers. */
  readonly smoothing: number;
}

/** The gradient algorithm's state: its limit and its no-load latency. */
export type GradientState = AnchoredState;

/** The gradient never cuts the limit by more than half in one window: one slow window is not a collapse. */
const MIN_GRADIENT = 0.5;

/**
 * The gradient algorithm, after Netflix's Gradient2 and Envoy's gradient controller: each window moves the limit
 * toward `limit × gradient + √limit`, where the gradient is the no-load latency over the window's latency (in
 * [0.5, 1]) and `√limit` is the queue it allows, so the dependency is kept busy with a short queue. Under load the
 * limit settles near `capacity + √capacity`. Each window moves it `smoothing` of the way, so one odd window moves
 * it little; it grows only when the window used at least half the limit (a quiet service gives no evidence that
 * more would be fine). The no-load latency is measured by probes (see the no-load anchor), never averaged from
 * the windows.
 */
export const gradient: LimitAlgorithm<GradientState, GradientOptions> = {
  initial: unanchored,
  next(state, window, options) {
    if (isProbing(state)) return endProbe(state, window, options);
    const reference = anchored(state, window, options);
    const limit = clampLimit(
      gradientTarget(state.limit, reference.noLoadRtt, window, options),
      options,
    );
    return probeIfDue({ ...reference, limit }, window, options);
  },
};

function gradientTarget(
  limit: number,
  noLoadRtt: number,
  window: LimitWindow,
  options: GradientOptions,
): number {
  const ratio = window.meanRtt > 0 ? noLoadRtt / window.meanRtt : 1;
  const target = limit * Math.min(1, Math.max(MIN_GRADIENT, ratio)) + Math.sqrt(limit);
  if (target > limit && window.maxInflight * 2 < limit) return limit;
  return limit + options.smoothing * (target - limit);
}
