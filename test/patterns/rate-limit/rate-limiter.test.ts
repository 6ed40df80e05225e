import { expect } from 'chai';
import sinon from 'sinon';
import {
  ConfigError,
  MemoryTokenBucketStore,
  RateLimitExceededError,
  RateLimiter,
  currentSignal,
  type TakeResult,
  type TokenBucketSpec,
  type TokenBucketStore,
} from '../../../src/index.js';
import { Timeout } from '../../../src/patterns/timeout/index.js';
import { observe, useFakeClock } from '../../support/fake-clock.js';
import { thrown } from '../../support/rejection.js';

/** Starts `count` acquires of `tokens` and records the fake time at which each is granted. */
function acquireMany(limiter: RateLimiter, count: number, tokens = 1): number[] {
  const grants: number[] = [];
  for (let i = 0; i < count; i++) void limiter.acquire(tokens).then(() => grants.push(Date.now()));
  return grants;
}

function countIn(times: number[], from: number, to: number): number {
  return times.filter((t) => t >= from && t < to).length;
}

describe('RateLimiter', () => {
  const time = useFakeClock();

  describe('token bucket', () => {
    it('starts full, holding `capacity` tokens', () => {
      expect(new RateLimiter({ rate: 10 }).available).to.equal(10);
      expect(new RateLimiter({ rate: 100, capacity: 200 }).available).to.equal(200);
    });

    it('admits exactly 10 calls per second in steady state at 10 per second', async () => {
      const limiter = new RateLimiter({ rate: 10, per: '1s' });
      const grants = acquireMany(limiter, 60);
      await time.clock.tickAsync(5_000);
      expect(countIn(grants, 0, 1)).to.equal(10); // the initial burst
      for (let second = 1; second < 5; second++)
        expect(countIn(grants, second * 1000, (second + 1) * 1000)).to.equal(10);
    });

    it('admits a burst of 200 at once with capacity 200, then 100 per second', async () => {
      const limiter = new RateLimiter({ rate: 100, capacity: 200 });
      const grants = acquireMany(limiter, 500);
      await time.clock.tickAsync(0);
      expect(grants).to.have.length(200);
      await time.clock.tickAsync(3_000);
      expect(countIn(grants, 1, 1001)).to.equal(100);
      expect(countIn(grants, 1001, 2001)).to.equal(100);
      expect(countIn(grants, 2001, 3001)).to.equal(100);
    });

    it('refills continuously, a fraction of a token at a time', async () => {
      const limiter = new RateLimiter({ rate: 10 });
      await limiter.acquire(10);
      await time.clock.tickAsync(250);
      expect(limiter.available).to.equal(2.5);
    });

    it('never holds more than `capacity` however long it stays idle', async () => {
      const limiter = new RateLimiter({ rate: 10, capacity: 15 });
      await time.clock.tickAsync(3_600_000);
      expect(limiter.available).to.equal(15);
    });

    it('waits for 5 tokens on a weighted acquire of 5', async () => {
      const limiter = new RateLimiter({ rate: 10 });
      await limiter.acquire(10);
      const weighted = observe(limiter.acquire(5));
      await time.clock.tickAsync(499);
      expect(weighted.settled).to.equal(false);
      await time.clock.tickAsync(1);
      expect(weighted.settled).to.equal(true);
      expect(limiter.available).to.equal(0);
    });

    it('defaults `per` to one second and `capacity` to `rate`', () => {
      expect(new RateLimiter({ rate: 7 }).options).to.deep.equal({
        rate: 7,
        per: 1000,
        capacity: 7,
      });
    });

    it('gives a limiter slower than one token per `per` a capacity of 1 by default', async () => {
      const limiter = new RateLimiter({ rate: 0.5, per: '1s' });
      expect(limiter.options.capacity).to.equal(1);
      await limiter.acquire();
      const next = observe(limiter.acquire());
      await time.clock.tickAsync(1_999);
      expect(next.settled).to.equal(false);
      await time.clock.tickAsync(1);
      expect(next.settled).to.equal(true);
    });
  });

  describe('tryAcquire', () => {
    it('answers false when the bucket is empty and true after it refills', async () => {
      const limiter = new RateLimiter({ rate: 10 });
      for (let i = 0; i < 10; i++) expect(await limiter.tryAcquire()).to.equal(true);
      expect(await limiter.tryAcquire()).to.equal(false);
      await time.clock.tickAsync(100);
      expect(await limiter.tryAcquire()).to.equal(true);
    });

    it('consumes nothing when it refuses', async () => {
      const limiter = new RateLimiter({ rate: 10 });
      await limiter.acquire(8);
      expect(await limiter.tryAcquire(5)).to.equal(false);
      expect(limiter.available).to.equal(2);
      expect(await limiter.tryAcquire(2)).to.equal(true);
    });

    it('never waits and never sets a timer', async () => {
      const limiter = new RateLimiter({ rate: 1 });
      await limiter.tryAcquire();
      expect(await limiter.tryAcquire()).to.equal(false);
      expect(time.clock.countTimers()).to.equal(0);
    });

    it('answers false while others are queued, even if the bucket holds its tokens', async () => {
      const limiter = new RateLimiter({ rate: 10 });
      await limiter.acquire(8);
      void limiter.acquire(5);
      expect(limiter.available).to.equal(2);
      expect(await limiter.tryAcquire(1)).to.equal(false);
      await time.clock.tickAsync(1_000);
    });
  });

  describe('run', () => {
    it('calls the function once and passes its value on', async () => {
      const limiter = new RateLimiter({ rate: 10 });
      const fn = sinon.fake.resolves('data');
      expect(await limiter.run(fn)).to.equal('data');
      expect(fn.callCount).to.equal(1);
    });

    it('passes an error of the function on unchanged, and a synchronous throw as a rejection', async () => {
      const limiter = new RateLimiter({ rate: 10 });
      const error = new Error('boom');
      const rejected = observe(limiter.run(() => Promise.reject(error)));
      const thrown = observe(
        limiter.run(() => {
          throw error;
        }),
      );
      await time.clock.tickAsync(0);
      expect(rejected.error).to.equal(error);
      expect(thrown.error).to.equal(error);
    });

    it('takes the `tokens` option from the bucket', async () => {
      const limiter = new RateLimiter({ rate: 10 });
      await limiter.run(() => 'bulk', { tokens: 5 });
      expect(limiter.available).to.equal(5);
    });

    it('sets no timer when tokens are available', async () => {
      const limiter = new RateLimiter({ rate: 10 });
      await limiter.run(() => 1);
      expect(time.clock.countTimers()).to.equal(0);
    });

    it('creates no AbortController and no timer when tokens are available, even with a signal', async () => {
      const limiter = new RateLimiter({ rate: 10 });
      const signal = new AbortController().signal;
      const created = sinon.spy(globalThis, 'AbortController');
      try {
        await limiter.run(() => 1, { signal });
        await limiter.acquire(2, { signal, maxWait: 100 });
        expect(created.callCount).to.equal(0);
        expect(time.clock.countTimers()).to.equal(0);
      } finally {
        created.restore();
      }
    });

    it('calls the function only once its tokens are granted', async () => {
      const limiter = new RateLimiter({ rate: 10 });
      await limiter.acquire(10);
      const fn = sinon.fake.returns('late');
      const result = observe(limiter.run(fn));
      await time.clock.tickAsync(99);
      expect(fn.callCount).to.equal(0);
      await time.clock.tickAsync(1);
      expect(fn.callCount).to.equal(1);
      expect(result.value).to.equal('late');
    });

    it("keeps the caller's context for currentSignal() when the call had to wait", async () => {
      const limiter = new RateLimiter({ rate: 1 });
      await limiter.acquire();
      let seen: AbortSignal | undefined;
      const result = observe(
        new Timeout('5s').run(() =>
          limiter.run(() => {
            seen = currentSignal();
          }),
        ),
      );
      await time.clock.tickAsync(1_000);
      expect(result.settled).to.equal(true);
      expect(seen).to.be.instanceOf(AbortSignal);
      expect(seen!.aborted).to.equal(false);
    });

    it('leaves the queue when an enclosing timeout expires', async () => {
      const limiter = new RateLimiter({ rate: 1 });
      await limiter.acquire();
      const fn = sinon.fake();
      const result = observe(new Timeout('200ms').run(() => limiter.run(fn)));
      await time.clock.tickAsync(200);
      expect(result.error).to.have.property('code', 'ERR_TIMEOUT');
      expect(limiter.pending).to.equal(0);
      await time.clock.tickAsync(2_000);
      expect(fn.callCount).to.equal(0);
    });

    it('leaves the queue, never calling the function, when an enclosing timeout expires even with its own signal', async () => {
      const limiter = new RateLimiter({ rate: 1 });
      await limiter.acquire();
      const fn = sinon.fake();
      const own = new AbortController();
      const result = observe(
        new Timeout('200ms').run(() => limiter.run(fn, { signal: own.signal })),
      );
      await time.clock.tickAsync(200);
      expect(result.error).to.have.property('code', 'ERR_TIMEOUT');
      expect(limiter.pending).to.equal(0);
      await time.clock.tickAsync(2_000);
      expect(fn.callCount).to.equal(0);
    });
  });

  describe('queue', () => {
    it('serves waiters first come, first served: a 5-token request is not starved by later 1-token ones', async () => {
      const limiter = new RateLimiter({ rate: 10 });
      await limiter.acquire(10);
      const order: string[] = [];
      void limiter.acquire(5).then(() => order.push('five'));
      for (let i = 0; i < 20; i++) void limiter.acquire(1).then(() => order.push(`one${i}`));
      await time.clock.tickAsync(500);
      expect(order).to.deep.equal(['five']);
      await time.clock.tickAsync(2_000);
      expect(order).to.have.length(21);
      expect(order.slice(1)).to.deep.equal(Array.from({ length: 20 }, (_, i) => `one${i}`));
    });

    it('uses one timer for the whole queue, not one per waiter', async () => {
      const limiter = new RateLimiter({ rate: 10 });
      await limiter.acquire(10);
      acquireMany(limiter, 50);
      expect(time.clock.countTimers()).to.equal(1);
      await time.clock.tickAsync(1_234);
      expect(time.clock.countTimers()).to.equal(1);
    });

    it('arms no timer beyond what setTimeout can honour when the wait is longer than 24.8 days', async () => {
      const limiter = new RateLimiter({ rate: 1, per: '1h', capacity: 1_000 });
      await limiter.acquire(1_000);
      const setTimeoutSpy = sinon.spy(globalThis, 'setTimeout');
      const result = observe(limiter.acquire(1_000));
      await time.clock.tickAsync(2 ** 31);
      expect(setTimeoutSpy.args.every(([, ms]) => (ms ?? 0) <= 2 ** 31 - 1)).to.equal(true);
      expect(setTimeoutSpy.callCount).to.be.at.most(2);
      setTimeoutSpy.restore();
      expect(result.settled).to.equal(false);
      await time.clock.tickAsync(1_000 * 3_600_000);
      expect(result.settled).to.equal(true);
    });

    it('clears its timer once the queue is empty', async () => {
      const limiter = new RateLimiter({ rate: 10 });
      const grants = acquireMany(limiter, 30);
      await time.clock.tickAsync(2_000);
      expect(grants).to.have.length(30);
      expect(time.clock.countTimers()).to.equal(0);
    });

    it('serves 100,000 queued waiters in order with one timer', async () => {
      const limiter = new RateLimiter({ rate: 100_000, capacity: 100 });
      await limiter.acquire(100);
      let served = 0;
      let inOrder = true;
      // Timers of other tests' engines that fired since and re-armed on this fake clock: not the limiter's.
      const others = time.clock.countTimers();
      for (let i = 0; i < 100_000; i++) {
        void limiter.acquire().then(() => {
          if (served++ !== i) inOrder = false;
        });
      }
      expect(limiter.pending).to.equal(100_000);
      expect(time.clock.countTimers() - others).to.equal(1);
      await time.clock.tickAsync(1_000);
      expect(served).to.equal(100_000);
      expect(inOrder).to.equal(true);
      expect(time.clock.countTimers()).to.be.at.most(others);
    });

    it('lets an aborted waiter leave the queue at once, from any place, rejecting with the reason', async () => {
      const limiter = new RateLimiter({ rate: 1 });
      await limiter.acquire();
      const first = observe(limiter.acquire());
      const controller = new AbortController();
      const middle = observe(limiter.acquire(1, { signal: controller.signal }));
      const last = observe(limiter.acquire());
      const reason = new Error('caller gave up');
      controller.abort(reason);
      expect(limiter.pending).to.equal(2);
      await time.clock.tickAsync(0);
      expect(middle.error).to.equal(reason);
      await time.clock.tickAsync(2_000);
      expect(first.settled && last.settled).to.equal(true);
    });

    it('serves the next waiter at once when an aborted head leaves and its tokens are there', async () => {
      const limiter = new RateLimiter({ rate: 10 });
      await limiter.acquire(8);
      const controller = new AbortController();
      const big = observe(limiter.acquire(5, { signal: controller.signal }));
      const small = observe(limiter.acquire(2));
      await time.clock.tickAsync(0);
      expect(small.settled).to.equal(false);
      controller.abort(new Error('stop'));
      await time.clock.tickAsync(0);
      expect(big.error).to.have.property('message', 'stop');
      expect(small.settled).to.equal(true);
      expect(time.clock.countTimers()).to.equal(0);
    });

    it('rejects at once, without queueing, when the signal is already aborted', async () => {
      const limiter = new RateLimiter({ rate: 10 });
      const reason = new Error('already');
      const fn = sinon.fake();
      const result = observe(limiter.run(fn, { signal: AbortSignal.abort(reason) }));
      await time.clock.tickAsync(0);
      expect(result.error).to.equal(reason);
      expect(fn.callCount).to.equal(0);
      expect(limiter.available).to.equal(10);
    });

    it('fails with RateLimitExceededError carrying the wait it would have had when it exceeds maxWait', async () => {
      const limiter = new RateLimiter({ rate: 10 });
      await limiter.acquire(10);
      void limiter.acquire(3); // ready in 300 ms
      void limiter.acquire(2); // then 200 ms more
      const result = observe(limiter.acquire(4, { maxWait: '500ms' }));
      await time.clock.tickAsync(0);
      expect(result.error).to.be.instanceOf(RateLimitExceededError);
      expect(result.error).to.include({ retryAfter: 900, code: 'ERR_RATE_LIMITED' });
      expect(limiter.pending).to.equal(2);
      await time.clock.tickAsync(1_000);
    });

    it('waits when the wait stays within maxWait', async () => {
      const limiter = new RateLimiter({ rate: 10 });
      await limiter.acquire(10);
      const result = observe(limiter.run(() => 'ok', { tokens: 2, maxWait: 200 }));
      await time.clock.tickAsync(200);
      expect(result.value).to.equal('ok');
    });

    it('does not call the function of a run refused for maxWait', async () => {
      const limiter = new RateLimiter({ rate: 1 });
      await limiter.acquire();
      const fn = sinon.fake();
      const result = observe(limiter.run(fn, { maxWait: 0 }));
      await time.clock.tickAsync(5_000);
      expect(result.error).to.be.instanceOf(RateLimitExceededError);
      expect(fn.callCount).to.equal(0);
    });
  });

  describe('events', () => {
    it('emits `throttled` with the estimated wait when a call joins the queue', async () => {
      const limiter = new RateLimiter({ rate: 10 });
      const events: unknown[] = [];
      limiter.events.on('throttled', (event) => events.push(event));
      await limiter.acquire(10);
      void limiter.acquire(2);
      void limiter.acquire(1);
      expect(events).to.deep.equal([
        { tokens: 2, waitMs: 200 },
        { tokens: 1, waitMs: 300 },
      ]);
      await time.clock.tickAsync(300);
    });

    it('emits `rejected` with retryAfter for maxWait and tryAcquire refusals', async () => {
      const limiter = new RateLimiter({ rate: 10 });
      const events: unknown[] = [];
      limiter.events.on('rejected', (event) => events.push(event));
      await limiter.acquire(10);
      await limiter.acquire(3, { maxWait: 100 }).catch(() => undefined);
      await limiter.tryAcquire(2);
      expect(events).to.deep.equal([
        { tokens: 3, retryAfter: 300 },
        { tokens: 2, retryAfter: 200 },
      ]);
    });
  });

  describe('stores', () => {
    /** The memory store behind promises: what a store shared across processes looks like to the engine. */
    class AsyncStore implements TokenBucketStore {
      readonly inner = new MemoryTokenBucketStore();
      calls = 0;
      take(tokens: number, nowMs: number, bucket: TokenBucketSpec): Promise<TakeResult> {
        this.calls++;
        return Promise.resolve(this.inner.take(tokens, nowMs, bucket));
      }
    }

    it('works unchanged with a store that answers with promises', async () => {
      const store = new AsyncStore();
      const limiter = new RateLimiter({ rate: 10, store });
      const grants = acquireMany(limiter, 25);
      expect(await limiter.tryAcquire()).to.equal(false); // the queue is served first
      await time.clock.tickAsync(1_500);
      expect(countIn(grants, 0, 1)).to.equal(10);
      expect(grants).to.have.length(25);
      expect(store.calls).to.be.greaterThan(0);
    });

    it('rejects with an Error when a store fails with something else', async () => {
      const store: TokenBucketStore = { take: () => Promise.reject('redis down') };
      const limiter = new RateLimiter({ rate: 10, store });
      const result = observe(limiter.acquire());
      await time.clock.tickAsync(0);
      expect(result.error).to.be.instanceOf(Error);
      expect((result.error as Error).message).to.include('redis down');
    });

    it('rejects, never throws, when a store throws from take()', async () => {
      const store: TokenBucketStore = {
        take: () => {
          throw 'store broken';
        },
      };
      const limiter = new RateLimiter({ rate: 10, store });
      const calls: (() => Promise<unknown>)[] = [
        () => limiter.acquire(),
        () => limiter.run(() => 'ran'),
        () => limiter.run(() => 'ran', { signal: new AbortController().signal }),
        () => limiter.tryAcquire(),
      ];
      for (const call of calls) {
        let result: ReturnType<typeof observe> | undefined;
        expect(() => (result = observe(call()))).to.not.throw();
        await time.clock.tickAsync(0);
        expect(result!.error).to.be.instanceOf(Error);
        expect((result!.error as Error).message).to.include('store broken');
      }
    });

    it('tells the store how long each take will wait: 0 for tryAcquire, maxWait, forever once queued', async () => {
      const waits: (number | undefined)[] = [];
      const inner = new MemoryTokenBucketStore();
      const store: TokenBucketStore = {
        take: (tokens, nowMs, bucket, maxWaitMs) => {
          waits.push(maxWaitMs);
          return inner.take(tokens, nowMs, bucket);
        },
      };
      const limiter = new RateLimiter({ rate: 10, store });
      await limiter.acquire(10);
      expect(await limiter.tryAcquire()).to.equal(false);
      const late = limiter.acquire(1, { maxWait: 500 });
      await time.clock.tickAsync(100);
      await late;
      expect(waits).to.deep.equal([Infinity, undefined, 500, Infinity]);
    });

    /** A store whose answers (the first ones as given, then grants) arrive after `ms` of fake time. */
    function slowStore(ms: number, ...first: TakeResult[]): TokenBucketStore {
      return {
        take: () =>
          new Promise((resolve) =>
            setTimeout(() => resolve(first.shift() ?? { granted: true, waitMs: 0 }), ms),
          ),
      };
    }

    describe('a caller that gives up while the store answers', () => {
      it('runs nothing once the answer comes (its own signal)', async () => {
        const limiter = new RateLimiter({ rate: 10, store: slowStore(30) });
        const controller = new AbortController();
        let ran = false;
        const call = observe(limiter.run(() => (ran = true), { signal: controller.signal }));
        await time.clock.tickAsync(5);
        controller.abort(new Error('gone'));
        await time.clock.tickAsync(50);
        expect((call.error as Error).message).to.equal('gone');
        expect(ran).to.equal(false);
      });

      it('runs nothing once the answer comes (an enclosing timeout)', async () => {
        const limiter = new RateLimiter({ rate: 10, store: slowStore(30) });
        let ran = false;
        const call = observe(new Timeout(5).run(() => limiter.run(() => (ran = true))));
        await time.clock.tickAsync(50);
        expect(call.error).to.be.instanceOf(Error);
        expect(ran).to.equal(false);
      });

      it('does not join the queue when the answer is a refusal', async () => {
        const limiter = new RateLimiter({
          rate: 10,
          store: slowStore(10, { granted: false, waitMs: 20 }),
        });
        const controller = new AbortController();
        let ran = false;
        const call = observe(limiter.run(() => (ran = true), { signal: controller.signal }));
        await time.clock.tickAsync(2);
        controller.abort(new Error('gone'));
        await time.clock.tickAsync(10);
        expect(limiter.pending).to.equal(0);
        await time.clock.tickAsync(100);
        expect((call.error as Error).message).to.equal('gone');
        expect(ran).to.equal(false);
      });
    });

    it('says clearly that `available` needs a store that can peek synchronously', () => {
      const limiter = new RateLimiter({ rate: 10, store: new AsyncStore() });
      expect(() => limiter.available).to.throw(/peek synchronously/);
    });
  });

  describe('validation', () => {
    const limiter = () => new RateLimiter({ rate: 10, capacity: 20 });

    for (const tokens of [21, 0, -1, Number.NaN, Infinity]) {
      it(`rejects acquire(${tokens}) at once with ConfigError instead of hanging`, async () => {
        const result = observe(limiter().acquire(tokens));
        await time.clock.tickAsync(0);
        expect(result.error).to.be.instanceOf(ConfigError);
        expect((result.error as Error).message).to.match(/^tokens: expected .*capacity \(20\)/);
      });
    }

    it('rejects run and tryAcquire with impossible tokens without calling the function', async () => {
      const fn = sinon.fake();
      const run = observe(limiter().run(fn, { tokens: 50 }));
      const tried = observe(limiter().tryAcquire(0));
      await time.clock.tickAsync(0);
      expect(run.error).to.be.instanceOf(ConfigError);
      expect(tried.error).to.be.instanceOf(ConfigError);
      expect(fn.callCount).to.equal(0);
    });

    it('rejects run() of something that is not a function with ConfigError', async () => {
      const result = observe(limiter().run('call me' as never));
      await time.clock.tickAsync(0);
      expect(result.error).to.be.instanceOf(ConfigError);
    });

    it('rejects an invalid maxWait with ConfigError', async () => {
      const result = observe(limiter().acquire(1, { maxWait: '5 seconds' as never }));
      await time.clock.tickAsync(0);
      expect(result.error).to.be.instanceOf(ConfigError);
    });

    it('rejects invalid options at construction, listing every problem', () => {
      const make = (options: unknown) => () => new RateLimiter(options as never);
      expect(make({ rate: 0 })).to.throw(ConfigError, /rate: expected a finite number/);
      expect(make({ rate: -5 })).to.throw(ConfigError, /rate/);
      expect(make({})).to.throw(ConfigError, /rate/);
      expect(make({ rate: 10, capacity: 0.5 })).to.throw(ConfigError, /capacity: expected/);
      expect(make({ rate: 10, per: 0 })).to.throw(ConfigError, /per: expected a duration greater/);
      expect(make({ rate: 10, per: '1 sec' })).to.throw(ConfigError, /per/);
      expect(make({ rate: 10, burst: 5 })).to.throw(ConfigError, /burst: unknown option/);
      expect(make({ rate: 10, store: {} })).to.throw(
        ConfigError,
        /store: expected a TokenBucketStore/,
      );
      const error = thrown(make({ rate: Number.NaN, capacity: 0, per: -1 })) as ConfigError;
      expect(error.problems).to.have.length(3);
    });
  });
});
