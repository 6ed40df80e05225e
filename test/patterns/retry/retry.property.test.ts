// RetryPolicy against a reference model of its promise: tries start at the times the backoff table gives
// (capped by maxDelay, lengthened by an error's retryAfter), onRetry is awaited before each wait, the last error
// is rethrown unchanged (or the last value returned for retryOnResult), errors that do not match — and circuit
// breaker errors — are rethrown at once, and an aborted signal ends the call at once, whether it falls during a
// try, an onRetry or a wait: nothing runs after it (no onRetry, no `retry` event, no further try).
//
// Durations of tries, onRetry calls and delays are multiples of 10 ms and aborts fall 5 ms past one: an abort
// never ties with another event.
import { expect } from 'chai';
import fc from 'fast-check';
import sinon from 'sinon';
import {
  BackoffStrategy,
  CircuitBreakerError,
  RetryPolicy,
  withSignal,
} from '../../../src/index.js';

class Retryable extends Error {}
class Fatal extends Error {}

type TryOutcome = 'ok' | 'retryable' | 'fatal' | 'circuit' | 'badResult' | { retryAfter: number };

interface Scenario {
  readonly maxAttempts: number;
  readonly strategy: BackoffStrategy;
  readonly baseDelay: number;
  readonly maxDelay: number;
  /** With `exceptions: [Retryable]`; without it, every error but a CircuitBreakerError is retried. */
  readonly filter: boolean;
  readonly tries: readonly { outcome: TryOutcome; ms: number }[];
  readonly onRetryMs: number | undefined;
  readonly abort: 'before' | number | undefined;
}

interface Trace {
  starts: number[];
  notified: number[];
  retries: { attempt: number; delay: number }[];
  end: { kind: 'value' | 'error'; what: string; at: number };
}

const describeOutcome = (outcome: TryOutcome, attempt: number): string =>
  typeof outcome === 'object' ? `retryAfter ${attempt}` : `${outcome} ${attempt}`;

function model(s: Scenario): Trace {
  const trace: Trace = { starts: [], notified: [], retries: [], end: undefined! };
  const abortAt = s.abort === 'before' ? -1 : (s.abort ?? Infinity);
  if (abortAt < 0) {
    trace.end = { kind: 'error', what: 'abort', at: 0 };
    return trace;
  }
  let t = 0;
  for (let attempt = 1; ; attempt++) {
    const { outcome, ms } = s.tries[(attempt - 1) % s.tries.length];
    trace.starts.push(t);
    t += ms;
    if (abortAt < t) {
      trace.end = { kind: 'error', what: 'abort', at: abortAt };
      return trace;
    }
    const what = describeOutcome(outcome, attempt);
    if (outcome === 'ok') {
      trace.end = { kind: 'value', what, at: t };
      return trace;
    }
    const isError = outcome !== 'badResult';
    const retryable =
      outcome === 'badResult' || (outcome !== 'circuit' && (!s.filter || outcome !== 'fatal'));
    if (attempt >= s.maxAttempts || !retryable) {
      trace.end = { kind: isError ? 'error' : 'value', what, at: t };
      return trace;
    }
    const computed =
      s.strategy === 'exponential'
        ? s.baseDelay * 2 ** (attempt - 1)
        : s.strategy === 'linear'
          ? s.baseDelay * attempt
          : s.baseDelay;
    let delay = Math.min(computed, s.maxDelay);
    if (typeof outcome === 'object') delay = Math.max(delay, outcome.retryAfter);
    if (s.onRetryMs !== undefined) {
      trace.notified.push(attempt);
      t += s.onRetryMs;
      if (abortAt < t) {
        trace.end = { kind: 'error', what: 'abort', at: abortAt };
        return trace;
      }
    }
    trace.retries.push({ attempt, delay });
    if (abortAt < t + delay) {
      trace.end = { kind: 'error', what: 'abort', at: abortAt };
      return trace;
    }
    t += delay;
  }
}

// At least 10 ms: a 0 ms timer set while a fake clock ticks fires 1 ms late, which is the clock's doing.
const tenths = (max: number) => fc.integer({ min: 1, max }).map((n) => n * 10);

const scenario: fc.Arbitrary<Scenario> = fc
  .record({
    maxAttempts: fc.integer({ min: 1, max: 6 }),
    strategy: fc.constantFrom(...Object.values(BackoffStrategy)),
    baseDelay: tenths(30),
    maxDelayFactor: fc.integer({ min: 1, max: 8 }),
    filter: fc.boolean(),
    tries: fc.array(
      fc.record({
        outcome: fc.oneof(
          fc.constantFrom<TryOutcome>(
            'ok',
            'retryable',
            'retryable',
            'fatal',
            'circuit',
            'badResult',
          ),
          tenths(100).map((retryAfter): TryOutcome => ({ retryAfter })),
        ),
        ms: tenths(20),
      }),
      { minLength: 1, maxLength: 6 },
    ),
    onRetryMs: fc.option(tenths(10), { nil: undefined }),
    abort: fc.oneof(
      { arbitrary: fc.constant(undefined), weight: 3 },
      { arbitrary: fc.constant('before' as const), weight: 1 },
      { arbitrary: tenths(300).map((n) => n + 5), weight: 3 },
    ),
  })
  .map(({ maxDelayFactor, ...rest }) => ({
    ...rest,
    maxDelay: Math.max(rest.baseDelay, 10) * maxDelayFactor,
  }));

// The caller's signal reaches the policy either way: as an option of execute, or through the call context
// (withSignal, as a decorated method called inside it gets it).
const entries = {
  'execute(fn, { signal })': (
    policy: RetryPolicy,
    fn: () => Promise<string>,
    signal: AbortSignal,
  ) => policy.execute(fn, { signal }),
  'withSignal(signal, () => execute(fn))': (
    policy: RetryPolicy,
    fn: () => Promise<string>,
    signal: AbortSignal,
  ) => withSignal(signal, () => policy.execute(fn)),
};

describe('RetryPolicy (model)', () => {
  for (const [entry, call] of Object.entries(entries))
    it(`tries, waits, notifies and ends exactly when the model does, aborts included: ${entry}`, async () => {
      await fc.assert(
        fc.asyncProperty(scenario, async (s) => {
          const clock = sinon.useFakeTimers({ now: 0 });
          try {
            const trace: Trace = { starts: [], notified: [], retries: [], end: undefined! };
            const policy = new RetryPolicy({
              maxAttempts: s.maxAttempts,
              strategy: s.strategy,
              baseDelay: s.baseDelay,
              maxDelay: s.maxDelay,
              retryOnResult: (value: unknown) =>
                typeof value === 'string' && value.startsWith('bad'),
              ...(s.filter ? { exceptions: [Retryable] } : {}),
              ...(s.onRetryMs === undefined
                ? {}
                : {
                    onRetry: async (attempt: number) => {
                      trace.notified.push(attempt);
                      await new Promise((resolve) => setTimeout(resolve, s.onRetryMs));
                    },
                  }),
            });
            policy.events.on('retry', ({ attempt, delay }) =>
              trace.retries.push({ attempt, delay }),
            );
            const controller = new AbortController();
            const reason = new Error('abort');
            if (s.abort === 'before') controller.abort(reason);
            else if (s.abort !== undefined) setTimeout(() => controller.abort(reason), s.abort);
            let attempt = 0;
            const fn = async (): Promise<string> => {
              attempt++;
              trace.starts.push(Date.now());
              const { outcome, ms } = s.tries[(attempt - 1) % s.tries.length];
              await new Promise((resolve) => setTimeout(resolve, ms));
              const what = describeOutcome(outcome, attempt);
              if (outcome === 'ok' || outcome === 'badResult') return what;
              if (outcome === 'fatal') throw new Fatal(what);
              if (outcome === 'circuit') throw new CircuitBreakerError('open', 0, what);
              throw Object.assign(new Retryable(what), typeof outcome === 'object' ? outcome : {});
            };
            call(policy, fn, controller.signal).then(
              (value) => (trace.end = { kind: 'value', what: value, at: Date.now() }),
              (error: Error) =>
                (trace.end = {
                  kind: 'error',
                  what: error === reason ? 'abort' : error.message,
                  at: Date.now(),
                }),
            );
            await clock.tickAsync(100_000);
            expect(trace).to.deep.equal(model(s));
          } finally {
            clock.restore();
          }
        }),
        { numRuns: 300 },
      );
    });
});
