/**
 * The scenarios of the overload simulation. One size runs in the benchmark (a minute of simulated traffic per
 * scenario); a smaller one runs in the test suite, which asserts the same targets.
 */
import {
  AdaptiveConcurrencyLimiter,
  ConcurrencyLimiter,
  RetryBudget,
  hedge,
  retry,
  type AdaptiveConcurrencyOptions,
  type HedgeOptions,
} from '../../src/index.js';
import { AdaptivePermitStore } from '../../src/patterns/concurrency/adaptive/adaptive-permit-store.js';
import { movingAverageGradient } from './moving-average-gradient.js';
import { fixedLatency, mixedLatency, type LatencyModel } from './server.js';
import type { ClientPolicy, Scenario, Send } from './simulation.js';

/** The dimensions shared by every scenario of one run of the simulation. */
export interface SimulationSize {
  /** The server's parallel slots. */
  readonly capacity: number;
  /** Its service time, in ms. */
  readonly baseLatencyMs: number;
  /** How long the client sends, in ms. */
  readonly durationMs: number;
  /** Warm-up: results count from here. */
  readonly measureFromMs: number;
  /** When the server loses half its capacity, in the scenarios where it does. */
  readonly halveAtMs: number;
}

/** The benchmark's size: 100 slots of 100 ms (1000 requests/s), a minute per scenario. */
export const FULL_SIZE: SimulationSize = {
  capacity: 100,
  baseLatencyMs: 100,
  durationMs: 60_000,
  measureFromMs: 20_000,
  halveAtMs: 40_000,
};

/** The test suite's size: the same server, a third of the time. */
export const FAST_SIZE: SimulationSize = {
  capacity: 100,
  baseLatencyMs: 100,
  durationMs: 20_000,
  measureFromMs: 8_000,
  halveAtMs: 14_000,
};

const direct: ClientPolicy = (send) => send();

function fixedLimit(limit: number): Scenario['policy'] {
  return () => {
    // No queue in front of the server: a call that finds every permit taken is refused at once.
    const limiter = new ConcurrencyLimiter({ limit, maxQueue: 0 });
    return { call: (send) => limiter.run(() => send()), limit: () => limit };
  };
}

function adaptiveLimit(options: AdaptiveConcurrencyOptions): Scenario['policy'] {
  return () => {
    const limiter = new AdaptiveConcurrencyLimiter({
      initialLimit: 20,
      minLimit: 1,
      maxLimit: 1000,
      maxQueue: 0,
      ...options,
    });
    return { call: (send) => limiter.run(() => send()), limit: () => limiter.limit };
  };
}

// The gradient rule with a moving-average no-load latency: what anchoring by probes avoids.
const movingAverage: Scenario['policy'] = () => {
  const options = { minLimit: 1, maxLimit: 1000, smoothing: 0.2, windows: 60 };
  const store = new AdaptivePermitStore(
    movingAverageGradient,
    options,
    20,
    () => true,
    () => {},
  );
  const limiter = new ConcurrencyLimiter({ limit: 20, maxQueue: 0, store });
  return { call: (send) => limiter.run(() => send()), limit: () => store.limit };
};

/** The adaptive limiters compared, with what each is told. */
export function adaptiveVariants(size: SimulationSize): [string, AdaptiveConcurrencyOptions][] {
  return [
    ['gradient', { algorithm: 'gradient' }],
    ['vegas', { algorithm: 'vegas' }],
    // AIMD needs to be told what latency is too slow: here 20 % over the base latency.
    ['aimd', { algorithm: 'aimd', latencyThreshold: size.baseLatencyMs * 1.2 }],
  ];
}

/**
 * Limiters under twice the load the server can take: no policy, fixed limits (a good guess and a guess 4× too
 * high), and each adaptive algorithm; then the same when the server loses half its capacity mid-run.
 */
export function limiterScenarios(size: SimulationSize): Scenario[] {
  const { capacity, baseLatencyMs } = size;
  const base = {
    capacity,
    baseLatencyMs,
    latency: fixedLatency(baseLatencyMs),
    offeredRps: (2 * capacity * 1000) / baseLatencyMs,
    durationMs: size.durationMs,
    measureFromMs: size.measureFromMs,
    deadlineMs: 10 * baseLatencyMs,
  };
  const halving = { ...base, changes: [{ at: size.halveAtMs, capacity: capacity / 2 }] };
  const adaptive = adaptiveVariants(size);
  return [
    { ...base, name: 'no policy', policy: () => ({ call: direct }) },
    { ...base, name: `fixed limit ${capacity} (good guess)`, policy: fixedLimit(capacity) },
    {
      ...base,
      name: `fixed limit ${4 * capacity} (4× too high)`,
      policy: fixedLimit(4 * capacity),
    },
    ...adaptive.map(([name, options]) => ({
      ...base,
      name: `adaptive ${name}`,
      policy: adaptiveLimit(options),
    })),
    { ...base, name: 'gradient, moving-average no-load latency', policy: movingAverage },
    { ...halving, name: `capacity halves: fixed limit ${capacity}`, policy: fixedLimit(capacity) },
    ...adaptive.map(([name, options]) => ({
      ...halving,
      name: `capacity halves: adaptive ${name}`,
      policy: adaptiveLimit(options),
    })),
  ];
}

/**
 * Retries against a dependency that fails half its calls, then all of them: without a budget, and with a budget
 * of 0.2 (its reserve of retries per second set to 0, so the ratio alone shows; and at its default of 10/s).
 * The server has room for all of it: what is measured is the load retries add, not a collapse.
 */
export function retryScenarios(size: SimulationSize): Scenario[] {
  const { baseLatencyMs } = size;
  const offeredRps = 500;
  const base = {
    capacity: (4 * offeredRps * baseLatencyMs) / 1000,
    baseLatencyMs,
    latency: fixedLatency(baseLatencyMs),
    offeredRps,
    durationMs: size.durationMs,
    measureFromMs: size.measureFromMs,
    deadlineMs: 10 * baseLatencyMs,
  };
  const retried =
    (budget?: () => RetryBudget): Scenario['policy'] =>
    () => {
      const retried = retry((send: Send) => send(), {
        maxAttempts: 3,
        baseDelay: baseLatencyMs,
        budget: budget?.(),
      });
      return { call: retried };
    };
  const budgets: [string, (() => RetryBudget) | undefined][] = [
    ['no budget', undefined],
    ['budget 0.2', () => new RetryBudget({ ratio: 0.2, minPerSecond: 0 })],
    ['budget 0.2, 10/s reserve', () => new RetryBudget({ ratio: 0.2 })],
  ];
  const scenarios: Scenario[] = [];
  for (const failureRate of [0.5, 1])
    for (const [label, budget] of budgets)
      scenarios.push({
        ...base,
        failureRate,
        name: `3 tries, ${failureRate * 100} % failing, ${label}`,
        policy: retried(budget),
      });
  return scenarios;
}

/** The hedging scenarios' run: shorter than the others, as the server is never the bottleneck. */
export interface HedgeSize {
  /** How long the client sends, in ms. */
  readonly durationMs: number;
  /** Warm-up (a quantile delay learns the latency): results count from here. */
  readonly measureFromMs: number;
  /** Requests per second the client sends. */
  readonly offeredRps: number;
}

/** The benchmark's hedging run: a minute at 500 calls/s (20,000 measured calls). */
export const FULL_HEDGE_SIZE: HedgeSize = {
  durationMs: 60_000,
  measureFromMs: 20_000,
  offeredRps: 500,
};

/** The test suite's hedging run: 5,000 measured calls (p99 is their 50th slowest). */
export const FAST_HEDGE_SIZE: HedgeSize = {
  durationMs: 12_000,
  measureFromMs: 2_000,
  offeredRps: 500,
};

/** The long tail hedging cuts: 10 ms for 98 % of requests, 1 s for 2 %, drawn for each request. */
export const TAIL_LATENCY = mixedLatency([
  [0.98, 10],
  [0.02, 1_000],
]);

/** The same tail with the fast requests spread evenly over 5–15 ms: no single latency to tie with. */
export const SPREAD_TAIL_LATENCY: LatencyModel = (random) =>
  random() < 0.02 ? 1_000 : 5 + Math.floor(random() * 11);

/** The hedge options compared, by name (no hedging first). */
export function hedgeVariants(): [string, HedgeOptions | undefined][] {
  return [
    ['no hedging', undefined],
    ['hedge after 20 ms', { delay: 20, maxHedges: 1 }],
    ['hedge after 50 ms', { delay: 50, maxHedges: 1 }],
    ['hedge after 100 ms', { delay: 100, maxHedges: 1 }],
    ["hedge after 'p95'", { delay: 'p95', maxHedges: 1 }],
  ];
}

/**
 * Hedging against a server with a long tail: a request takes 10 ms, or 1 s for one in fifty, independently of
 * the others; the server has room for every copy (a slow request is a slow replica or a GC pause, not
 * overload). A hedge's loser is aborted, but a request already being served runs to its end, as on a real
 * server that does not know its client moved on.
 */
export function hedgeScenarios(size: HedgeSize): Scenario[] {
  const base = {
    capacity: 200,
    baseLatencyMs: 10,
    latency: TAIL_LATENCY,
    offeredRps: size.offeredRps,
    durationMs: size.durationMs,
    measureFromMs: size.measureFromMs,
    // Every call answers within about a second: none is late.
    deadlineMs: 2_000,
  };
  const hedged =
    (options: HedgeOptions | undefined): Scenario['policy'] =>
    () => {
      if (options === undefined) return { call: direct };
      // The hedge's attempt signal comes after the arguments: the server drops an abandoned request it has
      // not started serving.
      const call = hedge((send: Send, signal?: AbortSignal) => send(signal), options);
      return { call: (send) => call(send) };
    };
  return [
    ...hedgeVariants().map(([name, options]) => ({ ...base, name, policy: hedged(options) })),
    {
      ...base,
      name: "hedge after 'p95', fast requests 5–15 ms",
      latency: SPREAD_TAIL_LATENCY,
      policy: hedged({ delay: 'p95', maxHedges: 1 }),
    },
  ];
}
