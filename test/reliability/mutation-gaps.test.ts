// Tests for behaviours that surviving mutants showed untested (mutation sampler on retry, the circuit breaker
// and its windows, and the hedge): each `it` kills at least one mutant that every other test let through.
import { expect } from 'chai';
import sinon from 'sinon';
import {
  CircuitBreaker,
  CircuitBreakerError,
  CircuitState,
  ConfigError,
  HedgeLostError,
  HedgePolicy,
  RetryPolicy,
  currentAttempt,
  hedge,
  retry,
  withSignal,
  type CircuitBreakerOptions,
  type RetryOptions,
} from '../../src/index.js';
import { observe, useFakeClock } from '../support/fake-clock.js';

class Down extends Error {}

describe('reliability: gaps found by mutation testing', () => {
  const time = useFakeClock(1_000_000);

  describe('retry', () => {
    /** The waits between tries of a call that always fails, under fake time. */
    async function waits(options: RetryOptions): Promise<number[]> {
      const times: number[] = [];
      const result = observe(
        retry(async () => {
          times.push(Date.now());
          throw new Down('x');
        }, options)(),
      );
      await time.clock.tickAsync(120_000);
      expect(result.error).to.be.instanceOf(Down);
      return times.slice(1).map((t, i) => t - times[i]);
    }

    it('retries a function that throws synchronously on its first try', async () => {
      let calls = 0;
      const result = observe(
        retry(
          () => {
            if (++calls === 1) throw new Down('sync');
            return 'second';
          },
          { baseDelay: 10 },
        )(),
      );
      await time.clock.tickAsync(10);
      expect(result.value).to.equal('second');
    });

    it('resolves with the value of the try that succeeded after failures', async () => {
      let calls = 0;
      const result = observe(
        retry(
          async () => {
            if (++calls < 3) throw new Down('x');
            return 42;
          },
          { baseDelay: 1 },
        )(),
      );
      await time.clock.tickAsync(10);
      expect(result.value).to.equal(42);
    });

    it('emits success with the number of tries, and giveUp when tries run out', async () => {
      const policy = new RetryPolicy({ maxAttempts: 2, baseDelay: 1 });
      const events: string[] = [];
      policy.events.on('success', ({ attempts }) => events.push(`success ${attempts}`));
      policy.events.on('giveUp', ({ attempts, error }) =>
        events.push(`giveUp ${attempts} ${(error as Error).message}`),
      );
      await policy.execute(async () => 'first try');
      let calls = 0;
      const later = observe(
        policy.execute(async () => (++calls === 1 ? Promise.reject(new Down('a')) : 'b')),
      );
      const never = observe(policy.execute(() => Promise.reject(new Down('always'))));
      await time.clock.tickAsync(10);
      expect([later.value, (never.error as Error).message]).to.deep.equal(['b', 'always']);
      expect(events.sort()).to.deep.equal(['giveUp 2 always', 'success 1', 'success 2']);
    });

    it('emits giveUp after one try when the first try fails with an error it does not retry', async () => {
      const policy = new RetryPolicy({ exceptions: [TypeError] });
      const giveUps: number[] = [];
      policy.events.on('giveUp', ({ attempts }) => giveUps.push(attempts));
      const result = observe(policy.execute(() => Promise.reject(new Down('not retried'))));
      await time.clock.tickAsync(0);
      expect(result.error).to.be.instanceOf(Down);
      expect(giveUps).to.deep.equal([1]);
    });

    it('resolves with the value of a first try while someone listens for success', async () => {
      const policy = new RetryPolicy();
      policy.events.on('success', () => undefined);
      expect(await policy.execute(async () => 'value')).to.equal('value');
    });

    it('emits giveUp with the last value when retryOnResult still refuses it', async () => {
      const policy = new RetryPolicy({ maxAttempts: 2, baseDelay: 1, retryOnResult: () => true });
      const giveUps: unknown[] = [];
      policy.events.on('giveUp', ({ attempts, value }) => giveUps.push([attempts, value]));
      const result = observe(policy.execute(async () => 503));
      await time.clock.tickAsync(10);
      expect(result.value).to.equal(503);
      expect(giveUps).to.deep.equal([[2, 503]]);
    });

    it('uses a policy instance passed to retry() as it is', async () => {
      const policy = new RetryPolicy({ maxAttempts: 2, baseDelay: 1 });
      const retries: number[] = [];
      policy.events.on('retry', ({ attempt }) => retries.push(attempt));
      const result = observe(retry(() => Promise.reject(new Down('x')), policy)());
      await time.clock.tickAsync(10);
      expect(result.error).to.be.instanceOf(Down);
      expect(retries).to.deep.equal([1]);
    });

    it('retries at once when a custom delay returns 0', async () => {
      // (not the 1s of the default strategy; a zero timer may take a millisecond)
      expect(await waits({ maxAttempts: 3, delay: () => 0 })).to.satisfy((gaps: number[]) =>
        gaps.every((gap) => gap <= 1),
      );
    });

    it('ignores a retryAfter that is not a number', async () => {
      let calls = 0;
      const result = observe(
        retry(
          async () => {
            if (++calls === 1) throw Object.assign(new Down('x'), { retryAfter: '5000' });
            return 'ok';
          },
          { baseDelay: 10 },
        )(),
      );
      await time.clock.tickAsync(10);
      expect(result.value).to.equal('ok');
    });

    describe('jitter', () => {
      // Only the Math.random stub: sinon.restore() would also undo the suite's fake clock out of order and
      // leave fake timers installed for every later test file.
      afterEach(() => (Math.random as unknown as sinon.SinonStub).restore());

      it('draws full jitter from [0, delay] for jitter: true and "full"', async () => {
        sinon.stub(Math, 'random').returns(0.25);
        expect(await waits({ maxAttempts: 3, jitter: true })).to.deep.equal([250, 500]);
        expect(await waits({ maxAttempts: 3, jitter: 'full' })).to.deep.equal([250, 500]);
      });

      it('draws equal jitter from [delay/2, delay]', async () => {
        sinon.stub(Math, 'random').returns(0.5);
        expect(await waits({ maxAttempts: 3, jitter: 'equal' })).to.deep.equal([750, 1500]);
      });

      it('does not randomise with jitter: false', async () => {
        sinon.stub(Math, 'random').returns(0.5);
        expect(await waits({ maxAttempts: 3, jitter: false })).to.deep.equal([1000, 2000]);
      });
    });
  });

  describe('circuit breaker', () => {
    const fail = () => Promise.reject(new Down('down'));

    async function trip(breaker: CircuitBreaker, times: number): Promise<void> {
      for (let i = 0; i < times; i++) await breaker.protect(fail).catch(() => undefined);
    }

    it('after isolate() and reset(), opens and half-opens again as usual', async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 1, timeout: 100 });
      breaker.isolate();
      await breaker.reset();
      await trip(breaker, 1);
      expect(breaker.state).to.equal(CircuitState.OPEN);
      await time.clock.tickAsync(100);
      expect(breaker.state).to.equal(CircuitState.HALF_OPEN);
    });

    it('emits no state change when isolating a circuit already open', async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 1 });
      await trip(breaker, 1);
      const changes: string[] = [];
      breaker.events.on('stateChange', ({ from, to }) => changes.push(`${from}>${to}`));
      breaker.isolate();
      expect(changes).to.deep.equal([]);
    });

    it('reports retryAfter 0 in its rejected event while isolated', async () => {
      const breaker = new CircuitBreaker({ timeout: '1m' });
      breaker.isolate();
      const retryAfter: number[] = [];
      breaker.events.on('rejected', (event) => retryAfter.push(event.retryAfter));
      const error = await breaker.protect(fail).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(CircuitBreakerError);
      expect(retryAfter).to.deep.equal([0]);
    });

    it('ignores a trial that succeeds after its half-open period ended', async () => {
      const breaker = new CircuitBreaker({
        failureThreshold: 1,
        timeout: 100,
        successThreshold: 1,
        halfOpenMaxCalls: 2,
      });
      await trip(breaker, 1);
      await time.clock.tickAsync(100);
      let finishSlow!: (value: string) => void;
      const slow = breaker.protect(() => new Promise<string>((resolve) => (finishSlow = resolve)));
      await breaker.protect(fail).catch(() => undefined); // the other trial fails: open again
      expect(breaker.state).to.equal(CircuitState.OPEN);
      finishSlow('late');
      expect(await slow).to.equal('late');
      expect(breaker.state).to.equal(CircuitState.OPEN);
    });

    it('does not restart the open timeout for a closed call that fails after the circuit opened', async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 1, timeout: 100 });
      const changes: string[] = [];
      breaker.events.on('stateChange', ({ from, to }) => changes.push(`${from}>${to}`));
      let failSlow!: (error: Error) => void;
      const slow = breaker.protect(() => new Promise((_resolve, reject) => (failSlow = reject)));
      await trip(breaker, 1);
      await time.clock.tickAsync(60);
      failSlow(new Down('late'));
      await slow.catch(() => undefined);
      await time.clock.tickAsync(40);
      expect(breaker.state).to.equal(CircuitState.HALF_OPEN);
      expect(changes).to.deep.equal(['closed>open', 'open>half_open']);
    });

    it('emits half-open successes, ignored errors and counted results with their state and value', async () => {
      const breaker = new CircuitBreaker({
        failureThreshold: 1,
        timeout: 100,
        successThreshold: 3,
        exceptions: [Down],
        isFailureResult: (value) => value === 'bad',
      });
      await trip(breaker, 1);
      await time.clock.tickAsync(100);
      const events: string[] = [];
      breaker.events.on('success', ({ state }) => events.push(`success ${state}`));
      breaker.events.on('ignored', ({ state }) => events.push(`ignored ${state}`));
      breaker.events.on('failure', ({ state, value }) =>
        events.push(`failure ${state} ${String(value)}`),
      );
      await breaker.protect(async () => 'good');
      await breaker
        .protect(() => Promise.reject(new TypeError('not counted')))
        .catch(() => undefined);
      await breaker.protect(async () => 'bad');
      expect(events).to.deep.equal([
        'success half_open',
        'ignored half_open',
        'failure half_open bad',
      ]);
      expect(breaker.state).to.equal(CircuitState.OPEN);
    });

    it('counts a trial that throws synchronously, rejecting with its error', async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 1, timeout: 100 });
      await trip(breaker, 1);
      await time.clock.tickAsync(100);
      const error = await breaker
        .protect(() => {
          throw new Down('sync');
        })
        .catch((e: unknown) => e);
      expect((error as Error).message).to.equal('sync');
      expect(breaker.state).to.equal(CircuitState.OPEN);
    });

    it('reset() of a closed circuit clears its failures without a state change, as a promise', async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 3 });
      await trip(breaker, 2);
      const changes: string[] = [];
      breaker.events.on('stateChange', ({ from, to }) => changes.push(`${from}>${to}`));
      const done = breaker.reset();
      expect(done).to.be.instanceOf(Promise);
      await done;
      expect(breaker.toJSON().failures).to.equal(0);
      expect(changes).to.deep.equal([]);
    });

    it('reads a saved closed state without an opening time', () => {
      for (const initialState of ['closed', { state: 'closed' }]) {
        const snapshot = new CircuitBreaker({ initialState: initialState as never }).toJSON();
        expect(snapshot).to.deep.equal({
          state: 'closed',
          failures: 0,
          successes: 0,
          openedAt: null,
          isolated: false,
          openMs: null,
        });
      }
    });

    it('is of kind circuitBreaker, and peekState() reads each state without moving the circuit', async () => {
      const breaker = new CircuitBreaker({ failureThreshold: 1, timeout: 100 });
      expect(breaker.kind).to.equal('circuitBreaker');
      expect(breaker.peekState()).to.equal(CircuitState.CLOSED);
      await trip(breaker, 1);
      expect(breaker.peekState()).to.equal(CircuitState.OPEN);
      await time.clock.tickAsync(100);
      const changes: string[] = [];
      breaker.events.on('stateChange', ({ from, to }) => changes.push(`${from}>${to}`));
      expect(breaker.peekState()).to.equal(CircuitState.HALF_OPEN);
      expect(changes).to.deep.equal([]);
    });

    it('rejects a call whose signal has already aborted with its reason, without running it', async () => {
      const breaker = new CircuitBreaker();
      const controller = new AbortController();
      controller.abort(new Down('gone'));
      let ran = false;
      const error = await breaker
        .protect(
          async () => {
            ran = true;
          },
          { signal: controller.signal },
        )
        .catch((e: unknown) => e);
      expect([(error as Error).message, ran]).to.deep.equal(['gone', false]);
    });

    it('runs a call given a signal as attempt 1, or as the attempt of the retry around it', async () => {
      const breaker = new CircuitBreaker();
      const { signal } = new AbortController();
      expect(await breaker.protect(() => currentAttempt(), { signal })).to.equal(1);
      const seen: number[] = [];
      const result = observe(
        retry(
          () =>
            breaker.protect(
              () => {
                seen.push(currentAttempt());
                if (seen.length === 1) throw new Down('first');
                return 'second';
              },
              { signal },
            ),
          { maxAttempts: 2, baseDelay: 1 },
        )(),
      );
      await time.clock.tickAsync(10);
      expect([result.value, seen]).to.deep.equal(['second', [1, 2]]);
    });

    it('judges successes the same while someone listens for them', async () => {
      const breaker = new CircuitBreaker({
        failureThreshold: 3,
        timeout: 100,
        successThreshold: 1,
      });
      const successes: string[] = [];
      breaker.events.on('success', ({ state }) => successes.push(state));
      await trip(breaker, 2);
      await breaker.protect(async () => 'resets the count');
      await trip(breaker, 2);
      expect(breaker.state).to.equal(CircuitState.CLOSED);
      await trip(breaker, 1);
      await time.clock.tickAsync(100);
      await breaker.protect(async () => 'closes');
      expect(breaker.state).to.equal(CircuitState.CLOSED);
      expect(successes).to.deep.equal([CircuitState.CLOSED, CircuitState.HALF_OPEN]);
    });

    describe('trial slots', () => {
      async function halfOpen(options: CircuitBreakerOptions = {}): Promise<CircuitBreaker> {
        const breaker = new CircuitBreaker({ failureThreshold: 1, timeout: 1_000, ...options });
        await trip(breaker, 1);
        await time.clock.tickAsync(1_000);
        return breaker;
      }
      const hang = () => new Promise<never>(() => {});
      const rejected = async (breaker: CircuitBreaker) => {
        const call = observe(breaker.protect(hang));
        await time.clock.tickAsync(0);
        return call.error instanceof CircuitBreakerError;
      };

      it('takes back hung trials’ slots `timeout` after the first call once the wall clock stepped back', async () => {
        const breaker = await halfOpen();
        observe(breaker.protect(hang));
        await time.clock.tickAsync(500);
        time.clock.setSystemTime(Date.now() - 600_000);
        expect(await rejected(breaker)).to.equal(true); // counts from here
        await time.clock.tickAsync(999);
        expect(await rejected(breaker)).to.equal(true);
        await time.clock.tickAsync(1);
        expect(await rejected(breaker)).to.equal(false);
      });

      it('frees no slot of later trials when a trial whose slot was taken back is given up', async () => {
        const breaker = await halfOpen();
        const controller = new AbortController();
        observe(breaker.protect(hang, { signal: controller.signal }));
        await time.clock.tickAsync(1_000);
        observe(breaker.protect(hang)); // takes the slot back
        controller.abort(new Down('gone'));
        expect(await rejected(breaker)).to.equal(true);
      });

      it('frees no slot of later trials when a trial whose slot was taken back fails uncounted', async () => {
        const breaker = await halfOpen({ exceptions: [Down] });
        let fail!: (error: Error) => void;
        observe(breaker.protect(() => new Promise((_resolve, reject) => (fail = reject))));
        await time.clock.tickAsync(1_000);
        observe(breaker.protect(hang)); // takes the slot back
        fail(new TypeError('not counted'));
        await time.clock.tickAsync(0);
        expect(await rejected(breaker)).to.equal(true);
      });
    });

    describe('callbacks that move the breaker', () => {
      // The breaker's own promise: once user code on a call's way has moved it, the call changes nothing.
      it('records nothing of a call whose isFailureResult isolated the circuit', async () => {
        const breaker: CircuitBreaker<string> = new CircuitBreaker<string>({
          failureRateThreshold: 50,
          isFailureResult: () => {
            breaker.isolate();
            return false;
          },
        });
        const successes: string[] = [];
        breaker.events.on('success', ({ state }) => successes.push(state));
        expect(await breaker.protect(async () => 'fine')).to.equal('fine');
        expect([breaker.metrics().calls, successes]).to.deep.equal([0, []]);
      });

      it('counts no failure of a call whose isFailureResult reset the circuit', async () => {
        const breaker: CircuitBreaker<string> = new CircuitBreaker<string>({
          failureThreshold: 3,
          isFailureResult: (value) => {
            void breaker.reset();
            return value === 'bad';
          },
        });
        const failures: string[] = [];
        breaker.events.on('failure', ({ state }) => failures.push(state));
        await breaker.protect(async () => 'bad');
        expect([breaker.toJSON().failures, failures]).to.deep.equal([0, []]);
      });

      it('does not close again for a trial whose isFailureResult closed the circuit', async () => {
        let resetting = false;
        const breaker: CircuitBreaker<string> = new CircuitBreaker<string>({
          failureThreshold: 1,
          timeout: 100,
          successThreshold: 1,
          isFailureResult: () => {
            if (resetting) void breaker.reset();
            return false;
          },
        });
        await trip(breaker, 1);
        await time.clock.tickAsync(100);
        const changes: string[] = [];
        breaker.events.on('stateChange', ({ from, to }) => changes.push(`${from}>${to}`));
        resetting = true;
        await breaker.protect(async () => 'trial');
        expect(changes).to.deep.equal(['open>half_open', 'half_open>closed']);
      });

      it('leaves the window of a circuit a success listener isolated empty', async () => {
        const breaker = new CircuitBreaker({ failureRateThreshold: 50 });
        breaker.events.on('success', () => breaker.isolate());
        await breaker.protect(async () => 'fine');
        expect([breaker.state, breaker.metrics().calls]).to.deep.equal([CircuitState.OPEN, 0]);
      });
    });

    it('asks nothing and emits nothing for closed calls that settle after the circuit opened', async () => {
      const asked: unknown[] = [];
      const breaker = new CircuitBreaker({
        failureThreshold: 1,
        exceptions: [Down],
        isFailureResult: (value) => asked.push(value) < 0,
      });
      const ignored: unknown[] = [];
      breaker.events.on('ignored', ({ error }) => ignored.push(error));
      let succeed!: (value: string) => void;
      let fail!: (error: Error) => void;
      const late = [
        breaker.protect(() => new Promise<string>((resolve) => (succeed = resolve))),
        breaker.protect(() => new Promise((_resolve, reject) => (fail = reject))),
      ];
      await trip(breaker, 1);
      succeed('late');
      fail(new TypeError('late'));
      await Promise.allSettled(late);
      expect([asked, ignored]).to.deep.equal([[], []]);
    });

    describe('rate mode', () => {
      it('reports rates of 0, not NaN, for an empty window and in consecutive mode', () => {
        const empty = { calls: 0, failedCalls: 0, slowCalls: 0, failureRate: 0, slowCallRate: 0 };
        expect(new CircuitBreaker({ failureRateThreshold: 50 }).metrics()).to.deep.equal(empty);
        expect(new CircuitBreaker().metrics()).to.deep.equal(empty);
      });

      it('counts a function that throws synchronously as failed, not slow, without slowCallDuration', async () => {
        const breaker = new CircuitBreaker({ failureRateThreshold: 100 });
        await breaker
          .protect(() => {
            throw new Down('sync');
          })
          .catch(() => undefined);
        expect(breaker.metrics()).to.deep.include({ calls: 1, failedCalls: 1, slowCalls: 0 });
      });
    });

    it('restores a saved isolated circuit as isolated', () => {
      const breaker = new CircuitBreaker({
        timeout: 1,
        initialState: { state: 'open', openedAt: null, isolated: true } as never,
      });
      expect(breaker.toJSON().isolated).to.equal(true);
    });
  });
  describe('hedge', () => {
    it('is of kind hedge, and leaves no timer after a call answered synchronously', async () => {
      const policy = new HedgePolicy({ delay: 50 });
      expect(policy.kind).to.equal('hedge');
      expect(await policy.execute(() => 'at once')).to.equal('at once');
      expect(time.clock.countTimers()).to.equal(0);
    });

    it("never aborts the winner's signal, though a loser fails after it won, even with a ConfigError", async () => {
      const policy = new HedgePolicy({ delay: 10, maxHedges: 1 });
      const signals: AbortSignal[] = [];
      const result = observe(
        policy.execute(
          (signal) =>
            new Promise((resolve, reject) => {
              signals.push(signal);
              if (signals.length === 1)
                signal.addEventListener('abort', () =>
                  reject(ConfigError.invalid('url', 'a URL', 'found late')),
                );
              else setTimeout(() => resolve('hedge'), 5);
            }),
        ),
      );
      await time.clock.tickAsync(15);
      expect(result.value).to.equal('hedge');
      expect(signals.map((signal) => signal.aborted)).to.deep.equal([true, false]);
      expect(signals[0].reason).to.be.instanceOf(HedgeLostError);
    });

    it("leaves the signal of a call's only attempt alone when it fails", async () => {
      const policy = new HedgePolicy({ delay: 50 });
      let seen!: AbortSignal;
      const error = await policy
        .execute((signal) => {
          seen = signal;
          return Promise.reject(new Down('no'));
        })
        .catch((e: unknown) => e);
      expect(error).to.be.instanceOf(Down);
      expect(seen.aborted).to.equal(false);
    });

    it('starts no attempt for a caller whose signal aborted before the hedge was called', async () => {
      const policy = new HedgePolicy({ delay: 50 });
      const controller = new AbortController();
      let attempts = 0;
      let inner!: Promise<number>;
      const error = await withSignal(controller.signal, () => {
        controller.abort(new Down('gone'));
        return (inner = policy.execute(() => ++attempts));
      }).catch((e: unknown) => e);
      const innerError = await inner.catch((e: unknown) => e);
      await time.clock.tickAsync(0);
      expect([error, attempts]).to.deep.equal([innerError, 0]);
      expect((error as Error).message).to.equal('gone');
    });

    it("runs its attempts as the retry's current attempt", async () => {
      const policy = new HedgePolicy({ delay: 50 });
      const seen: number[] = [];
      const result = observe(
        retry(
          () =>
            policy.execute(async () => {
              seen.push(currentAttempt());
              if (seen.length === 1) throw new Down('first');
              return 'second';
            }),
          { maxAttempts: 2, baseDelay: 1 },
        )(),
      );
      await time.clock.tickAsync(10);
      expect([result.value, seen]).to.deep.equal(['second', [1, 2]]);
    });

    it('fails at once with a ConfigError of one attempt, while another still runs', async () => {
      const policy = new HedgePolicy({ delay: 10 });
      let attempts = 0;
      const result = observe(
        policy.execute(() =>
          ++attempts === 1
            ? new Promise((_resolve, reject) =>
                setTimeout(() => reject(ConfigError.invalid('url', 'a URL', 'nope')), 20),
              )
            : new Promise(() => {}),
        ),
      );
      await time.clock.tickAsync(20);
      expect(attempts).to.equal(2);
      expect(result.error).to.be.instanceOf(ConfigError);
    });

    it('hands the signal only to a parameter beyond the arguments given', async () => {
      const wrapped = hedge((first: number, ...rest: unknown[]) => [first, rest.length], {
        delay: 50,
      });
      expect(await wrapped(7)).to.deep.equal([7, 0]);
    });

    describe('a quantile delay', () => {
      /** Calls through `policy` one after another, the n-th answering after `latencies[n]` ms. */
      async function answer(policy: HedgePolicy, latencies: number[]): Promise<void> {
        for (const ms of latencies) {
          const call = observe(
            policy.execute(() => new Promise((resolve) => setTimeout(resolve, ms))),
          );
          await time.clock.tickAsync(ms);
          expect(call.settled).to.equal(true);
        }
      }

      it('counts a call that answered within the millisecond as a sample of 0 ms', async () => {
        const policy = new HedgePolicy({ delay: 'p50', minSamples: 2, fallbackDelay: 70 });
        await answer(policy, [0, 0]);
        expect(policy.delayFor()).to.equal(0);
      });

      it('estimates from the last 128 latencies, by nearest rank', async () => {
        const p99 = new HedgePolicy({ delay: 'p99', fallbackDelay: 1_000 });
        const p50 = new HedgePolicy({ delay: 'p50', fallbackDelay: 1_000 });
        // 212 samples: the estimate is made again every 16 new ones from the 20th, so the last takes in all 212.
        const latencies = Array.from({ length: 212 }, (_, i) => i + 1);
        await answer(p99, latencies);
        await answer(p50, latencies);
        // The last 128 are 85 … 212 ms: the 127th of them, and the 64th.
        expect([p99.delayFor(), p50.delayFor()]).to.deep.equal([211, 148]);
      });
    });
  });
});
