import { expect } from 'chai';
import {
  CircuitBreaker,
  CircuitBreakerError,
  ConfigError,
  ResilienceRegistry,
  type CircuitBreakerOptions,
  type CircuitState,
} from '../../../src/index.js';
import { observe, useFakeClock } from '../../support/fake-clock.js';

class Down extends Error {}
class NotFound extends Error {}

const ok = () => Promise.resolve('ok');
const down = () => Promise.reject(new Down('down'));

/** Calls through `breaker` one after another; each outcome is 'ok', 'down' or 'ignored'. */
async function calls(breaker: CircuitBreaker, outcomes: string): Promise<void> {
  for (const outcome of outcomes) {
    const fn = outcome === 'o' ? ok : outcome === 'x' ? down : () => Promise.reject(new NotFound());
    await breaker.protect(fn).catch(() => undefined);
  }
}

/** A call that takes `ms` of fake time and then succeeds (or fails). */
function takes(ms: number, fail = false) {
  return () =>
    new Promise((resolve, reject) =>
      setTimeout(() => (fail ? reject(new Down('slow down')) : resolve('late')), ms),
    );
}

async function openError(breaker: CircuitBreaker): Promise<CircuitBreakerError> {
  const error = await breaker.protect(ok).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).to.be.instanceOf(CircuitBreakerError);
  return error as CircuitBreakerError;
}

describe('CircuitBreaker: rate mode', () => {
  const time = useFakeClock(1_000_000);

  describe('options', () => {
    const invalid: [string, CircuitBreakerOptions, RegExp][] = [
      [
        'both failureThreshold and a rate',
        { failureThreshold: 5, failureRateThreshold: 50 },
        /^failureThreshold: expected to be left out in rate mode/,
      ],
      [
        'a window without rate mode',
        { slidingWindow: { calls: 10 } },
        /^slidingWindow: expected only with failureRateThreshold/,
      ],
      ['minimumCalls without rate mode', { minimumCalls: 5 }, /^minimumCalls: expected only with/],
      [
        'a rate of 0',
        { failureRateThreshold: 0 },
        /^failureRateThreshold: expected a percent greater than 0 and at most 100, got 0/,
      ],
      [
        'a rate above 100',
        { failureRateThreshold: 101 },
        /^failureRateThreshold: expected a percent/,
      ],
      [
        'a slow rate of NaN',
        { slowCallDuration: '1s', slowCallRateThreshold: NaN },
        /^slowCallRateThreshold: expected a percent/,
      ],
      [
        'a window of both kinds',
        { failureRateThreshold: 50, slidingWindow: { calls: 10, time: '1s' } as never },
        /^slidingWindow: expected \{ calls/,
      ],
      [
        'a window of no kind',
        { failureRateThreshold: 50, slidingWindow: {} as never },
        /^slidingWindow: expected \{ calls/,
      ],
      [
        'a count window of 0 calls',
        { failureRateThreshold: 50, slidingWindow: { calls: 0 } },
        /^slidingWindow\.calls: expected an integer from 1/,
      ],
      [
        'a time window shorter than its buckets',
        { failureRateThreshold: 50, slidingWindow: { time: 5, buckets: 10 } },
        /^slidingWindow\.time: expected a duration of at least one ms per bucket/,
      ],
      [
        'an unknown window key',
        { failureRateThreshold: 50, slidingWindow: { calls: 10, size: 3 } as never },
        /^slidingWindow\.size: unknown option/,
      ],
      [
        'more minimum calls than the window holds',
        { failureRateThreshold: 50, slidingWindow: { calls: 10 }, minimumCalls: 11 },
        /^minimumCalls: expected at most the window's 10 calls, got 11/,
      ],
      [
        'a maxTimeout below the timeout',
        { timeout: '10s', maxTimeout: '5s' },
        /^maxTimeout: expected at least timeout \(10000 ms\)/,
      ],
      [
        'a slowCallDuration that is not a duration',
        { slowCallDuration: 'soon' as never },
        /^slowCallDuration: expected a duration/,
      ],
    ];
    for (const [label, options, message] of invalid) {
      it(`refuses ${label} at construction`, () => {
        expect(() => new CircuitBreaker(options)).to.throw(ConfigError, message);
      });
    }

    it('turns rate mode on with slowCallDuration alone (failure rate 50 %, slow rate 100 %)', () => {
      const { rate } = new CircuitBreaker({ slowCallDuration: '2s' }).options;
      expect(rate).to.deep.include({
        failureRateThreshold: 50,
        slowCallRateThreshold: 100,
        minimumCalls: 10,
      });
      expect(rate!.window).to.deep.equal({ calls: 100 });
    });

    it('judges a count window smaller than 10 calls once it is full, when minimumCalls is not given', async () => {
      const breaker = new CircuitBreaker({ failureRateThreshold: 50, slidingWindow: { calls: 4 } });
      expect(breaker.options.rate!.minimumCalls).to.equal(4);
      await calls(breaker, 'oox');
      expect(breaker.state).to.equal('closed');
      await calls(breaker, 'x');
      expect(breaker.state).to.equal('open');
    });

    it('keeps consecutive mode, with no rate, by default', () => {
      const { options } = new CircuitBreaker();
      expect(options.rate).to.equal(undefined);
      expect(options.failureThreshold).to.equal(5);
      expect(options.maxTimeout).to.equal(60_000);
    });
  });

  describe('count window', () => {
    it('opens when the failure rate of the last calls reaches the threshold, not before', async () => {
      const breaker = new CircuitBreaker({
        failureRateThreshold: 50,
        slidingWindow: { calls: 10 },
        minimumCalls: 10,
      });
      await calls(breaker, 'oxoxoxoxo');
      expect(breaker.state).to.equal('closed'); // 9 calls: below minimumCalls
      await calls(breaker, 'o');
      expect(breaker.metrics()).to.deep.include({ calls: 10, failedCalls: 4, failureRate: 40 });
      expect(breaker.state).to.equal('closed');
      await calls(breaker, 'x'); // the oldest 'o' leaves: 5 of 10 failed
      expect(breaker.state).to.equal('open');
    });

    it('forgets the outcome that leaves the window when it is full', async () => {
      const breaker = new CircuitBreaker({
        failureRateThreshold: 50,
        slidingWindow: { calls: 4 },
        minimumCalls: 4,
      });
      await calls(breaker, 'xoooo'); // the failure has left
      await calls(breaker, 'x');
      expect(breaker.metrics()).to.deep.include({ calls: 4, failedCalls: 1 });
      expect(breaker.state).to.equal('closed');
    });

    it('opens at a steady 30 % failure rate that never makes 5 failures in a row', async () => {
      const rate = new CircuitBreaker({ failureRateThreshold: 25, slidingWindow: { calls: 20 } });
      const consecutive = new CircuitBreaker({ failureThreshold: 5 });
      const pattern = 'ooxoooxooxoooxooxoooxoox'.repeat(4);
      await calls(rate, pattern);
      await calls(consecutive, pattern);
      expect(rate.state).to.equal('open');
      expect(consecutive.state).to.equal('closed');
    });

    it('does not record errors outside `exceptions`: they are neither failures nor successes', async () => {
      const breaker = new CircuitBreaker({
        failureRateThreshold: 50,
        slidingWindow: { calls: 4 },
        minimumCalls: 4,
        exceptions: [Down],
      });
      await calls(breaker, 'xx??????o');
      expect(breaker.metrics()).to.deep.include({ calls: 3, failedCalls: 2 });
      await calls(breaker, 'o');
      expect(breaker.state).to.equal('open');
    });

    it('counts a value refused by isFailureResult as a failed call, and still returns it', async () => {
      const breaker = new CircuitBreaker<{ status: number }>({
        failureRateThreshold: 100,
        slidingWindow: { calls: 2 },
        minimumCalls: 2,
        isFailureResult: (reply) => reply.status >= 500,
      });
      expect(await breaker.protect(async () => ({ status: 503 }))).to.deep.equal({ status: 503 });
      await breaker.protect(async () => ({ status: 500 }));
      expect(breaker.state).to.equal('open');
    });

    it('clears the window when it opens, so the next closed period starts afresh', async () => {
      const breaker = new CircuitBreaker({
        failureRateThreshold: 50,
        slidingWindow: { calls: 4 },
        minimumCalls: 2,
        timeout: '1s',
        successThreshold: 1,
      });
      await calls(breaker, 'xx');
      expect(breaker.state).to.equal('open');
      expect(breaker.metrics().calls).to.equal(0);
      await time.clock.tickAsync(1_000);
      await calls(breaker, 'o'); // trial closes it
      await calls(breaker, 'x');
      expect(breaker.state).to.equal('closed'); // 1 call: below minimumCalls, not judged on old failures
    });
  });

  describe('time window', () => {
    it('judges only the calls of the last `time`, rotating buckets without a timer', async () => {
      const breaker = new CircuitBreaker({
        failureRateThreshold: 50,
        slidingWindow: { time: '10s', buckets: 10 },
        minimumCalls: 4,
      });
      await calls(breaker, 'xxx');
      expect(time.clock.countTimers()).to.equal(0);
      await time.clock.tickAsync(11_000); // the three failures have aged out
      await calls(breaker, 'ooox');
      expect(breaker.metrics()).to.deep.include({ calls: 4, failedCalls: 1 });
      expect(breaker.state).to.equal('closed');
      await time.clock.tickAsync(5_000);
      await calls(breaker, 'x'); // 2 of 5 in the window
      expect(breaker.state).to.equal('closed');
      await calls(breaker, 'x'); // 3 of 6
      expect(breaker.state).to.equal('open');
    });

    for (const start of [0, 1, 4_999]) {
      it(`counts from a clock that starts at ${start} ms, as a fake clock does`, async () => {
        time.clock.setSystemTime(start);
        const breaker = new CircuitBreaker({
          failureRateThreshold: 50,
          slidingWindow: { time: '10s', buckets: 10 },
          minimumCalls: 4,
        });
        await calls(breaker, 'oxx');
        expect(breaker.metrics()).to.deep.include({ calls: 3, failedCalls: 2 });
        await calls(breaker, 'x');
        expect(breaker.state).to.equal('open');
      });
    }

    it('goes on aging its calls from the time it reads after the wall clock steps back', async () => {
      const breaker = new CircuitBreaker({
        failureRateThreshold: 50,
        slidingWindow: { time: '10s', buckets: 10 },
        minimumCalls: 3,
      });
      await calls(breaker, 'x');
      time.clock.setSystemTime(Date.now() - 600_000);
      await calls(breaker, 'o');
      expect(breaker.metrics()).to.deep.include({ calls: 2, failedCalls: 1 });
      await time.clock.tickAsync(10_000); // both have aged out, long before the clock is back where it was
      expect(breaker.metrics().calls).to.equal(0);
      await calls(breaker, 'xoo');
      expect(breaker.metrics()).to.deep.include({ calls: 3, failedCalls: 1 });
      expect(breaker.state).to.equal('closed');
    });

    it('saves the times of its buckets as the clock reads them after a step back', async () => {
      const options: CircuitBreakerOptions = {
        failureRateThreshold: 90,
        slidingWindow: { time: '10s', buckets: 10 },
      };
      const first = new CircuitBreaker(options);
      await calls(first, 'x');
      time.clock.setSystemTime(Date.now() - 600_000);
      await calls(first, 'o');
      const saved = first.toJSON();
      expect(saved.window).to.deep.equal({ type: 'time', buckets: [[Date.now(), 2, 1, 0]] });
      const second = new CircuitBreaker({ ...options, initialState: saved });
      await time.clock.tickAsync(9_999);
      expect(second.metrics()).to.deep.include({ calls: 2, failedCalls: 1 });
      await time.clock.tickAsync(1);
      expect(second.metrics().calls).to.equal(0);
    });

    it('reports metrics of the current window, dropping aged buckets when read', async () => {
      const breaker = new CircuitBreaker({
        failureRateThreshold: 90,
        slidingWindow: { time: '1s' },
      });
      await calls(breaker, 'xo');
      expect(breaker.metrics()).to.deep.equal({
        calls: 2,
        failedCalls: 1,
        slowCalls: 0,
        failureRate: 50,
        slowCallRate: 0,
      });
      await time.clock.tickAsync(1_000);
      expect(breaker.metrics().calls).to.equal(0);
    });
  });

  describe('slow calls', () => {
    it('counts a call slower than slowCallDuration as slow whatever its outcome, and opens on the slow rate', async () => {
      const breaker = new CircuitBreaker({
        slowCallDuration: '2s',
        slowCallRateThreshold: 50,
        slidingWindow: { calls: 4 },
        minimumCalls: 4,
      });
      const run = (fn: () => Promise<unknown>, ms: number) => {
        const call = observe(breaker.protect(fn));
        return time.clock.tickAsync(ms).then(() => call);
      };
      await run(takes(100), 100);
      await run(takes(3_000), 3_000);
      await run(takes(2_500, true), 2_500);
      expect(breaker.metrics()).to.deep.include({ calls: 3, slowCalls: 2, failedCalls: 1 });
      expect(breaker.state).to.equal('closed');
      await run(takes(50), 50);
      expect(breaker.state).to.equal('open'); // 2 slow of 4: 50 %
    });

    it('counts a call that settles exactly at slowCallDuration as not slow', async () => {
      const breaker = new CircuitBreaker({
        slowCallDuration: '2s',
        slidingWindow: { calls: 4 },
        minimumCalls: 4,
      });
      const first = observe(breaker.protect(takes(2_000)));
      const second = observe(breaker.protect(takes(2_001, true)));
      await time.clock.tickAsync(2_001);
      expect(first.value).to.equal('late');
      expect(second.error).to.be.instanceOf(Down);
      expect(breaker.metrics()).to.deep.include({ calls: 2, slowCalls: 1, slowCallRate: 50 });
    });

    it('re-opens on a slow trial in HALF_OPEN, even one that succeeded', async () => {
      const breaker = new CircuitBreaker({
        slowCallDuration: '1s',
        slidingWindow: { calls: 2 },
        minimumCalls: 2,
        failureRateThreshold: 50,
        timeout: '5s',
      });
      await calls(breaker, 'xx');
      await time.clock.tickAsync(5_000);
      const trial = observe(breaker.protect(takes(1_500)));
      await time.clock.tickAsync(1_500);
      expect(trial.value).to.equal('late');
      expect(breaker.state).to.equal('open');
    });
  });

  describe('open backoff', () => {
    it('doubles the open time on each re-open from HALF_OPEN up to maxTimeout, and closing resets it', async () => {
      const breaker = new CircuitBreaker({
        failureThreshold: 1,
        timeout: '5s',
        maxTimeout: '20s',
        successThreshold: 1,
      });
      const openTimes: number[] = [];
      await calls(breaker, 'x');
      for (let i = 0; i < 4; i++) {
        openTimes.push((await openError(breaker)).retryAfter);
        await time.clock.tickAsync(openTimes[i]);
        await calls(breaker, 'x'); // the trial fails
      }
      expect(openTimes).to.deep.equal([5_000, 10_000, 20_000, 20_000]);
      await time.clock.tickAsync(20_000);
      await calls(breaker, 'o'); // closes
      await calls(breaker, 'x');
      expect((await openError(breaker)).retryAfter).to.equal(5_000);
    });

    it("stays open at least the failure's retryAfter (a 503's Retry-After)", async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 1, timeout: '5s' });
      const unavailable = Object.assign(new Down('503'), { retryAfter: 30_000 });
      await breaker.protect(() => Promise.reject(unavailable)).catch(() => undefined);
      expect((await openError(breaker)).retryAfter).to.equal(30_000);
      await time.clock.tickAsync(29_000);
      expect(breaker.state).to.equal('open');
      await time.clock.tickAsync(1_000);
      expect(breaker.state).to.equal('half_open');
    });

    it("doubles its own open time, not a failure's retryAfter that held it open longer", async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 1, timeout: '5s', maxTimeout: '5m' });
      const tooMany = (retryAfter: number) => () =>
        Promise.reject(Object.assign(new Down('429'), { retryAfter }));
      const openTimes: number[] = [];
      const fail = async (fn: () => Promise<never>) => {
        await breaker.protect(fn).catch(() => undefined);
        openTimes.push((await openError(breaker)).retryAfter);
        await time.clock.tickAsync(openTimes.at(-1)!);
      };
      await fail(tooMany(120_000)); // opens for the Retry-After: 120 s
      await fail(down); // the trial fails: 10 s, the backoff after 5 s, not 240 s
      await fail(tooMany(60_000)); // 20 s is the backoff, the Retry-After holds it 60 s
      await fail(down); // 40 s
      expect(openTimes).to.deep.equal([120_000, 10_000, 60_000, 40_000]);
    });

    it('keeps its backoff apart from a longer retryAfter across toJSON() and initialState', async () => {
      const options = { failureThreshold: 1, timeout: '5s', maxTimeout: '5m' } as const;
      const breaker = new CircuitBreaker(options);
      const tooMany = Object.assign(new Down('429'), { retryAfter: 120_000 });
      await breaker.protect(() => Promise.reject(tooMany)).catch(() => undefined);
      const saved = breaker.toJSON();
      expect(saved).to.include({ openMs: 120_000, backoffMs: 5_000 });
      const restored = new CircuitBreaker({ ...options, initialState: saved });
      expect(restored.toJSON()).to.deep.equal(saved);
      await time.clock.tickAsync(120_000);
      await calls(restored, 'x'); // the trial fails
      expect((await openError(restored)).retryAfter).to.equal(10_000);
      expect(restored.toJSON()).to.not.have.property('backoffMs');
    });

    it('is reconfigured by a registry while a retryAfter holds it open', async () => {
      const registry = new ResilienceRegistry({
        circuitBreaker: { api: { failureThreshold: 1, timeout: '5s', maxTimeout: '5m' } },
      });
      const tooMany = Object.assign(new Down('429'), { retryAfter: 120_000 });
      await registry
        .circuitBreaker('api')
        .protect(() => Promise.reject(tooMany))
        .catch(() => undefined);
      registry.configure({
        circuitBreaker: { api: { failureThreshold: 1, timeout: '10s', maxTimeout: '5m' } },
      });
      const breaker = registry.circuitBreaker('api');
      expect(breaker.state).to.equal('open'); // kept open, for the new open time
      await time.clock.tickAsync(10_000);
      await calls(breaker, 'x'); // the trial fails
      expect((await openError(breaker)).retryAfter).to.equal(20_000);
    });
  });

  describe('observing', () => {
    it('metrics() never moves an open circuit to half-open nor emits an event', async () => {
      const breaker = new CircuitBreaker({
        failureRateThreshold: 50,
        slidingWindow: { calls: 2 },
        minimumCalls: 2,
        timeout: '1s',
      });
      await calls(breaker, 'xx');
      const changes: string[] = [];
      breaker.events.on('stateChange', ({ to }) => changes.push(to));
      await time.clock.tickAsync(5_000);
      breaker.metrics();
      expect(breaker.toJSON().state).to.equal('open' satisfies CircuitState); // saved as it stands
      expect(breaker.peekState()).to.equal('half_open' satisfies CircuitState);
      expect(changes).to.deep.equal([]);
      expect(breaker.state).to.equal('half_open' satisfies CircuitState); // reading the state does move it
      expect(changes).to.deep.equal(['half_open']);
    });
  });

  describe('persistence', () => {
    for (const slidingWindow of [{ calls: 5 }, { time: '10s', buckets: 5 }] as const) {
      it(`restores the window of a ${'calls' in slidingWindow ? 'count' : 'time'} window from toJSON()`, async () => {
        const options = { failureRateThreshold: 60, slidingWindow, minimumCalls: 5 };
        const first = new CircuitBreaker(options);
        await calls(first, 'xo');
        await time.clock.tickAsync(2_000);
        await calls(first, 'xo');
        const saved = JSON.parse(JSON.stringify(first.toJSON())) as ReturnType<
          CircuitBreaker['toJSON']
        >;
        const second = new CircuitBreaker({ ...options, initialState: saved });
        expect(second.metrics()).to.deep.equal(first.metrics());
        await calls(second, 'x'); // 3 of 5 failed
        expect(second.state).to.equal('open');
      });
    }

    it("saves a count window's outcomes oldest first, whether it is full or not", async () => {
      const options = { failureRateThreshold: 90, slidingWindow: { calls: 3 }, minimumCalls: 3 };
      const full = new CircuitBreaker(options);
      await calls(full, 'xoox'); // the first failure has left the window
      expect(full.toJSON().window).to.deep.equal({ type: 'calls', outcomes: [0, 0, 1] });
      const partial = new CircuitBreaker({ ...options, slidingWindow: { calls: 5 } });
      await calls(partial, 'xo');
      expect(partial.toJSON().window).to.deep.equal({ type: 'calls', outcomes: [1, 0] });
    });

    it('keeps the open time of a backed-off circuit across a restart', async () => {
      const options: CircuitBreakerOptions = {
        failureThreshold: 1,
        timeout: '5s',
        maxTimeout: '1m',
      };
      const first = new CircuitBreaker(options);
      await calls(first, 'x');
      await time.clock.tickAsync(5_000);
      await calls(first, 'x'); // re-opens for 10 s
      const second = new CircuitBreaker({ ...options, initialState: first.toJSON() });
      expect((await openError(second)).retryAfter).to.equal(10_000);
    });

    it('starts with an empty window when the saved one is of the other kind (the window option changed)', async () => {
      const byCount: CircuitBreakerOptions = {
        failureRateThreshold: 90,
        slidingWindow: { calls: 5 },
      };
      const byTime: CircuitBreakerOptions = {
        failureRateThreshold: 90,
        slidingWindow: { time: '5s' },
      };
      const count = new CircuitBreaker(byCount);
      const timed = new CircuitBreaker(byTime);
      await calls(count, 'xo');
      await calls(timed, 'xo');
      const fromCount = new CircuitBreaker({ ...byTime, initialState: count.toJSON() });
      const fromTime = new CircuitBreaker({ ...byCount, initialState: timed.toJSON() });
      expect([fromCount.metrics().calls, fromTime.metrics().calls]).to.deep.equal([0, 0]);
    });

    it('restores only the saved buckets within its window, in whatever order they come', () => {
      const bucket = (ago: number, calls: number, failed: number) => [
        Date.now() - ago,
        calls,
        failed,
        0,
      ];
      const breaker = new CircuitBreaker({
        failureRateThreshold: 90,
        slidingWindow: { time: '10s', buckets: 10 },
        initialState: {
          state: 'closed',
          failures: 0,
          successes: 0,
          openedAt: null,
          isolated: false,
          openMs: null,
          window: {
            type: 'time',
            buckets: [bucket(0, 1, 0), bucket(60_000, 5, 5), bucket(3_000, 2, 1)],
          },
        },
      });
      expect(breaker.metrics()).to.deep.include({ calls: 3, failedCalls: 1 });
    });

    it('refuses a saved window that is not one', () => {
      for (const window of [
        { type: 'calls', outcomes: [7] },
        { type: 'time', buckets: [[0, 1, 2, 0]] },
        { type: 'ring' },
      ])
        expect(
          () =>
            new CircuitBreaker({
              failureRateThreshold: 50,
              initialState: {
                state: 'closed',
                failures: 0,
                successes: 0,
                openedAt: null,
                isolated: false,
                openMs: null,
                window,
              } as never,
            }),
        ).to.throw(ConfigError, /^initialState: expected/);
    });
  });
});
