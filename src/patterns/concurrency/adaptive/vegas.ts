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

/** Options of the Vegas algorithm. */
export type VegasOptions = AnchorOptions;

/** The Vegas algorithm's state: its limit and its no-load latency. */
export type VegasState = AnchoredState;

/**
 * The Vegas algorithm, after TCP Vegas and Netflix's VegasLimit: it estimates how many calls wait in the
 * dependency's queue, `limit × (1 − noLoad / latency)`, and keeps that queue between alpha = 2·log10(limit) and
 * beta = 4·log10(limit) calls (a few percent of the limit: tighter than TCP Vegas' 3 and 6, which let the
 * limit sit a fifth above a small capacity). Below log10(limit) it grows by beta (nothing waits: grow fast), below alpha by
 * log10(limit), above beta it shrinks by half the excess (at least log10(limit)), and a window with a drop shrinks
 * it by log10(limit). It grows only when the window used at least half the limit. The no-load latency is measured
 * by probes (see the no-load anchor).
 */
export const vegas: LimitAlgorithm<VegasState, VegasOptions> = {
  initial: unanchored,
  next(state, window, options) {
    if (isProbing(state)) return endProbe(state, window, options);
    const reference = anchored(state, window, options);
    const limit = clampLimit(vegasTarget(state.limit, reference.noLoadRtt, window), options);
    return probeIfDue({ ...reference, limit }, window, options);
  },
};

function vegasTarget(limit: number, noLoadRtt: number, window: LimitWindow): number {
  const step = Math.max(1, Math.log10(limit));
  const alpha = 2 * step;
  const beta = 4 * step;
  if (window.drops > 0) return limit - step;
  const queue = window.meanRtt > 0 ? limit * (1 - noLoadRtt / window.meanRtt) : 0;
  if (queue > beta) return limit - Math.max(step, (queue - beta) / 2);
  if (queue >= alpha || window.maxInflight * 2 < limit) return limit;
  return limit + (queue <= step ? alpha : step);
}
