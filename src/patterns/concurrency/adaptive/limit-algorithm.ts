/**
 * What the calls of one window of an adaptive limiter said: the input of every limit algorithm. A window holds
 * the calls that started after the previous window closed, so each one shows the effect of the last change of
 * the limit and nothing older.
 */
export interface LimitWindow {
  /** Calls measured (they started in the window and have ended). */
  readonly samples: number;
  /** Of them, drops: counted failures, timeouts, a `ConcurrencyLimitError` from downstream. */
  readonly drops: number;
  /** Their mean latency, in ms. */
  readonly meanRtt: number;
  /** Their smallest latency, in ms. */
  readonly minRtt: number;
  /** Their largest latency, in ms. */
  readonly maxRtt: number;
  /** The most calls that ran at once during the window. */
  readonly maxInflight: number;
  /** When the window closed (ms on the limiter's monotonic clock). */
  readonly end: number;
}

/** The bounds every algorithm keeps its limit within. */
export interface LimitBounds {
  readonly minLimit: number;
  readonly maxLimit: number;
}

/** What every algorithm's state holds: the limit it wants applied now (the limiter floors it). */
export interface LimitState {
  readonly limit: number;
}

/**
 * A limit algorithm: a pure function from its state and a window of samples to its next state.
 * @typeParam S - the algorithm's state
 * @typeParam O - its options
 */
export interface LimitAlgorithm<S extends LimitState, O> {
  /** The state before any sample, starting from `initialLimit`. */
  initial(initialLimit: number, options: O): S;
  /** The state after `window`. */
  next(state: S, window: LimitWindow, options: O): S;
}

/** `value` kept within the bounds; a value that is not a number is the lower bound, never an unbounded limit. */
export function clampLimit(value: number, bounds: LimitBounds): number {
  return value >= bounds.minLimit ? Math.min(bounds.maxLimit, value) : bounds.minLimit;
}
