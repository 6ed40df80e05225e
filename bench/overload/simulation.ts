/**
 * Runs one scenario of the overload simulation under sinon's fake timers: an open-loop client sends requests
 * at a fixed rate, whatever happens to earlier ones (as users and upstream services do), through a client-side
 * policy, to a {@link SimulatedServer}. Time is fake, so a minute of traffic runs in about a second, and the same
 * scenario gives the same numbers on every machine.
 */
import sinon from 'sinon';
import { seededRandom } from './random.js';
import { SimulatedServer, type LatencyModel } from './server.js';

/** One request of a call to the server (a call may send several: retries, hedges). */
export type Send = (signal?: AbortSignal) => Promise<void>;

/** How the client makes one call: through its policy, with `send` for each request the call sends. */
export type ClientPolicy = (send: Send) => Promise<unknown>;

/** A change of the server during a run. */
export interface ServerChange {
  /** When (ms since the start). */
  readonly at: number;
  /** The new number of parallel slots, if it changes. */
  readonly capacity?: number;
  /** The new share of failed requests, if it changes. */
  readonly failureRate?: number;
}

/** One scenario of the simulation. */
export interface Scenario {
  readonly name: string;
  /** Parallel slots of the server at the start. */
  readonly capacity: number;
  /** Service time of each request. */
  readonly latency: LatencyModel;
  /** The latency a request takes without queueing (what targets are relative to), in ms. */
  readonly baseLatencyMs: number;
  /** Share of requests the server fails at the start. Default 0. */
  readonly failureRate?: number;
  /** Requests per second the client sends. */
  readonly offeredRps: number;
  /** How long the client sends, in ms. */
  readonly durationMs: number;
  /** Results count from this time on (ms since the start): what came before is warm-up. */
  readonly measureFromMs: number;
  /** A response later than this is useless to the client (it counts as late, not as goodput), in ms. */
  readonly deadlineMs: number;
  /** Changes of the server during the run. */
  readonly changes?: readonly ServerChange[];
  /** Makes the client's policy, and says how to read its concurrency limit (for limiters). */
  readonly policy: () => { call: ClientPolicy; limit?: () => number };
  /** Seed of the run's randomness. Default 1. */
  readonly seed?: number;
}

/** The limit of the client's limiter, sampled every `LIMIT_SAMPLE_MS`. */
export interface LimitSample {
  readonly at: number;
  readonly limit: number;
}

/** What a run measured over its measured period. */
export interface ScenarioResult {
  readonly scenario: Scenario;
  /** Requests the client sent. */
  readonly offered: number;
  /** Successful responses within the deadline. */
  readonly ok: number;
  /** Successful responses after the deadline, or no response by the end of the run. */
  readonly late: number;
  /** Calls refused by the client's own policy (a full limiter). */
  readonly shed: number;
  /** Calls that failed (the server's error, after any retries). */
  readonly failed: number;
  /** Requests that reached the server, per call made (retries make it more than 1). */
  readonly serverLoad: number;
  /** Goodput (`ok` per second) as a share of what the server can serve. */
  readonly goodput: number;
  /** Latency percentiles of successful responses, in ms (Infinity when some never came). */
  readonly p50: number;
  readonly p99: number;
  /** The client limiter's limit over the whole run (empty without a limiter). */
  readonly limits: readonly LimitSample[];
  /** Mean limit over the measured period, as a share of the server's capacity then (NaN without a limiter). */
  readonly limitShare: number;
}

/** How often the limit is sampled, in ms. */
export const LIMIT_SAMPLE_MS = 100;

/** Runs `scenario` under fake timers (installed here and removed before returning). */
export async function runScenario(scenario: Scenario): Promise<ScenarioResult> {
  const clock = sinon.useFakeTimers({ now: 0 });
  try {
    return await simulate(scenario, clock);
  } finally {
    clock.restore();
  }
}

interface Call {
  readonly at: number;
  end: number;
  outcome: 'ok' | 'shed' | 'failed' | undefined;
  /** Requests this call sent to the server. */
  requests: number;
}

async function simulate(scenario: Scenario, clock: sinon.SinonFakeTimers): Promise<ScenarioResult> {
  const random = seededRandom(scenario.seed ?? 1);
  const server = new SimulatedServer({
    capacity: scenario.capacity,
    latency: scenario.latency,
    failureRate: scenario.failureRate,
    random,
  });
  const { call, limit } = scenario.policy();
  const calls: Call[] = [];
  const limits: LimitSample[] = [];

  for (const change of scenario.changes ?? [])
    setTimeout(() => {
      if (change.capacity !== undefined) server.setCapacity(change.capacity);
      if (change.failureRate !== undefined) server.setFailureRate(change.failureRate);
    }, change.at);

  // Arrivals spread evenly: `offeredRps / 1000` per ms, the fraction carried over.
  let owed = 0;
  const perMs = scenario.offeredRps / 1000;
  const send = () => {
    const entry: Call = { at: Date.now(), end: NaN, outcome: undefined, requests: 0 };
    calls.push(entry);
    const send: Send = (signal) => {
      entry.requests++;
      return server.handle(signal);
    };
    call(send).then(
      () => {
        entry.end = Date.now();
        entry.outcome = 'ok';
      },
      (error: unknown) => {
        entry.end = Date.now();
        entry.outcome = (error as Error).name === 'ConcurrencyLimitError' ? 'shed' : 'failed';
      },
    );
  };
  const tick = () => {
    const now = Date.now();
    if (now >= scenario.durationMs) return;
    if (now % LIMIT_SAMPLE_MS === 0 && limit) limits.push({ at: now, limit: limit() });
    owed += perMs;
    for (; owed >= 1; owed--) send();
    setTimeout(tick, 1);
  };
  setTimeout(tick, 0);
  // Every request sent before the end has had its deadline by now.
  await clock.tickAsync(scenario.durationMs + scenario.deadlineMs);
  return summarise(scenario, calls, limits);
}

function summarise(
  scenario: Scenario,
  all: readonly Call[],
  limits: readonly LimitSample[],
): ScenarioResult {
  const from = scenario.measureFromMs;
  const calls = all.filter((c) => c.at >= from);
  const latencies: number[] = [];
  let ok = 0;
  let late = 0;
  let shed = 0;
  let failed = 0;
  let requests = 0;
  for (const c of calls) {
    requests += c.requests;
    if (c.outcome === 'shed') shed++;
    else if (c.outcome === 'failed') failed++;
    else {
      const latency = c.outcome === 'ok' ? c.end - c.at : Infinity;
      latencies.push(latency);
      if (latency <= scenario.deadlineMs) ok++;
      else late++;
    }
  }
  latencies.sort((a, b) => a - b);
  const seconds = (scenario.durationMs - from) / 1000;
  const served = servable(scenario, from) / seconds;
  const measuredLimits = limits.filter((s) => s.at >= from);
  const limitShare =
    measuredLimits.length === 0
      ? NaN
      : measuredLimits.reduce((sum, s) => sum + s.limit / capacityAt(scenario, s.at), 0) /
        measuredLimits.length;
  return {
    scenario,
    offered: calls.length,
    ok,
    late,
    shed,
    failed,
    serverLoad: calls.length === 0 ? 0 : requests / calls.length,
    goodput: ok / seconds / served,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    limits,
    limitShare,
  };
}

/** The server's capacity at `at` (ms since the start). */
export function capacityAt(scenario: Scenario, at: number): number {
  let capacity = scenario.capacity;
  for (const change of scenario.changes ?? [])
    if (change.at <= at && change.capacity !== undefined) capacity = change.capacity;
  return capacity;
}

// Requests the server can serve from `from` to the end, at its base latency.
function servable(scenario: Scenario, from: number): number {
  let total = 0;
  for (let t = from; t < scenario.durationMs; t += LIMIT_SAMPLE_MS)
    total += (capacityAt(scenario, t) * LIMIT_SAMPLE_MS) / scenario.baseLatencyMs;
  return total;
}

/** The `q` quantile of sorted `values` (nearest rank), NaN when empty. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

/**
 * How long after `at` the limit entered the band of ±`tolerance` around the capacity and stayed in it to the end
 * of the run, in ms; Infinity when it never settled. The limit is read as its median over the last second, so the
 * short dips of a limiter measuring its dependency's no-load latency (a round trip or two) do not count as
 * leaving the band.
 */
export function settleTime(result: ScenarioResult, at: number, tolerance = 0.25): number {
  const perSecond = 1000 / LIMIT_SAMPLE_MS;
  let settledAt = Infinity;
  result.limits.forEach((sample, i) => {
    if (sample.at < at) return;
    const recent = result.limits.slice(Math.max(0, i - perSecond + 1), i + 1).map((s) => s.limit);
    const limit = percentile(
      recent.sort((a, b) => a - b),
      0.5,
    );
    const capacity = capacityAt(result.scenario, sample.at);
    const inside = Math.abs(limit - capacity) <= tolerance * capacity;
    if (!inside) settledAt = Infinity;
    else if (settledAt === Infinity) settledAt = sample.at;
  });
  return settledAt - at;
}
