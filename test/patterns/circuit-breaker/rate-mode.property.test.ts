// The rate-mode breaker against a plain reference model of its promise: for any sequence of calls with random
// outcomes and durations, clock steps, restarts from toJSON(), and bursts of overlapping half-open trials, the
// breaker answers, moves and times its open periods exactly as the model does.
import { expect } from 'chai';
import fc from 'fast-check';
import sinon from 'sinon';
import {
  CircuitBreaker,
  CircuitBreakerError,
  type CircuitBreakerOptions,
  type CircuitState,
} from '../../../src/index.js';

class Counted extends Error {}
class Ignored extends Error {}

type Outcome = 'success' | 'failure' | 'ignored' | 'unavailable';
type Step =
  | { readonly call: Outcome; readonly ms: number }
  | { readonly wait: number }
  | { readonly restart: true }
  | { readonly burst: readonly Outcome[] };

interface Settings {
  readonly window: { calls: number } | { time: number; buckets: number };
  readonly failureRateThreshold: number;
  readonly slowCallRateThreshold: number;
  readonly slowCallDuration: number;
  readonly minimumCalls: number;
  readonly timeout: number;
  readonly maxTimeout: number;
  readonly successThreshold: number;
  readonly halfOpenMaxCalls: number;
}

const RETRY_AFTER = 7_000;

/** DESIGN's rate-mode breaker as plainly as it can be written. */
class Model {
  state: CircuitState = 'closed';
  openedAt = 0;
  openMs: number | undefined;
  successes = 0;
  trials = 0;
  generation = 0;
  window: { at: number; failed: boolean; slow: boolean }[] = [];
  readonly transitions: string[] = [];

  constructor(private readonly s: Settings) {}

  look(now: number): CircuitState {
    if (this.state === 'open' && now - this.openedAt >= (this.openMs ?? this.s.timeout))
      this.move('half_open', now);
    return this.state;
  }

  /** Admits a call started at `now`: 'rejected', or the generation it runs in ('closed' as -1). */
  admit(now: number): number | 'rejected' {
    const state = this.look(now);
    if (state === 'open') return 'rejected';
    if (state === 'closed') return -1;
    if (this.trials >= this.s.halfOpenMaxCalls) return 'rejected';
    this.trials++;
    return this.generation;
  }

  settle(admission: number, outcome: Outcome, ms: number, now: number): void {
    const slow = ms > this.s.slowCallDuration;
    const failed = outcome === 'failure' || outcome === 'unavailable';
    if (admission === -1) {
      if (this.state !== 'closed' || outcome === 'ignored') return;
      this.window.push({ at: now, failed, slow });
      const live = this.live(now);
      const calls = live.length;
      if (calls < this.s.minimumCalls) return;
      const failedCalls = live.filter((c) => c.failed).length;
      const slowCalls = live.filter((c) => c.slow).length;
      if (
        failedCalls * 100 >= this.s.failureRateThreshold * calls ||
        slowCalls * 100 >= this.s.slowCallRateThreshold * calls
      )
        this.move('open', now, outcome);
      return;
    }
    if (admission !== this.generation) return;
    if (outcome === 'ignored') {
      this.trials--;
      return;
    }
    if (failed) return this.move('open', now, outcome);
    this.trials--;
    if (slow) this.move('open', now);
    else if (++this.successes >= this.s.successThreshold) this.move('closed', now);
  }

  /** The window's calls at `now`: the last N, or those of the buckets still inside the time window. */
  private live(now: number) {
    const { window } = this.s;
    if ('calls' in window) return (this.window = this.window.slice(-window.calls));
    const spanMs = window.time / window.buckets;
    const current = Math.floor(now / spanMs);
    return (this.window = this.window.filter(
      (c) => Math.floor(c.at / spanMs) > current - window.buckets,
    ));
  }

  private move(to: CircuitState, now: number, cause?: Outcome): void {
    this.transitions.push(`${this.state}->${to}`);
    const from = this.state;
    this.state = to;
    this.successes = 0;
    this.trials = 0;
    this.generation++;
    if (to === 'open') {
      this.openedAt = now;
      let ms =
        from === 'half_open'
          ? Math.min(this.s.maxTimeout, (this.openMs ?? this.s.timeout) * 2)
          : this.s.timeout;
      if (cause === 'unavailable') ms = Math.max(ms, RETRY_AFTER);
      this.openMs = ms;
      this.window = [];
    }
  }
}

const outcome = fc.constantFrom<Outcome>('success', 'success', 'failure', 'ignored', 'unavailable');
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ call: outcome, ms: fc.integer({ min: 0, max: 400 }) }) },
  { weight: 2, arbitrary: fc.record({ wait: fc.integer({ min: 0, max: 3_000 }) }) },
  { weight: 1, arbitrary: fc.constant({ restart: true as const }) },
  { weight: 1, arbitrary: fc.record({ burst: fc.array(outcome, { minLength: 2, maxLength: 4 }) }) },
);
const settings: fc.Arbitrary<Settings> = fc
  .record({
    window: fc.oneof(
      fc.record({ calls: fc.integer({ min: 1, max: 8 }) }),
      fc
        .record({
          buckets: fc.integer({ min: 1, max: 5 }),
          per: fc.integer({ min: 100, max: 800 }),
        })
        .map(({ buckets, per }) => ({ time: buckets * per, buckets })),
    ),
    failureRateThreshold: fc.integer({ min: 1, max: 100 }),
    slowCallRateThreshold: fc.integer({ min: 1, max: 100 }),
    slowCallDuration: fc.integer({ min: 50, max: 300 }),
    minimumCalls: fc.integer({ min: 1, max: 8 }),
    timeout: fc.integer({ min: 100, max: 2_000 }),
    growth: fc.integer({ min: 1, max: 8 }),
    successThreshold: fc.integer({ min: 1, max: 3 }),
    halfOpenMaxCalls: fc.integer({ min: 1, max: 3 }),
  })
  .map(({ growth, ...rest }) => ({
    ...rest,
    minimumCalls:
      'calls' in rest.window ? Math.min(rest.minimumCalls, rest.window.calls) : rest.minimumCalls,
    maxTimeout: rest.timeout * growth,
  }));

function optionsOf(s: Settings): CircuitBreakerOptions {
  return {
    failureRateThreshold: s.failureRateThreshold,
    slowCallRateThreshold: s.slowCallRateThreshold,
    slowCallDuration: s.slowCallDuration,
    minimumCalls: s.minimumCalls,
    slidingWindow: s.window,
    timeout: s.timeout,
    maxTimeout: s.maxTimeout,
    successThreshold: s.successThreshold,
    halfOpenMaxCalls: s.halfOpenMaxCalls,
    exceptions: [Counted],
  };
}

function work(result: Outcome, ms: number): () => Promise<string> {
  return () =>
    new Promise((resolve, reject) =>
      setTimeout(() => {
        if (result === 'success') resolve('ok');
        else if (result === 'failure') reject(new Counted());
        else if (result === 'unavailable')
          reject(Object.assign(new Counted(), { retryAfter: RETRY_AFTER }));
        else reject(new Ignored());
      }, ms),
    );
}

describe('CircuitBreaker rate mode (properties)', () => {
  it('answers, moves and times its open periods as the reference model does', async () => {
    // The clock may start at 0, as a fake clock does by default: the first window then reaches before it.
    const start = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2_000_000 }));
    await fc.assert(
      fc.asyncProperty(
        settings,
        fc.array(step, { maxLength: 40 }),
        start,
        async (s, steps, now) => {
          const clock = sinon.useFakeTimers({ now });
          try {
            const model = new Model(s);
            const transitions: string[] = [];
            const make = (initialState?: ReturnType<CircuitBreaker['toJSON']>) =>
              new CircuitBreaker({
                ...optionsOf(s),
                ...(initialState ? { initialState } : {}),
                onStateChange: (from, to) => void transitions.push(`${from}->${to}`),
              });
            let breaker = make();
            for (const current of steps) {
              if ('wait' in current) await clock.tickAsync(current.wait);
              else if ('restart' in current) {
                // A restart keeps the state; only transitions made from now on are reported again.
                breaker = make(JSON.parse(JSON.stringify(breaker.toJSON())) as never);
              } else {
                const batch =
                  'burst' in current ? current.burst.map((call) => ({ call, ms: 100 })) : [current];
                const started = batch.map(({ call, ms }) => {
                  const admission = model.admit(Date.now());
                  const promise = breaker.protect(work(call, ms)).then(
                    () => 'ok',
                    (error: unknown) =>
                      error instanceof CircuitBreakerError ? 'rejected' : 'error',
                  );
                  return { call, ms, admission, promise };
                });
                const longest = Math.max(...batch.map((b) => b.ms));
                // Settle in order of duration (ties in start order), as the fake timers do.
                const order = started
                  .map((entry, i) => ({ ...entry, i }))
                  .sort((a, b) => a.ms - b.ms || a.i - b.i);
                const begin = Date.now();
                for (const entry of order) {
                  if (entry.admission === 'rejected') continue;
                  model.settle(entry.admission, entry.call, entry.ms, begin + entry.ms);
                }
                await clock.tickAsync(longest);
                const answers = await Promise.all(started.map((entry) => entry.promise));
                expect(answers).to.deep.equal(
                  started.map(({ call, admission }) =>
                    admission === 'rejected' ? 'rejected' : call === 'success' ? 'ok' : 'error',
                  ),
                );
              }
              expect(breaker.state).to.equal(model.look(Date.now()));
            }
            expect(transitions).to.deep.equal(model.transitions);
          } finally {
            clock.restore();
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
