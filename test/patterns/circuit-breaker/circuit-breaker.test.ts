import { expect } from 'chai';
import sinon from 'sinon';
import {
  CircuitBreaker,
  CircuitBreakerError,
  CircuitState,
  ConfigError,
  type CircuitBreakerOptions,
} from '../../../src/index.js';
import { observe, useFakeClock } from '../../support/fake-clock.js';
import { thrown } from '../../support/rejection.js';

class NetworkError extends Error {}
class NotFoundError extends Error {}

// Captured before fake timers replace it: only a real turn of the event loop reveals unhandled rejections.
const realSetImmediate = globalThis.setImmediate;

const fail = () => Promise.reject(new NetworkError('down'));
const succeed = () => Promise.resolve('ok');

/** Runs `fn` through the breaker and returns the error it rejected with (or undefined). */
async function settle(breaker: CircuitBreaker, fn: () => unknown): Promise<unknown> {
  try {
    await breaker.protect(fn);
    return undefined;
  } catch (error) {
    return error;
  }
}

async function failTimes(breaker: CircuitBreaker, times: number): Promise<void> {
  for (let i = 0; i < times; i++) await settle(breaker, fail);
}

describe('CircuitBreaker', () => {
  const time = useFakeClock(1_000_000);

  it('spells its states closed, open and half_open', () => {
    expect(CircuitState).to.deep.equal({ CLOSED: 'closed', OPEN: 'open', HALF_OPEN: 'half_open' });
  });

  it('defaults to 5 failures, a 60s timeout, 2 successes and 1 half-open call', () => {
    expect(new CircuitBreaker().options).to.include({
      failureThreshold: 5,
      timeout: 60_000,
      successThreshold: 2,
      halfOpenMaxCalls: 1,
    });
  });

  describe('closed', () => {
    it('starts closed and passes values and errors on unchanged', async () => {
      const breaker = new CircuitBreaker();
      expect(breaker.state).to.equal(CircuitState.CLOSED);
      expect(await breaker.protect(succeed)).to.equal('ok');
      const error = new NetworkError('x');
      expect(await settle(breaker, () => Promise.reject(error))).to.equal(error);
    });

    it('trips open after 5 consecutive failures, not before', async () => {
      const breaker = new CircuitBreaker();
      await failTimes(breaker, 4);
      expect(breaker.state).to.equal(CircuitState.CLOSED);
      await failTimes(breaker, 1);
      expect(breaker.state).to.equal(CircuitState.OPEN);
    });

    it('resets the failure count on a success', async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 3 });
      await failTimes(breaker, 2);
      await breaker.protect(succeed);
      await failTimes(breaker, 2);
      expect(breaker.state).to.equal(CircuitState.CLOSED);
      await failTimes(breaker, 1);
      expect(breaker.state).to.equal(CircuitState.OPEN);
    });

    it('counts a synchronous throw and a synchronous value like promised ones', async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 2 });
      const thrown = await settle(breaker, () => {
        throw new NetworkError('sync');
      });
      expect(thrown).to.be.instanceOf(NetworkError);
      expect(await breaker.protect(() => 42)).to.equal(42);
      await failTimes(breaker, 1);
      expect(breaker.state).to.equal(CircuitState.CLOSED);
    });

    it('lets a 404-like error outside `exceptions` pass through uncounted', async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 2, exceptions: [NetworkError] });
      const notFound = new NotFoundError('404');
      for (let i = 0; i < 10; i++)
        expect(await settle(breaker, () => Promise.reject(notFound))).to.equal(notFound);
      expect(breaker.state).to.equal(CircuitState.CLOSED);
      await failTimes(breaker, 2);
      expect(breaker.state).to.equal(CircuitState.OPEN);
    });

    it('counts a value rejected by isFailureResult as a failure and still returns it', async () => {
      const breaker = new CircuitBreaker({
        failureThreshold: 2,
        isFailureResult: (response: { status: number }) => response.status >= 500,
      });
      const response = { status: 503 };
      expect(await breaker.protect(() => response)).to.equal(response);
      expect(await breaker.protect(() => Promise.resolve(response))).to.equal(response);
      expect(breaker.state).to.equal(CircuitState.OPEN);
    });
  });

  describe('open', () => {
    it('rejects at once with CircuitBreakerError carrying state and retryAfter, without calling', async () => {
      const breaker = new CircuitBreaker({ timeout: '30s' });
      await failTimes(breaker, 5);
      await time.clock.tickAsync(10_000);
      const fn = sinon.fake.resolves('never');
      const error = await settle(breaker, fn);
      expect(error).to.be.instanceOf(CircuitBreakerError);
      expect(error).to.include({ state: 'open', retryAfter: 20_000, code: 'ERR_CIRCUIT_OPEN' });
      expect(fn.callCount).to.equal(0);
    });

    it('half-opens after `timeout` without holding a timer meanwhile', async () => {
      const breaker = new CircuitBreaker({ timeout: '60s' });
      await failTimes(breaker, 5);
      expect(time.clock.countTimers()).to.equal(0);
      await time.clock.tickAsync(59_999);
      expect(breaker.state).to.equal(CircuitState.OPEN);
      await time.clock.tickAsync(1);
      expect(breaker.state).to.equal(CircuitState.HALF_OPEN);
    });

    it('makes the half-open move on the next call when nobody read the state', async () => {
      const changes: string[] = [];
      const breaker = new CircuitBreaker({
        timeout: 1000,
        onStateChange: (from, to) => void changes.push(`${from}->${to}`),
      });
      await failTimes(breaker, 5);
      await time.clock.tickAsync(1_000);
      expect(await breaker.protect(succeed)).to.equal('ok');
      expect(changes).to.deep.equal(['closed->open', 'open->half_open']);
    });
  });

  describe('half-open', () => {
    async function halfOpen(options: CircuitBreakerOptions = {}): Promise<CircuitBreaker> {
      const breaker = new CircuitBreaker({ timeout: 1000, ...options });
      await failTimes(breaker, breaker.options.failureThreshold);
      await time.clock.tickAsync(1_000);
      expect(breaker.state).to.equal(CircuitState.HALF_OPEN);
      return breaker;
    }

    it('closes after 2 successful trial calls', async () => {
      const breaker = await halfOpen();
      await breaker.protect(succeed);
      expect(breaker.state).to.equal(CircuitState.HALF_OPEN);
      await breaker.protect(succeed);
      expect(breaker.state).to.equal(CircuitState.CLOSED);
    });

    it('re-opens on a trial failure with a fresh timeout', async () => {
      const breaker = await halfOpen();
      await breaker.protect(succeed);
      await failTimes(breaker, 1);
      expect(breaker.state).to.equal(CircuitState.OPEN);
      const error = await settle(breaker, succeed);
      expect(error).to.include({ state: 'open', retryAfter: 1_000 });
      await time.clock.tickAsync(1_000);
      expect(breaker.state).to.equal(CircuitState.HALF_OPEN);
    });

    it('lets one trial call through at a time by default and rejects the rest', async () => {
      const breaker = await halfOpen();
      let finish!: (value: string) => void;
      const trial = breaker.protect(() => new Promise<string>((resolve) => (finish = resolve)));
      const extra = await settle(breaker, succeed);
      expect(extra).to.be.instanceOf(CircuitBreakerError);
      expect(extra).to.include({ state: 'half_open', retryAfter: 0 });
      finish('done');
      expect(await trial).to.equal('done');
      expect(await breaker.protect(succeed)).to.equal('ok');
      expect(breaker.state).to.equal(CircuitState.CLOSED);
    });

    it('lets `halfOpenMaxCalls` trial calls run together', async () => {
      const breaker = await halfOpen({ halfOpenMaxCalls: 3, successThreshold: 3 });
      const started = sinon.fake();
      const slow = () =>
        new Promise<string>((resolve) => {
          started();
          setTimeout(() => resolve('slow'), 10);
        });
      const trials = [1, 2, 3].map(() => observe(breaker.protect(slow)));
      expect(await settle(breaker, succeed)).to.be.instanceOf(CircuitBreakerError);
      expect(started.callCount).to.equal(3);
      await time.clock.tickAsync(10);
      expect(trials.every((t) => t.value === 'slow')).to.equal(true);
      expect(breaker.state).to.equal(CircuitState.CLOSED);
    });

    it('frees the trial slot of an ignored error without counting it', async () => {
      const breaker = await halfOpen({ exceptions: [NetworkError] });
      const notFound = new NotFoundError('404');
      expect(await settle(breaker, () => Promise.reject(notFound))).to.equal(notFound);
      expect(breaker.state).to.equal(CircuitState.HALF_OPEN);
      await breaker.protect(succeed);
      await breaker.protect(succeed);
      expect(breaker.state).to.equal(CircuitState.CLOSED);
    });

    it('ignores a trial that outlives its half-open period', async () => {
      const breaker = await halfOpen({ halfOpenMaxCalls: 2 });
      let finishSlow!: (value: string) => void;
      const slow = breaker.protect(() => new Promise<string>((resolve) => (finishSlow = resolve)));
      await failTimes(breaker, 1); // the other trial re-opens the circuit
      await time.clock.tickAsync(1_000);
      expect(breaker.state).to.equal(CircuitState.HALF_OPEN);
      finishSlow('late');
      await slow;
      await breaker.protect(succeed);
      expect(breaker.state).to.equal(CircuitState.HALF_OPEN); // the late success did not count
    });

    it('frees the slot of a trial whose caller gave up at once, though its work never ends', async () => {
      const breaker = await halfOpen({ successThreshold: 1 });
      const controller = new AbortController();
      const trial = observe(
        breaker.protect(() => new Promise(() => {}), { signal: controller.signal }),
      );
      expect(await settle(breaker, succeed)).to.be.instanceOf(CircuitBreakerError);
      controller.abort(new Error('caller gave up'));
      await time.clock.tickAsync(0);
      expect((trial.error as Error).message).to.equal('caller gave up');
      expect(await breaker.protect(succeed)).to.equal('ok');
      expect(breaker.state).to.equal(CircuitState.CLOSED);
    });

    it('takes back the slot of a trial that has run for `timeout` without settling', async () => {
      const breaker = await halfOpen({ successThreshold: 1 });
      const hung = observe(breaker.protect(() => new Promise(() => {}))); // no signal, never settles
      await time.clock.tickAsync(999);
      expect(await settle(breaker, succeed)).to.include({ state: 'half_open' });
      await time.clock.tickAsync(1);
      expect(await breaker.protect(succeed)).to.equal('ok'); // a new trial, and it closes the circuit
      expect(breaker.state).to.equal(CircuitState.CLOSED);
      expect(hung.settled).to.equal(false);
    });

    it('counts a trial that settles after its slot was taken back, without freeing a slot twice', async () => {
      const breaker = await halfOpen({ successThreshold: 2 });
      const finish: ((value: string) => void)[] = [];
      const slow = () => new Promise<string>((resolve) => finish.push(resolve));
      const first = observe(breaker.protect(slow));
      await time.clock.tickAsync(1_000);
      const second = observe(breaker.protect(slow)); // the slot is taken back: a new trial
      finish[0]('late'); // a slow recovery still counts: 1 success
      await time.clock.tickAsync(0);
      expect(first.value).to.equal('late');
      expect(breaker.state).to.equal(CircuitState.HALF_OPEN);
      expect(await settle(breaker, succeed)).to.include({ state: 'half_open' }); // the second holds the slot
      finish[1]('done');
      await time.clock.tickAsync(0);
      expect(second.value).to.equal('done');
      expect(breaker.state).to.equal(CircuitState.CLOSED);
    });

    it('lets a trial that outlived its slot re-open the circuit when it fails', async () => {
      const breaker = await halfOpen();
      let fail!: (error: Error) => void;
      observe(breaker.protect(() => new Promise((_, reject) => (fail = reject))));
      await time.clock.tickAsync(1_000);
      observe(breaker.protect(() => new Promise(() => {}))); // takes the slot back
      fail(new NetworkError('still down'));
      await time.clock.tickAsync(0);
      expect(breaker.state).to.equal(CircuitState.OPEN);
    });

    it('does not free a slot twice when the trial settles after its caller gave up', async () => {
      const breaker = await halfOpen({ halfOpenMaxCalls: 1 });
      const controller = new AbortController();
      let finish!: () => void;
      const work = () => new Promise<void>((resolve) => (finish = resolve));
      const abandoned = observe(breaker.protect(work, { signal: controller.signal }));
      controller.abort(new Error('gone'));
      const trial = observe(breaker.protect(() => new Promise(() => {}))); // takes the freed slot
      finish();
      await time.clock.tickAsync(0);
      expect(abandoned.error).to.be.instanceOf(Error);
      expect(trial.settled).to.equal(false);
      expect(await settle(breaker, succeed)).to.be.instanceOf(CircuitBreakerError);
    });
  });

  describe('calls that outlive the period they were admitted in', () => {
    it('a closed period’s late failures do not count in the next closed period', async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 3, timeout: 50, successThreshold: 1 });
      const late = [1, 2, 3].map(() =>
        observe(
          breaker.protect(
            () =>
              new Promise((_, reject) => setTimeout(() => reject(new NetworkError('late')), 300)),
          ),
        ),
      );
      await failTimes(breaker, 3);
      expect(breaker.state).to.equal(CircuitState.OPEN);
      await time.clock.tickAsync(60);
      expect(await breaker.protect(succeed)).to.equal('ok');
      expect(breaker.state).to.equal(CircuitState.CLOSED);
      await time.clock.tickAsync(300);
      expect(late.every((call) => call.error instanceof NetworkError)).to.equal(true);
      expect(breaker.state).to.equal(CircuitState.CLOSED);
      expect(breaker.metrics().failedCalls).to.equal(0);
    });

    it('calls running at a reset() do not count after it', async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 2 });
      const late = [1, 2].map(() =>
        observe(
          breaker.protect(
            () =>
              new Promise((_, reject) => setTimeout(() => reject(new NetworkError('late')), 10)),
          ),
        ),
      );
      await breaker.reset();
      await time.clock.tickAsync(10);
      expect(late.every((call) => call.settled)).to.equal(true);
      expect(breaker.state).to.equal(CircuitState.CLOSED);
      expect(breaker.metrics().failedCalls).to.equal(0);
    });
  });

  describe('listeners that call the breaker back', () => {
    it('a failure listener whose own call opens the circuit: the outer failure changes nothing more', async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 1, timeout: '1h' });
      const changes: unknown[] = [];
      breaker.events.on('stateChange', (change) => changes.push(change));
      let nested = false;
      breaker.events.on('failure', () => {
        if (nested) return;
        nested = true;
        void breaker
          .protect(() => {
            throw new NetworkError('nested');
          })
          .catch(() => undefined);
      });
      await settle(breaker, fail);
      expect(changes).to.deep.equal([{ from: 'closed', to: 'open' }]);
    });

    it('isolate() from a trial’s success listener holds: the trial does not close the circuit', async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 1, timeout: 20, successThreshold: 1 });
      await failTimes(breaker, 1);
      await time.clock.tickAsync(20);
      breaker.events.on('success', () => breaker.isolate());
      await breaker.protect(succeed);
      expect(breaker.state).to.equal(CircuitState.OPEN);
      expect(breaker.toJSON().isolated).to.equal(true);
      expect(await settle(breaker, succeed)).to.be.instanceOf(CircuitBreakerError);
    });
  });

  describe('callbacks', () => {
    it('tells onStateChange about every transition, in order', async () => {
      const changes: [string, string][] = [];
      const breaker = new CircuitBreaker({
        failureThreshold: 2,
        timeout: 100,
        onStateChange: async (from, to) => void changes.push([from, to]),
      });
      await failTimes(breaker, 2);
      await time.clock.tickAsync(100);
      await failTimes(breaker, 1);
      await time.clock.tickAsync(100);
      await breaker.protect(succeed);
      await breaker.protect(succeed);
      expect(changes).to.deep.equal([
        ['closed', 'open'],
        ['open', 'half_open'],
        ['half_open', 'open'],
        ['open', 'half_open'],
        ['half_open', 'closed'],
      ]);
    });

    for (const [kind, callback] of [
      [
        'throws',
        () => {
          throw new Error('broken callback');
        },
      ],
      ['rejects', () => Promise.reject(new Error('broken callback'))],
    ] as const) {
      it(`keeps working when onStateChange ${kind}, reporting a callbackError event`, async () => {
        const unhandled = sinon.fake();
        process.on('unhandledRejection', unhandled);
        try {
          const breaker = new CircuitBreaker({ failureThreshold: 1, onStateChange: callback });
          const reported: unknown[] = [];
          breaker.events.on('callbackError', ({ error }) => reported.push(error));
          const error = new NetworkError('real');
          expect(await settle(breaker, () => Promise.reject(error))).to.equal(error);
          expect(breaker.state).to.equal(CircuitState.OPEN);
          await breaker.reset();
          expect(breaker.state).to.equal(CircuitState.CLOSED);
          await time.clock.tickAsync(0);
          await new Promise((resolve) => realSetImmediate(resolve)); // unhandled rejections surface here
          expect(reported).to.have.length(2);
          expect(unhandled.callCount).to.equal(0);
        } finally {
          process.off('unhandledRejection', unhandled);
        }
      });
    }
  });

  describe('reset and isolate', () => {
    it('reset() closes the circuit and clears the counters', async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 3 });
      await failTimes(breaker, 3);
      await breaker.reset();
      expect(breaker.state).to.equal(CircuitState.CLOSED);
      await failTimes(breaker, 2);
      expect(breaker.state).to.equal(CircuitState.CLOSED);
      await breaker.reset();
      await failTimes(breaker, 2);
      expect(breaker.state).to.equal(CircuitState.CLOSED);
    });

    it('reset() resolves once an async onStateChange has finished', async () => {
      let finished = false;
      const breaker = new CircuitBreaker({
        failureThreshold: 1,
        onStateChange: (_from, to) =>
          to === 'closed'
            ? new Promise<void>((resolve) => setTimeout(() => resolve(void (finished = true)), 50))
            : undefined,
      });
      await failTimes(breaker, 1);
      const reset = observe(breaker.reset());
      await time.clock.tickAsync(49);
      expect(reset.settled).to.equal(false);
      await time.clock.tickAsync(1);
      expect(reset.settled && finished).to.equal(true);
    });

    it('isolate() holds the circuit open past its timeout until reset()', async () => {
      const breaker = new CircuitBreaker({ timeout: 1000 });
      breaker.isolate();
      await time.clock.tickAsync(10_000);
      expect(breaker.state).to.equal(CircuitState.OPEN);
      const error = await settle(breaker, succeed);
      expect(error).to.be.instanceOf(CircuitBreakerError);
      expect((error as Error).message).to.match(/isolated/);
      await breaker.reset();
      expect(await breaker.protect(succeed)).to.equal('ok');
    });
  });

  describe('persistence', () => {
    it('restores an open circuit from toJSON() with the time it has left', async () => {
      const first = new CircuitBreaker({ timeout: '60s' });
      await failTimes(first, 5);
      await time.clock.tickAsync(20_000);
      const saved = JSON.parse(JSON.stringify(first)) as unknown;
      const restored = new CircuitBreaker({ timeout: '60s', initialState: saved as never });
      expect(restored.state).to.equal(CircuitState.OPEN);
      expect(await settle(restored, succeed)).to.include({ retryAfter: 40_000 });
      await time.clock.tickAsync(40_000);
      expect(restored.state).to.equal(CircuitState.HALF_OPEN);
    });

    it('keeps the failure count and the isolation across a restart', async () => {
      const first = new CircuitBreaker({ failureThreshold: 3 });
      await failTimes(first, 2);
      const counted = new CircuitBreaker({ failureThreshold: 3, initialState: first.toJSON() });
      await failTimes(counted, 1);
      expect(counted.state).to.equal(CircuitState.OPEN);
      counted.isolate();
      const isolated = new CircuitBreaker({ timeout: 1, initialState: counted.toJSON() });
      await time.clock.tickAsync(1_000);
      expect(isolated.state).to.equal(CircuitState.OPEN);
    });

    it('accepts a bare state as initialState', () => {
      expect(new CircuitBreaker({ initialState: 'open' }).state).to.equal(CircuitState.OPEN);
      expect(new CircuitBreaker({ initialState: 'half_open' }).state).to.equal('half_open');
    });
  });

  describe('events', () => {
    it('emits stateChange, rejected, success and failure with their payloads', async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 1, timeout: 100 });
      const seen: unknown[] = [];
      breaker.events.on('*', (event) => seen.push(event));
      await breaker.protect(succeed);
      const error = new NetworkError('x');
      await settle(breaker, () => Promise.reject(error));
      await settle(breaker, succeed);
      expect(seen).to.deep.equal([
        { type: 'success', state: 'closed' },
        { type: 'failure', state: 'closed', error },
        { type: 'stateChange', from: 'closed', to: 'open' },
        { type: 'rejected', state: 'open', retryAfter: 100 },
      ]);
    });
  });

  describe('ignored errors and broken predicates', () => {
    it('emits `ignored` for an error outside `exceptions`, in any state', async () => {
      const breaker = new CircuitBreaker({ exceptions: [NetworkError] });
      const seen: unknown[] = [];
      breaker.events.on('ignored', (event) => seen.push(event));
      const notFound = new NotFoundError('404');
      await settle(breaker, () => Promise.reject(notFound));
      expect(seen).to.deep.equal([{ state: 'closed', error: notFound }]);
    });

    it('treats a value as a success when isFailureResult throws, reporting a callbackError', async () => {
      const broken = new Error('predicate bug');
      const breaker = new CircuitBreaker({
        failureThreshold: 1,
        isFailureResult: () => {
          throw broken;
        },
      });
      const reported: unknown[] = [];
      breaker.events.on('callbackError', ({ error }) => reported.push(error));
      expect(await breaker.protect(succeed)).to.equal('ok');
      expect(breaker.state).to.equal(CircuitState.CLOSED);
      expect(reported).to.deep.equal([broken]);
    });
  });

  describe('as a plain class', () => {
    it('keeps working when wrapped in a Proxy, as the decorator factory will wrap it', async () => {
      const Wrapped = new Proxy(CircuitBreaker, {
        apply: () => 'decorator',
      }) as typeof CircuitBreaker & ((options: unknown) => string);
      const breaker = new Wrapped({ failureThreshold: 1 });
      expect(breaker).to.be.instanceOf(CircuitBreaker);
      expect(Wrapped({})).to.equal('decorator');
      await settle(breaker, fail);
      const proxied = new Proxy(breaker, {});
      expect(proxied.state).to.equal(CircuitState.OPEN);
      await proxied.reset();
      expect(await proxied.protect(succeed)).to.equal('ok');
    });
  });

  describe('validation', () => {
    it('rejects protect() of something that is not a function with ConfigError', async () => {
      const error = await settle(new CircuitBreaker(), 'call me' as never);
      expect(error).to.be.instanceOf(ConfigError);
    });

    it('rejects invalid options at construction, naming each option, rule and value', () => {
      const make = (options: unknown) => () => new CircuitBreaker(options as never);
      expect(make({ failureThreshold: 0 })).to.throw(
        ConfigError,
        /failureThreshold: expected an integer/,
      );
      expect(make({ timeout: '60 s' })).to.throw(ConfigError, /timeout: expected a duration/);
      expect(make({ successThreshold: 1.5 })).to.throw(ConfigError, /successThreshold/);
      expect(make({ halfOpenMaxCalls: 0 })).to.throw(ConfigError, /halfOpenMaxCalls/);
      expect(make({ exceptions: NetworkError })).to.throw(ConfigError, /exceptions/);
      expect(make({ onStateChange: 'log' })).to.throw(
        ConfigError,
        /onStateChange: expected a function/,
      );
      expect(make({ initialState: 'broken' })).to.throw(ConfigError, /initialState/);
      expect(make({ initialState: { state: 'open', failures: -1 } })).to.throw(ConfigError);
      expect(make({ failureTreshold: 3 })).to.throw(ConfigError, /failureTreshold: unknown option/);
      const error = thrown(make({ failureThreshold: -1, timeout: -1 })) as ConfigError;
      expect(error.problems).to.have.length(2);
    });
  });
});
