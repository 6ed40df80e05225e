import { expect } from 'chai';
import fc from 'fast-check';
import sinon from 'sinon';
import {
  BackoffStrategy,
  CircuitBreakerError,
  ConfigError,
  RetryPolicy,
  TimeoutError,
  currentAttempt,
  retry,
  runWithTimeout,
  type RetryOptions,
} from '../../../src/index.js';
import { observe, useFakeClock } from '../../support/fake-clock.js';

class NetworkError extends Error {}
class NotFoundError extends Error {}

/** Runs a function that always fails under fake time and records the time of every try. */
async function tryTimes(clock: sinon.SinonFakeTimers, options: RetryOptions): Promise<number[]> {
  const times: number[] = [];
  const start = Date.now();
  const result = observe(
    retry(async () => {
      times.push(Date.now() - start);
      throw new NetworkError('down');
    }, options)(),
  );
  await clock.tickAsync(10 * 60_000);
  expect(result.error).to.be.instanceOf(NetworkError);
  return times;
}

function gaps(times: number[]): number[] {
  return times.slice(1).map((t, i) => t - times[i]);
}

describe('retry', () => {
  const time = useFakeClock();

  it('returns the value of a call that succeeds at once, calling it once', async () => {
    const fn = sinon.fake.resolves(42);
    expect(await retry(fn)()).to.equal(42);
    expect(fn.callCount).to.equal(1);
  });

  it('keeps the arguments and `this` of the wrapped function', async () => {
    const target = {
      factor: 3,
      times: retry(async function (this: { factor: number }, n: number) {
        return n * this.factor;
      }),
    };
    expect(await target.times(5)).to.equal(15);
  });

  it('waits 1s, 2s, 4s, 8s between tries by default (exponential, base 1s)', async () => {
    expect(gaps(await tryTimes(time.clock, { maxAttempts: 5 }))).to.deep.equal([
      1000, 2000, 4000, 8000,
    ]);
  });

  it('follows the seed exponential table 1, 2, 4, 8, 16 s over six tries', async () => {
    const options = {
      maxAttempts: 6,
      strategy: BackoffStrategy.EXPONENTIAL,
      baseDelay: '1s',
    } as const;
    expect(gaps(await tryTimes(time.clock, options))).to.deep.equal([
      1000, 2000, 4000, 8000, 16000,
    ]);
  });

  it('follows the seed linear table 2, 4, 6, 8, 10 s for a base of 2s', async () => {
    const options = { maxAttempts: 6, strategy: BackoffStrategy.LINEAR, baseDelay: '2s' } as const;
    expect(gaps(await tryTimes(time.clock, options))).to.deep.equal([
      2000, 4000, 6000, 8000, 10000,
    ]);
  });

  it('waits the base delay every time with the constant strategy', async () => {
    const options = { maxAttempts: 6, strategy: 'constant', baseDelay: 1000 } as const;
    expect(gaps(await tryTimes(time.clock, options))).to.deep.equal([1000, 1000, 1000, 1000, 1000]);
  });

  it('caps every delay at maxDelay', async () => {
    const options = { maxAttempts: 6, baseDelay: '1s', maxDelay: '5s' } as const;
    expect(gaps(await tryTimes(time.clock, options))).to.deep.equal([1000, 2000, 4000, 5000, 5000]);
  });

  it('counts maxAttempts as all tries, the first call included', async () => {
    expect(await tryTimes(time.clock, { maxAttempts: 3, baseDelay: 10 })).to.have.length(3);
    expect(await tryTimes(time.clock, { maxAttempts: 1 })).to.have.length(1);
  });

  it('rethrows the last error unchanged when tries run out', async () => {
    const errors = [new NetworkError('1'), new NetworkError('2'), new NetworkError('3')];
    let i = 0;
    const result = observe(retry(() => Promise.reject(errors[i++]), { baseDelay: 10 })());
    await time.clock.tickAsync(1000);
    expect(result.error).to.equal(errors[2]);
  });

  it('succeeds after failures and returns the successful value', async () => {
    let calls = 0;
    const result = observe(
      retry(
        async () => {
          if (++calls < 3) throw new NetworkError('flaky');
          return 'ok';
        },
        { baseDelay: 100 },
      )(),
    );
    await time.clock.tickAsync(300);
    expect(result.value).to.equal('ok');
    expect(calls).to.equal(3);
  });

  it('retries only errors named in `exceptions` and rethrows others at once', async () => {
    const fn = sinon.fake.rejects(new NotFoundError('404'));
    const result = observe(retry(fn, { exceptions: [NetworkError] })());
    await time.clock.tickAsync(10_000);
    expect(result.error).to.be.instanceOf(NotFoundError);
    expect(fn.callCount).to.equal(1);
  });

  it('AND-s retryIf with exceptions', async () => {
    const retryable = new NetworkError('retryable');
    const fatal = new NetworkError('fatal');
    const seen: unknown[] = [];
    const errors = [retryable, fatal];
    const result = observe(
      retry(
        async () => {
          const error = errors[seen.length];
          seen.push(error);
          throw error;
        },
        {
          exceptions: [NetworkError],
          retryIf: (e) => (e as Error).message === 'retryable',
          baseDelay: 1,
        },
      )(),
    );
    await time.clock.tickAsync(100);
    expect(result.error).to.equal(fatal);
    expect(seen).to.have.length(2);
  });

  it('does not retry CircuitBreakerError or ConfigError unless `exceptions` names them', async () => {
    for (const error of [
      new CircuitBreakerError('open', 1000),
      new ConfigError('x: expected y, got z'),
    ]) {
      const fn = sinon.fake.rejects(error);
      const result = observe(retry(fn, { baseDelay: 1 })());
      await time.clock.tickAsync(100);
      expect(result.error).to.equal(error);
      expect(fn.callCount).to.equal(1);
    }
    const fn = sinon.fake.rejects(new CircuitBreakerError('open', 0));
    observe(retry(fn, { baseDelay: 1, exceptions: [CircuitBreakerError] })());
    await time.clock.tickAsync(100);
    expect(fn.callCount).to.equal(3);
  });

  it('does not treat a broad `exceptions: [Error]` as naming CircuitBreakerError', async () => {
    const fn = sinon.fake.rejects(new CircuitBreakerError('open', 0));
    observe(retry(fn, { baseDelay: 1, exceptions: [Error] })());
    await time.clock.tickAsync(100);
    expect(fn.callCount).to.equal(1);
  });

  it('awaits onRetry with the failed attempt number before waiting', async () => {
    const events: string[] = [];
    const result = observe(
      retry(
        async () => {
          events.push(`try at ${Date.now()}`);
          throw new NetworkError('x');
        },
        {
          baseDelay: 100,
          onRetry: async (attempt, error) => {
            events.push(`onRetry ${attempt} ${(error as Error).message} at ${Date.now()}`);
            await new Promise((resolve) => setTimeout(resolve, 50));
          },
        },
      )(),
    );
    await time.clock.tickAsync(1000);
    expect(result.error).to.be.instanceOf(NetworkError);
    expect(events).to.deep.equal([
      'try at 0',
      'onRetry 1 x at 0',
      'try at 150',
      'onRetry 2 x at 150',
      'try at 400',
    ]);
  });

  describe('a callback that throws never replaces the outcome of the call', () => {
    const broken = () => {
      throw new Error('callback broke');
    };
    const reporting = (policy: RetryPolicy) => {
      const reported: unknown[] = [];
      policy.events.on('callbackError', ({ error }) => reported.push((error as Error).message));
      return reported;
    };
    /** Runs work that always fails under `policy` for 100 ms. */
    const runFailing = async (policy: RetryPolicy) => {
      const original = new NetworkError('original');
      const fn = sinon.fake.rejects(original);
      const result = observe(policy.execute(fn));
      await time.clock.tickAsync(100);
      return { original, fn, result };
    };

    it('onRetry: retrying goes on', async () => {
      const policy = new RetryPolicy({ baseDelay: 1, onRetry: broken });
      const reported = reporting(policy);
      const { original, fn, result } = await runFailing(policy);
      expect(result.error).to.equal(original);
      expect(fn.callCount).to.equal(3);
      expect(reported).to.have.length(2);
    });

    it('retryIf: nothing is retried and the original error is rethrown', async () => {
      const policy = new RetryPolicy({ baseDelay: 1, retryIf: broken });
      const reported = reporting(policy);
      const { original, fn, result } = await runFailing(policy);
      expect(result.error).to.equal(original);
      expect(fn.callCount).to.equal(1);
      expect(reported).to.deep.equal(['callback broke']);
    });

    it('retryOnResult: the value is accepted and the work is not run again', async () => {
      const policy = new RetryPolicy({ baseDelay: 1, retryOnResult: broken });
      const reported = reporting(policy);
      const fn = sinon.fake.resolves('done');
      const result = observe(policy.execute(fn));
      await time.clock.tickAsync(100);
      expect(result.value).to.equal('done');
      expect(fn.callCount).to.equal(1);
      expect(reported).to.deep.equal(['callback broke']);
    });

    it('delay: the strategy sets the wait and retrying goes on', async () => {
      const policy = new RetryPolicy({ baseDelay: 50, strategy: 'constant', delay: broken });
      const reported = reporting(policy);
      const original = new NetworkError('original');
      const fn = sinon.fake.rejects(original);
      const result = observe(policy.execute(fn));
      await time.clock.tickAsync(49);
      expect(fn.callCount).to.equal(1);
      await time.clock.tickAsync(1);
      expect(fn.callCount).to.equal(2);
      await time.clock.tickAsync(50);
      expect(result.error).to.equal(original);
      expect(reported).to.have.length(2);
    });
  });

  it('retries a result rejected by retryOnResult and returns the last value when tries run out', async () => {
    const statuses = [503, 503, 503];
    let i = 0;
    const result = observe(
      retry(async () => ({ status: statuses[i++] }), {
        retryOnResult: (r) => r.status >= 500,
        baseDelay: 10,
      })(),
    );
    await time.clock.tickAsync(1000);
    expect(result.value).to.deep.equal({ status: 503 });
    expect(i).to.equal(3);
  });

  it('returns the first value that retryOnResult accepts', async () => {
    const statuses = [503, 200];
    let i = 0;
    const result = observe(
      retry(async () => ({ status: statuses[i++] }), {
        retryOnResult: (r) => r.status >= 500,
        baseDelay: 10,
      })(),
    );
    await time.clock.tickAsync(1000);
    expect(result.value).to.deep.equal({ status: 200 });
  });

  it('uses the custom delay function, falling back to the strategy when it returns undefined', async () => {
    const options: RetryOptions = {
      maxAttempts: 4,
      baseDelay: 1000,
      delay: (attempt) => (attempt === 2 ? undefined : 7),
    };
    expect(gaps(await tryTimes(time.clock, options))).to.deep.equal([7, 2000, 7]);
  });

  it('waits at least an error’s retryAfter (ms)', async () => {
    const error = Object.assign(new NetworkError('slow down'), { retryAfter: 5000 });
    const times: number[] = [];
    const result = observe(
      retry(
        async () => {
          times.push(Date.now());
          throw error;
        },
        { maxAttempts: 2, baseDelay: 100 },
      )(),
    );
    await time.clock.tickAsync(10_000);
    expect(result.error).to.equal(error);
    expect(times).to.deep.equal([0, 5000]);
  });

  it('ends the retry loop at once when the signal aborts during a wait', async () => {
    const controller = new AbortController();
    const fn = sinon.fake.rejects(new NetworkError('x'));
    const result = observe(
      new RetryPolicy({ baseDelay: '10s' }).execute(fn, { signal: controller.signal }),
    );
    await time.clock.tickAsync(1000);
    const reason = new Error('caller left');
    controller.abort(reason);
    await time.clock.tickAsync(0);
    expect(result.error).to.equal(reason);
    expect(fn.callCount).to.equal(1);
    expect(time.clock.countTimers()).to.equal(0);
  });

  it('stops retrying when an enclosing timeout gives up, even when the call passes its own signal', async () => {
    const own = new AbortController();
    const fn = sinon.fake.rejects(new NetworkError('x'));
    const policy = new RetryPolicy({ maxAttempts: 5, baseDelay: 100, strategy: 'constant' });
    const result = observe(runWithTimeout(() => policy.execute(fn, { signal: own.signal }), 150));
    await time.clock.tickAsync(1000);
    expect(result.error).to.be.instanceOf(TimeoutError);
    expect(fn.callCount).to.equal(2);
  });

  it('ends without onRetry or a retry event when the signal aborted during the try', async () => {
    const controller = new AbortController();
    const onRetry = sinon.fake();
    const policy = new RetryPolicy({ baseDelay: 100, onRetry });
    const retries: unknown[] = [];
    policy.events.on('retry', (event) => retries.push(event));
    const reason = new Error('caller left');
    const result = observe(
      policy.execute(
        async () => {
          controller.abort(reason);
          throw new NetworkError('x');
        },
        { signal: controller.signal },
      ),
    );
    await time.clock.tickAsync(0);
    expect(result.error).to.equal(reason);
    expect(onRetry.callCount).to.equal(0);
    expect(retries).to.deep.equal([]);
  });

  it('announces no retry when the signal aborts while onRetry runs', async () => {
    const controller = new AbortController();
    const reason = new Error('caller left');
    const policy = new RetryPolicy({
      baseDelay: 100,
      onRetry: async () => {
        await new Promise((resolve) => setTimeout(resolve, 10));
        controller.abort(reason);
      },
    });
    const retries: unknown[] = [];
    policy.events.on('retry', (event) => retries.push(event));
    const fn = sinon.fake.rejects(new NetworkError('x'));
    const result = observe(policy.execute(fn, { signal: controller.signal }));
    await time.clock.tickAsync(1000);
    expect(result.error).to.equal(reason);
    expect(retries).to.deep.equal([]);
    expect(fn.callCount).to.equal(1);
  });

  it('does not start when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    const fn = sinon.fake.resolves(1);
    const result = observe(new RetryPolicy().execute(fn, { signal: controller.signal }));
    await time.clock.tickAsync(0);
    expect((result.error as Error).message).to.equal('gone');
    expect(fn.callCount).to.equal(0);
  });

  it('exposes the attempt number through currentAttempt()', async () => {
    const attempts: number[] = [];
    const result = observe(
      retry(
        async () => {
          attempts.push(currentAttempt());
          if (attempts.length < 3) throw new NetworkError('x');
          return 'done';
        },
        { baseDelay: 1 },
      )(),
    );
    await time.clock.tickAsync(100);
    expect(result.value).to.equal('done');
    expect(attempts).to.deep.equal([1, 2, 3]);
  });

  it('emits retry, success and giveUp events with their payloads', async () => {
    const policy = new RetryPolicy({ baseDelay: 100, maxAttempts: 2 });
    const seen: unknown[] = [];
    policy.events.on('*', (event) => seen.push(event));
    const error = new NetworkError('x');
    observe(policy.execute(() => Promise.reject(error)));
    await time.clock.tickAsync(1000);
    expect(seen).to.deep.equal([
      { type: 'retry', attempt: 1, delay: 100, error },
      { type: 'giveUp', attempts: 2, error },
    ]);
    seen.length = 0;
    let calls = 0;
    observe(
      policy.execute(async () => {
        if (++calls === 1) throw error;
        return 1;
      }),
    );
    await time.clock.tickAsync(1000);
    expect(seen).to.deep.equal([
      { type: 'retry', attempt: 1, delay: 100, error },
      { type: 'success', attempts: 2 },
    ]);
  });

  it('draws every jittered delay uniformly from [0, computed] (full jitter)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.constantFrom(...Object.values(BackoffStrategy)),
        fc.double({ min: 0, max: 0.9999999, noNaN: true }),
        (attempt, base, strategy, random) => {
          const stub = sinon.stub(Math, 'random').returns(random);
          try {
            const jittered = new RetryPolicy({ baseDelay: base, strategy, jitter: true }).delayFor(
              attempt,
              new Error(),
            );
            const computed = new RetryPolicy({ baseDelay: base, strategy }).delayFor(
              attempt,
              new Error(),
            );
            return jittered >= 0 && jittered <= computed && computed <= Math.max(60_000, base);
          } finally {
            stub.restore();
          }
        },
      ),
    );
  });

  it('computes a finite delay within [0, maxDelay] for any attempt, a zero base included', () => {
    expect(
      new RetryPolicy({ baseDelay: 0, maxAttempts: 2000 }).delayFor(1025, new Error()),
    ).to.equal(0);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: -5, max: 5_000 }),
          fc.constantFrom(NaN, Infinity, -Infinity, 0.5, Number.MAX_SAFE_INTEGER),
        ),
        fc.constantFrom(0, 1, 1000),
        fc.constantFrom(1000, 60_000, 2 ** 31 - 1),
        fc.constantFrom(...Object.values(BackoffStrategy)),
        fc.constantFrom(false, true, 'equal' as const),
        (attempt, baseDelay, maxDelay, strategy, jitter) => {
          const delay = new RetryPolicy({ baseDelay, maxDelay, strategy, jitter }).delayFor(
            attempt,
            new Error(),
          );
          return Number.isFinite(delay) && delay >= 0 && delay <= maxDelay;
        },
      ),
    );
  });

  it('reports a finite delay in every retry event of a long run with a zero base', async () => {
    const policy = new RetryPolicy({ baseDelay: 0, maxAttempts: 1030 });
    const delays: number[] = [];
    policy.events.on('retry', ({ delay }) => delays.push(delay));
    const result = observe(policy.execute(() => Promise.reject(new NetworkError('down'))));
    await time.clock.tickAsync(5_000); // a 0 ms timer set while the clock ticks fires 1 ms later
    expect(result.error).to.be.instanceOf(NetworkError);
    expect(delays).to.have.length(1029);
    expect(delays.every((delay) => delay === 0)).to.equal(true);
  });

  it('falls back to the strategy when a custom delay is not a finite number of at least 0', () => {
    for (const custom of [NaN, Infinity, -Infinity, -1]) {
      const policy = new RetryPolicy({ baseDelay: 100, maxDelay: 1000, delay: () => custom });
      expect(policy.delayFor(2, new Error()), String(custom)).to.equal(200);
    }
  });

  it('honours a retryAfter past maxDelay but keeps it finite', () => {
    const policy = new RetryPolicy({ baseDelay: 100, maxDelay: 1000 });
    const delayAfter = (retryAfter: number) =>
      policy.delayFor(1, Object.assign(new Error(), { retryAfter }));
    expect(delayAfter(5000)).to.equal(5000);
    expect(delayAfter(Infinity)).to.equal(2 ** 31 - 1);
    expect(delayAfter(NaN)).to.equal(100);
    expect(delayAfter(-5)).to.equal(100);
  });

  it('rejects invalid options at construction with a ConfigError naming option, rule and value', () => {
    const cases: [RetryOptions, RegExp][] = [
      [{ maxAttempts: 0 }, /maxAttempts: expected an integer .* got 0/],
      [{ maxAttempts: 2.5 }, /maxAttempts/],
      [{ baseDelay: -1 }, /baseDelay: expected a duration .* got -1/],
      [
        { baseDelay: '5s', maxDelay: '1s' },
        /maxDelay: expected at least baseDelay \(5000 ms\), got "1s"/,
      ],
      [
        { strategy: 'fibonacci' as never },
        /strategy: expected one of "exponential", "linear", "constant", got "fibonacci"/,
      ],
      [{ jitter: 'yes' as never }, /jitter/],
      [{ exceptions: 'NetworkError' as never }, /exceptions: expected an array of error classes/],
      [{ maxAtempts: 5 } as never, /maxAtempts: unknown option/],
    ];
    for (const [options, message] of cases) {
      expect(() => retry(async () => 1, options), JSON.stringify(options)).to.throw(
        ConfigError,
        message,
      );
    }
  });
});
