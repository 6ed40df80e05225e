import {
  metrics,
  ValueType,
  type Attributes,
  type BatchObservableResult,
  type Meter,
  type ObservableResult,
} from '@opentelemetry/api';
import {
  OptionsChecker,
  ResilienceRegistry,
  isInstance,
  type Unsubscribe,
  type WindowMetrics,
} from '../index.js';
import { ATTRIBUTE, CIRCUIT_STATE_VALUE, METRIC, type Outcome } from './metric-names.js';

/** Options of {@link instrument}. */
export interface InstrumentOptions {
  /** Where the instruments are created. Default: `metrics.getMeter('dspu')` from the global provider. */
  readonly meter?: Meter;
}

// What instrument() calls on a meter: anything else given as `meter` is refused before any instrument is made.
const METER_METHODS = [
  'createCounter',
  'createHistogram',
  'createObservableCounter',
  'createObservableGauge',
  'addBatchObservableCallback',
];

/** Checks instrument()'s arguments, each read once, before anything is created; returns the meter to use. */
function checkArguments(registry: unknown, options: unknown): Meter {
  const checker = new OptionsChecker(options).onlyKnown(['meter']);
  if (!isInstance(registry, ResilienceRegistry))
    checker.fail('registry', 'a ResilienceRegistry', registry);
  const meter = checker.store<Meter>('meter', METER_METHODS, 'an OpenTelemetry Meter');
  checker.throwIfInvalid();
  return meter ?? metrics.getMeter('dspu');
}

// Bucket advice: retries rarely exceed a handful of tries; token waits span milliseconds to a minute.
const ATTEMPT_BUCKETS = [1, 2, 3, 4, 5, 6, 8, 10, 15, 20];
const WAIT_BUCKETS = [0, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000];

/**
 * Records OpenTelemetry metrics for every policy of `registry` (named ones, and the inline policies of
 * decorated methods, named `Class.method`) until the returned function is called or disposed:
 *
 * - `dspu.calls` (counter, `{call}`, reported at collection): calls by `dspu.policy.kind`, `dspu.policy.name` and `dspu.outcome`
 *   (`success`, `failure`, `rejected`, `timeout`, `fallback`). Each policy counts the outcomes it decides:
 *   retries and circuit breakers every call, the others the calls they refuse, time out or answer for. A call
 *   through a stack of policies is counted once by each; filter on `dspu.policy.kind`.
 * - `dspu.retry.attempts` (histogram, `{attempt}`): tries per retried call, with its outcome.
 * - `dspu.rate_limiter.wait.duration` (histogram, `ms`): for each call that had to queue for tokens, its wait
 *   as estimated when it joined the queue (exact for the in-memory bucket unless a waiter ahead leaves).
 * - `dspu.circuit_breaker.state` (observable gauge): 0 closed, 1 half-open, 2 open (isolated included), for
 *   every configured breaker (read live at collection) and every inline breaker that has reported an event.
 * - `dspu.circuit_breaker.failure_rate` and `dspu.circuit_breaker.slow_call_rate` (observable gauges, unit
 *   `1`): the failed and slow share of the calls in the window of every configured rate-mode breaker, as a
 *   fraction from 0 to 1, read live at collection (`breaker.metrics()`; a Redis breaker's shared window as its
 *   last report found it).
 * - `dspu.circuit_breaker.transitions` (counter, `{transition}`): state changes, with
 *   `dspu.circuit_breaker.from_state` and `dspu.circuit_breaker.to_state`.
 * - `dspu.hedge.attempts` (counter, `{attempt}`): extra attempts sent by hedges (the first attempt of a call is
 *   not one); `dspu.hedge.wins` (counter, `{call}`): calls an extra attempt won. Wins over attempts is how
 *   often a hedge pays off (two counters rather than one with an outcome: wins are a subset of the attempts).
 *
 * While the registry has no listener its engines build no event objects. Once instrumented, calls pay for
 * their events: about 2 µs per call through a five-policy stack on Node 20, most of it the SDK recording the
 * attempts histogram (calls are counted in a Map and reported at collection).
 *
 * @example
 * ```ts
 * import { metrics } from '@opentelemetry/api';
 * import { registry } from 'dspu';
 * import { instrument } from 'dspu/otel';
 *
 * const stop = instrument(registry, { meter: metrics.getMeter('checkout') });
 * // ... at shutdown:
 * stop();
 * ```
 * @throws ConfigError when `registry` is not a ResilienceRegistry, `options` is not an options object with only
 *   `meter`, or `meter` is not a Meter: checked before any instrument is created
 */
export function instrument(
  registry: ResilienceRegistry,
  options: InstrumentOptions = {},
): Unsubscribe {
  const meter = checkArguments(registry, options);
  const calls = meter.createObservableCounter(METRIC.calls, {
    description: 'Calls seen by a dspu policy, by outcome',
    unit: '{call}',
    valueType: ValueType.INT,
  });
  const attempts = meter.createHistogram(METRIC.retryAttempts, {
    description: 'Tries per call made by a retry policy',
    unit: '{attempt}',
    valueType: ValueType.INT,
    advice: { explicitBucketBoundaries: ATTEMPT_BUCKETS },
  });
  const wait = meter.createHistogram(METRIC.rateLimiterWait, {
    description: 'Time a throttled call waits for rate-limiter tokens',
    unit: 'ms',
    advice: { explicitBucketBoundaries: WAIT_BUCKETS },
  });
  const transitions = meter.createCounter(METRIC.circuitBreakerTransitions, {
    description: 'Circuit breaker state changes',
    unit: '{transition}',
    valueType: ValueType.INT,
  });
  const hedges = meter.createCounter(METRIC.hedgeAttempts, {
    description: 'Extra attempts sent by a dspu hedge',
    unit: '{attempt}',
    valueType: ValueType.INT,
  });
  const hedgeWins = meter.createCounter(METRIC.hedgeWins, {
    description: 'Hedged calls won by an extra attempt',
    unit: '{call}',
    valueType: ValueType.INT,
  });
  const state = meter.createObservableGauge(METRIC.circuitBreakerState, {
    description: 'Circuit breaker state: 0 closed, 1 half-open, 2 open',
    valueType: ValueType.INT,
  });

  const attributes = new AttributeCache();
  // Last state seen per breaker name: the only view of inline breakers, which the registry does not list.
  const breakerStates = new Map<string, string>();
  // Calls are counted here and reported at collection: a Map increment per call instead of an SDK record, which
  // hashes the attribute set every time (bench/README.md).
  const callCounts = new Map<Attributes, number>();
  const count = (kind: string, name: string, outcome: Outcome) => {
    const set = attributes.get(kind, name, outcome);
    callCounts.set(set, (callCounts.get(set) ?? 0) + 1);
  };
  const observeCalls = (result: ObservableResult) => {
    for (const [set, total] of callCounts) result.observe(total, set);
  };
  calls.addCallback(observeCalls);

  const observeStates = (result: ObservableResult) => {
    for (const name of registry.names('circuitBreaker')) {
      try {
        // Peeked: reading `state` would make the lazy OPEN → HALF_OPEN move, and a scrape would emit it.
        breakerStates.set(name, registry.circuitBreaker(name).peekState());
      } catch {
        // A name whose entry cannot build a breaker has no state to report.
      }
    }
    for (const [name, current] of breakerStates) {
      const value = CIRCUIT_STATE_VALUE[current];
      if (value !== undefined) result.observe(value, attributes.get('circuitBreaker', name));
    }
  };
  state.addCallback(observeStates);

  const failureRate = meter.createObservableGauge(METRIC.circuitBreakerFailureRate, {
    description: 'Failed share of the calls in a rate-mode circuit breaker window',
    unit: '1',
  });
  const slowCallRate = meter.createObservableGauge(METRIC.circuitBreakerSlowCallRate, {
    description: 'Slow share of the calls in a rate-mode circuit breaker window',
    unit: '1',
  });
  const observeRates = (result: BatchObservableResult) => {
    for (const name of registry.names('circuitBreaker')) {
      let window: WindowMetrics;
      try {
        const breaker = registry.circuitBreaker(name);
        // A consecutive breaker has no window: its run of failures is no rate.
        if (breaker.options.rate === undefined) continue;
        window = breaker.metrics();
      } catch {
        continue; // a name whose entry cannot build a breaker has no window to report
      }
      const set = attributes.get('circuitBreaker', name);
      const { calls } = window;
      result.observe(failureRate, calls === 0 ? 0 : window.failedCalls / calls, set);
      result.observe(slowCallRate, calls === 0 ? 0 : window.slowCalls / calls, set);
    }
  };
  meter.addBatchObservableCallback(observeRates, [failureRate, slowCallRate]);

  const subscriptions: Unsubscribe[] = [
    registry.on('success', (event) => {
      count(event.kind, event.name, 'success');
      if ('attempts' in event)
        attempts.record(event.attempts, attributes.get(event.kind, event.name, 'success'));
      else breakerStates.set(event.name, event.state);
    }),
    registry.on('giveUp', (event) => {
      count(event.kind, event.name, 'failure');
      attempts.record(event.attempts, attributes.get(event.kind, event.name, 'failure'));
    }),
    registry.on('failure', (event) => {
      count(event.kind, event.name, 'failure');
      breakerStates.set(event.name, event.state);
    }),
    registry.on('ignored', (event) => {
      count(event.kind, event.name, 'failure');
      breakerStates.set(event.name, event.state);
    }),
    registry.on('rejected', (event) => {
      count(event.kind, event.name, 'rejected');
      if ('state' in event) breakerStates.set(event.name, event.state);
    }),
    registry.on('timeout', (event) => count(event.kind, event.name, 'timeout')),
    registry.on('fallback', (event) => count(event.kind, event.name, 'fallback')),
    registry.on('throttled', (event) =>
      wait.record(event.waitMs, attributes.get(event.kind, event.name)),
    ),
    registry.on('hedge', (event) => hedges.add(1, attributes.get(event.kind, event.name))),
    // `hedgeWon` also reports a call its first attempt won after hedges were sent: not a win for the hedge.
    registry.on('hedgeWon', (event) => {
      if (event.attempt > 1) hedgeWins.add(1, attributes.get(event.kind, event.name));
    }),
    registry.on('stateChange', (event) => {
      breakerStates.set(event.name, event.to);
      transitions.add(1, attributes.transition(event.name, event.from, event.to));
    }),
  ];

  let active = true;
  const stop = () => {
    if (!active) return;
    active = false;
    for (const unsubscribe of subscriptions) unsubscribe();
    state.removeCallback(observeStates);
    meter.removeBatchObservableCallback(observeRates, [failureRate, slowCallRate]);
    calls.removeCallback(observeCalls);
  };
  return Object.assign(stop, { [Symbol.dispose]: stop });
}

/**
 * Attribute sets are made once per (kind, name, outcome) and reused: exporters key their series on them, and
 * recording then allocates nothing.
 */
class AttributeCache {
  private readonly sets = new Map<string, Attributes>();

  get(kind: string, name: string, outcome?: Outcome): Attributes {
    const key = `${kind}\u0000${name}\u0000${outcome ?? ''}`;
    let set = this.sets.get(key);
    if (set === undefined) {
      set = Object.freeze({
        [ATTRIBUTE.kind]: kind,
        [ATTRIBUTE.name]: name,
        ...(outcome === undefined ? {} : { [ATTRIBUTE.outcome]: outcome }),
      });
      this.sets.set(key, set);
    }
    return set;
  }

  transition(name: string, from: string, to: string): Attributes {
    const key = `circuitBreaker\u0000${name}\u0000${from}\u0000${to}`;
    let set = this.sets.get(key);
    if (set === undefined) {
      set = Object.freeze({
        [ATTRIBUTE.kind]: 'circuitBreaker',
        [ATTRIBUTE.name]: name,
        [ATTRIBUTE.fromState]: from,
        [ATTRIBUTE.toState]: to,
      });
      this.sets.set(key, set);
    }
    return set;
  }
}
