import type { LimitBounds, LimitState, LimitWindow } from './limit-algorithm.js';

/*
 * Latency-based algorithms compare the latency of each window with the dependency's latency without load. That
 * reference must not follow the windows: under sustained queueing every call waits, a moving average of
 * latencies climbs with the queue, the comparison stops seeing the queue, and the limit climbs to maxLimit. So
 * it is measured, not averaged. It starts as the smallest latency of the first window, and between probes it
 * only moves down, when a window shows a faster dependency. During a probe the limit drops to √limit (at least
 * minLimit) until a window of calls that started at that concurrency has been measured, and that window's mean
 * latency becomes the reference, up or down. √limit is far below any capacity the limit could be near (it is
 * below capacity whenever the limit is below capacity²), so nothing queues, yet it is enough calls at once for
 * the probe to last about one round trip: it costs little throughput. A probe runs every probeInterval, and after five windows in a row at twice the
 * reference (the dependency got slower for good, or the first window was already queueing).
 */

/** Windows in a row at twice the no-load latency that start a probe. */
const CONGESTED_WINDOWS = 5;

/** Options of an algorithm that keeps a no-load latency. */
export interface AnchorOptions extends LimitBounds {
  /** How often the no-load latency is measured again, in ms. */
  readonly probeIntervalMs: number;
}

/** The state of an algorithm that keeps a no-load latency. */
export interface AnchoredState extends LimitState {
  /** The dependency's latency without queueing, in ms: NaN before the first window. */
  readonly noLoadRtt: number;
  /** The limit to go back to when the probe running now ends; NaN while no probe runs. */
  readonly resumeAt: number;
  /** When the next periodic probe starts (ms on the limiter's clock); NaN before the first window. */
  readonly nextProbeAt: number;
  /** Windows in a row whose latency was at least twice the no-load latency. */
  readonly congested: number;
}

/** The state of a new limiter: at `initialLimit`, its reference still unknown. */
export function unanchored(initialLimit: number): AnchoredState {
  return { limit: initialLimit, noLoadRtt: NaN, resumeAt: NaN, nextProbeAt: NaN, congested: 0 };
}

/** True while a probe runs. */
export function isProbing(state: AnchoredState): boolean {
  return !Number.isNaN(state.resumeAt);
}

/** Ends a probe with the window measured at minLimit: its latency is the new reference. */
export function endProbe<S extends AnchoredState>(
  state: S,
  window: LimitWindow,
  options: AnchorOptions,
): S {
  return {
    ...state,
    limit: state.resumeAt,
    noLoadRtt: window.meanRtt,
    resumeAt: NaN,
    nextProbeAt: window.end + options.probeIntervalMs,
    congested: 0,
  };
}

/**
 * The state after a window outside a probe, before the algorithm sets its limit: the first window sets the
 * reference (its fastest call) and the probe schedule; a later one lowers the reference when it was faster.
 */
export function anchored<S extends AnchoredState>(
  state: S,
  window: LimitWindow,
  options: AnchorOptions,
): S {
  if (Number.isNaN(state.noLoadRtt))
    return {
      ...state,
      noLoadRtt: window.minRtt,
      nextProbeAt: window.end + options.probeIntervalMs,
    };
  return window.meanRtt < state.noLoadRtt ? { ...state, noLoadRtt: window.meanRtt } : state;
}

/**
 * The state after a window outside a probe, once the algorithm has set its limit: a probe starts when one is
 * due (periodic, or after a run of congested windows).
 */
export function probeIfDue<S extends AnchoredState>(
  state: S,
  window: LimitWindow,
  options: AnchorOptions,
): S {
  const congested = window.meanRtt >= 2 * state.noLoadRtt ? state.congested + 1 : 0;
  if (window.end < state.nextProbeAt && congested < CONGESTED_WINDOWS)
    return congested === state.congested ? state : { ...state, congested };
  const limit = Math.max(options.minLimit, Math.floor(Math.sqrt(state.limit)));
  return { ...state, limit, resumeAt: state.limit, congested: 0 };
}
