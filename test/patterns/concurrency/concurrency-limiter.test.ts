import { AsyncLocalStorage } from 'node:async_hooks';
import { expect } from 'chai';
import {
  AdaptiveConcurrencyLimiter,
  ConcurrencyLimitError,
  ConcurrencyLimiter,
  ConfigError,
  TimeoutError,
  currentAttempt,
  currentSignal,
  retry,
  runWithTimeout,
  withSignal,
  type PermitStore,
} from '../../../src/index.js';
import { observe, useFakeClock } from '../../support/fake-clock.js';
import { Probe, countAbortControllers } from './probe.js';
import { rejection, thrown } from '../../support/rejection.js';

describe('ConcurrencyLimiter', () => {
  const time = useFakeClock();

  it('runs at most `limit` calls at once and starts the others in arrival order', async () => {
    const limiter = new ConcurrencyLimiter({ limit: 2 });
    const probe = new Probe();
    const calls = [30, 10, 20, 5, 5, 5].map((ms, id) =>
      observe(limiter.run(() => probe.work(id, ms))),
    );
    await time.clock.tickAsync(0);
    expect(limiter.active).to.equal(2);
    expect(limiter.pending).to.equal(4);
    await time.clock.tickAsync(200);
    expect(calls.map((c) => c.value)).to.deep.equal([0, 1, 2, 3, 4, 5]);
    expect(probe.started).to.deep.equal([0, 1, 2, 3, 4, 5]);
    expect(probe.peak).to.equal(2);
    expect(limiter.active).to.equal(0);
    expect(limiter.pending).to.equal(0);
  });

  it("is a policy of kind 'concurrency'", () => {
    expect(new ConcurrencyLimiter(1).kind).to.equal('concurrency');
  });

  describe('with a store that measures', () => {
    /** A counter of one permit that records what each give says about the work. */
    function measuringStore(measures = true, ticket: unknown = true) {
      const outcomes: unknown[] = [];
      let active = 0;
      const store: PermitStore = {
        measures,
        get active() {
          return active;
        },
        take: () => (active === 0 ? ((active = 1), ticket) : undefined),
        give: (_ticket, outcome) => {
          active = 0;
          outcomes.push(outcome);
        },
      };
      return { store, outcomes };
    }

    it('says how each call ended: fulfilled, rejected, returned or thrown synchronously', async () => {
      const { store, outcomes } = measuringStore();
      const limiter = new ConcurrencyLimiter({ limit: 1, store });
      const failed = new Error('failed');
      const thrown = new Error('thrown');
      await limiter.run(async () => 'ok');
      await limiter.run(() => Promise.reject(failed)).catch(() => undefined);
      await limiter.run(() => 'sync');
      await limiter
        .run(() => {
          throw thrown;
        })
        .catch(() => undefined);
      expect(outcomes).to.deep.equal([
        { ok: true },
        { ok: false, error: failed },
        { ok: true },
        { ok: false, error: thrown },
      ]);
    });

    it('says nothing of work whose caller gave up, however it ends, nor of a permit of acquire()', async () => {
      const { store, outcomes } = measuringStore();
      const limiter = new ConcurrencyLimiter({ limit: 1, store });
      for (const settle of [
        () => Promise.resolve('late'),
        () => Promise.reject(new Error('late')),
      ]) {
        const controller = new AbortController();
        const call = observe(
          limiter.run(() => new Promise((r) => setTimeout(r, 10)).then(settle), {
            signal: controller.signal,
          }),
        );
        controller.abort(new Error('gave up'));
        await time.clock.tickAsync(10);
        expect(call.settled).to.equal(true);
      }
      (await limiter.acquire()).release();
      expect(outcomes).to.deep.equal([undefined, undefined, undefined]);
    });

    it('counts work that outlived its deadline as failed with the TimeoutError, even when it succeeds late', async () => {
      const { store, outcomes } = measuringStore();
      const limiter = new ConcurrencyLimiter({ limit: 1, store });
      for (const settle of [
        () => Promise.resolve('late'),
        () => Promise.reject(new Error('late')),
      ]) {
        const call = observe(
          runWithTimeout(
            () => limiter.run(() => new Promise((r) => setTimeout(r, 20)).then(settle)),
            10,
          ),
        );
        await time.clock.tickAsync(20);
        expect(call.error).to.be.instanceOf(TimeoutError);
      }
      expect(outcomes).to.have.length(2);
      for (const outcome of outcomes)
        expect(outcome)
          .to.include({ ok: false })
          .and.to.have.property('error')
          .that.is.instanceOf(TimeoutError)
          .and.has.property('timeout', 10);
    });

    it('tells a store that does not measure nothing about asynchronous work, whatever its tickets', async () => {
      for (const ticket of [true, 'lease-1']) {
        const { store, outcomes } = measuringStore(false, ticket);
        const limiter = new ConcurrencyLimiter({ limit: 1, store });
        await limiter.run(async () => 'ok');
        await limiter.run(() => Promise.reject(new Error('failed'))).catch(() => undefined);
        expect(outcomes, String(ticket)).to.deep.equal([undefined, undefined]);
      }
    });

    it('tells a store whose tickets are its own how each call ended', async () => {
      const { store, outcomes } = measuringStore(true, 'lease-1');
      const limiter = new ConcurrencyLimiter({ limit: 1, store });
      const failed = new Error('failed');
      await limiter.run(async () => 'ok');
      await limiter.run(() => Promise.reject(failed)).catch(() => undefined);
      expect(outcomes).to.deep.equal([{ ok: true }, { ok: false, error: failed }]);
    });
  });

  it('accepts a bare number as the limit', () => {
    expect(new ConcurrencyLimiter(3).limit).to.equal(3);
  });

  it('releases the permit when the call rejects or throws synchronously', async () => {
    const limiter = new ConcurrencyLimiter(1);
    const boom = new Error('boom');
    const failed = observe(limiter.run(() => Promise.reject(boom)));
    const thrown = observe(
      limiter.run(() => {
        throw boom;
      }),
    );
    const ok = observe(limiter.run(async () => 'ok'));
    await time.clock.tickAsync(0);
    expect(failed.error).to.equal(boom);
    expect(thrown.error).to.equal(boom);
    expect(ok.value).to.equal('ok');
    expect(limiter.active).to.equal(0);
  });

  it('rejects, and releases the permit, when the work returns a value whose then cannot be read', async () => {
    const refused = new Error('then refused');
    const unreadable = () =>
      Object.defineProperty({}, 'then', {
        get() {
          throw refused;
        },
      });
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    for (const limiter of [new ConcurrencyLimiter(1), new AdaptiveConcurrencyLimiter()]) {
      const running = observe(limiter.run(() => new Promise((resolve) => setTimeout(resolve, 10))));
      // Queued behind the running call, then served by the pump; and run at once on a free permit.
      const queued = observe(limiter.run(unreadable));
      await time.clock.tickAsync(10);
      expect(running.settled).to.equal(true);
      expect(queued.error).to.equal(refused);
      expect(await rejection(limiter.run(unreadable))).to.equal(refused);
      expect(await rejection(limiter.run(() => proxy))).to.be.instanceOf(TypeError);
      expect(limiter.active).to.equal(0);
      expect(await limiter.run(() => 'still serving')).to.equal('still serving');
    }
  });

  it('rejects, never throws, when a store of your own throws from take() or answers what cannot be read', async () => {
    const broken = new Error('store down');
    let fault: 'throws' | 'unreadable' | 'then throws' | 'none' = 'throws';
    let active = 0;
    const store = {
      get active() {
        return active;
      },
      take() {
        if (fault === 'throws') throw broken;
        if (fault === 'unreadable')
          return Object.defineProperty({}, 'then', {
            get() {
              throw broken;
            },
          }) as never;
        if (fault === 'then throws')
          return {
            then() {
              throw broken;
            },
          } as never;
        active++;
        return 'ticket';
      },
      give() {
        active--;
      },
    };
    const limiter = new ConcurrencyLimiter({ limit: 1, store });
    let call: Promise<unknown> | undefined;
    expect(() => (call = limiter.run(async () => 'ran'))).not.to.throw();
    expect(await rejection(call!)).to.equal(broken);
    fault = 'unreadable';
    expect(await rejection(limiter.run(async () => 'ran'))).to.equal(broken);
    fault = 'then throws'; // no answer will come: the limiter must not wait for one
    expect(await rejection(limiter.run(async () => 'ran'))).to.equal(broken);
    fault = 'none';
    expect(await limiter.run(async () => 'ran')).to.equal('ran');
    expect(active).to.equal(0);
  });

  it('sets no timer and creates no AbortController when a permit is free', async () => {
    const limiter = new ConcurrencyLimiter({ limit: 2, maxWait: '1s' });
    const controllers = countAbortControllers();
    try {
      const call = limiter.run(async () => {
        expect(time.clock.countTimers()).to.equal(0);
        return 1;
      });
      expect(await call).to.equal(1);
      expect(controllers.count).to.equal(0);
    } finally {
      controllers.restore();
    }
  });

  describe('queue limit', () => {
    it('rejects at once with ConcurrencyLimitError beyond maxQueue', async () => {
      const limiter = new ConcurrencyLimiter({ limit: 1, maxQueue: 1 });
      const rejected: unknown[] = [];
      limiter.events.on('rejected', (event) => rejected.push(event));
      void limiter.run(() => new Promise((resolve) => setTimeout(resolve, 100)));
      const queued = observe(limiter.run(async () => 'queued'));
      const refused = observe(limiter.run(async () => 'refused'));
      await time.clock.tickAsync(0);
      expect(refused.error).to.be.instanceOf(ConcurrencyLimitError);
      expect((refused.error as ConcurrencyLimitError).code).to.equal('ERR_CONCURRENCY_LIMIT');
      expect((refused.error as Error).message).to.equal(
        'Concurrency limit 1 reached and the queue is full (1 waiting)',
      );
      expect(rejected).to.deep.equal([{ reason: 'queueFull', pending: 1 }]);
      await time.clock.tickAsync(100);
      expect(queued.value).to.equal('queued');
    });

    it('queues nothing with maxQueue 0', async () => {
      const limiter = new ConcurrencyLimiter({ limit: 1, maxQueue: 0 });
      void limiter.run(() => new Promise((resolve) => setTimeout(resolve, 10)));
      const refused = observe(limiter.run(async () => 1));
      await time.clock.tickAsync(0);
      expect(refused.error).to.be.instanceOf(ConcurrencyLimitError);
    });

    it('emits queued with the number of waiters', async () => {
      const limiter = new ConcurrencyLimiter(1);
      const queued: number[] = [];
      limiter.events.on('queued', ({ pending }) => queued.push(pending));
      for (let i = 0; i < 3; i++) void limiter.run(async () => i);
      await time.clock.tickAsync(0);
      expect(queued).to.deep.equal([1, 2]);
    });
  });

  describe('wait limit', () => {
    it('rejects a call that waits longer than maxWait with ConcurrencyLimitError', async () => {
      const limiter = new ConcurrencyLimiter({ limit: 1, maxWait: '50ms' });
      const events: unknown[] = [];
      limiter.events.on('rejected', (event) => events.push(event));
      void limiter.run(() => new Promise((resolve) => setTimeout(resolve, 100)));
      const waiting = observe(limiter.run(async () => 1));
      await time.clock.tickAsync(49);
      expect(waiting.settled).to.equal(false);
      await time.clock.tickAsync(1);
      expect(waiting.error).to.be.instanceOf(ConcurrencyLimitError);
      expect(limiter.pending).to.equal(0);
      expect(events).to.deep.equal([{ reason: 'maxWait', pending: 0 }]);
    });

    it('serves a whole queue of waiters with one timer, expiring them in arrival order', async () => {
      const limiter = new ConcurrencyLimiter({ limit: 1, maxWait: 100 });
      void limiter.run(() => new Promise((resolve) => setTimeout(resolve, 1000)));
      const timersBefore = time.clock.countTimers();
      const waiters = [];
      for (let i = 0; i < 50; i++) {
        waiters.push(observe(limiter.run(async () => i)));
        await time.clock.tickAsync(1);
      }
      expect(time.clock.countTimers() - timersBefore).to.equal(1);
      await time.clock.tickAsync(51);
      expect(waiters.filter((w) => w.settled)).to.have.length(2);
      await time.clock.tickAsync(100);
      expect(waiters.every((w) => w.error instanceof ConcurrencyLimitError)).to.equal(true);
    });

    it('refuses at once with maxWait 0 when no permit is free', async () => {
      const limiter = new ConcurrencyLimiter({ limit: 1, maxWait: 0 });
      void limiter.run(() => new Promise((resolve) => setTimeout(resolve, 10)));
      const refused = observe(limiter.run(async () => 1));
      await time.clock.tickAsync(0);
      expect(refused.error).to.be.instanceOf(ConcurrencyLimitError);
    });
  });

  describe("a call's own maxWait", () => {
    const busy = () => new Promise((resolve) => setTimeout(resolve, 1000));

    it('rejects a queued call after its own maxWait, and lets go of its timer when served first', async () => {
      const limiter = new ConcurrencyLimiter(1);
      const events: unknown[] = [];
      limiter.events.on('rejected', (event) => events.push(event));
      void limiter.run(busy);
      const patient = observe(limiter.run(async () => 'patient'));
      const hasty = observe(limiter.run(async () => 'hasty', { maxWait: '50ms' }));
      await time.clock.tickAsync(49);
      expect(hasty.settled).to.equal(false);
      await time.clock.tickAsync(1);
      expect(hasty.error).to.be.instanceOf(ConcurrencyLimitError);
      expect((hasty.error as Error).message).to.equal(
        'No permit within 50 ms (concurrency limit 1)',
      );
      expect(events).to.deep.equal([{ reason: 'maxWait', pending: 1 }]);
      const served = observe(limiter.run(async () => 'served', { maxWait: 5000 }));
      await time.clock.tickAsync(950);
      expect(patient.value).to.equal('patient');
      await time.clock.tickAsync(0);
      expect(served.value).to.equal('served');
      expect(time.clock.countTimers()).to.equal(0);
    });

    it('expires a bounded call queued behind an unbounded one, and the unbounded one keeps its place', async () => {
      const limiter = new ConcurrencyLimiter({ limit: 1, maxWait: 100 });
      void limiter.run(busy);
      const first = observe(limiter.run(async () => 1));
      const second = observe(limiter.run(async () => 2, { maxWait: 30 }));
      const third = observe(limiter.run(async () => 3));
      await time.clock.tickAsync(30);
      expect([first.settled, second.error, third.settled]).to.deep.equal([
        false,
        second.error,
        false,
      ]);
      expect(second.error).to.be.instanceOf(ConcurrencyLimitError);
      await time.clock.tickAsync(70);
      // The limiter's own maxWait still holds for the others.
      expect(first.error).to.be.instanceOf(ConcurrencyLimitError);
      expect(third.error).to.be.instanceOf(ConcurrencyLimitError);
    });

    it('can only shorten the wait: the limiter’s shorter maxWait still applies', async () => {
      const limiter = new ConcurrencyLimiter({ limit: 1, maxWait: 20 });
      void limiter.run(busy);
      const waiting = observe(limiter.run(async () => 1, { maxWait: '1s' }));
      await time.clock.tickAsync(20);
      expect((waiting.error as Error).message).to.equal(
        'No permit within 20 ms (concurrency limit 1)',
      );
    });

    it('refuses at once with maxWait 0 when no permit is free, and runs when one is', async () => {
      const limiter = new ConcurrencyLimiter(1);
      expect(await limiter.run(async () => 'free', { maxWait: 0 })).to.equal('free');
      void limiter.run(busy);
      const refused = observe(limiter.run(async () => 1, { maxWait: 0 }));
      await time.clock.tickAsync(0);
      expect((refused.error as Error).message).to.equal(
        'Concurrency limit 1 reached and maxWait is 0',
      );
      expect(limiter.pending).to.equal(0);
    });

    it('bounds acquire() too', async () => {
      const limiter = new ConcurrencyLimiter(1);
      const held = await limiter.acquire();
      const waiting = observe(limiter.acquire({ maxWait: 10 }));
      await time.clock.tickAsync(10);
      expect(waiting.error).to.be.instanceOf(ConcurrencyLimitError);
      held.release();
      expect(limiter.active).to.equal(0);
    });

    it('lets go of its timer when the caller aborts or the limiter resets', async () => {
      const limiter = new ConcurrencyLimiter(1);
      void limiter.run(busy);
      const controller = new AbortController();
      const aborted = observe(
        limiter.run(async () => 1, { maxWait: 500, signal: controller.signal }),
      );
      const reset = observe(limiter.run(async () => 2, { maxWait: 500 }));
      const timers = time.clock.countTimers();
      controller.abort(new Error('gone'));
      limiter.reset();
      await time.clock.tickAsync(0);
      expect((aborted.error as Error).message).to.equal('gone');
      expect((reset.error as Error).name).to.equal('PolicyResetError');
      expect(time.clock.countTimers()).to.equal(timers - 2);
    });

    const invalid: [string, unknown][] = [
      ['-1', -1],
      ['NaN', NaN],
      ["'5 parsecs'", '5 parsecs'],
      ['10n', 10n],
      ['a symbol', Symbol('w')],
      ['an object', {}],
    ];
    for (const [label, maxWait] of invalid) {
      it(`rejects maxWait ${label} with ConfigError before anything runs`, async () => {
        const limiter = new ConcurrencyLimiter(1);
        let ran = false;
        const error = await rejection(
          limiter.run(
            async () => {
              ran = true;
            },
            { maxWait: maxWait as never },
          ),
        );
        expect(error).to.be.instanceOf(ConfigError);
        expect(error.message).to.match(/^maxWait: /);
        expect(ran).to.equal(false);
        expect(await rejection(limiter.acquire({ maxWait } as never))).to.be.instanceOf(
          ConfigError,
        );
      });
    }
  });

  describe('abort while queued', () => {
    it('leaves the queue at once and rejects with the signal’s reason', async () => {
      const limiter = new ConcurrencyLimiter(1);
      const controller = new AbortController();
      const reason = new Error('gave up');
      const probe = new Probe();
      void limiter.run(() => probe.work(0, 100));
      const aborted = observe(limiter.run(() => probe.work(1, 10), { signal: controller.signal }));
      const next = observe(limiter.run(() => probe.work(2, 10)));
      await time.clock.tickAsync(10);
      controller.abort(reason);
      await time.clock.tickAsync(0);
      expect(aborted.error).to.equal(reason);
      expect(limiter.pending).to.equal(1);
      await time.clock.tickAsync(200);
      expect(next.value).to.equal(2);
      expect(probe.started).to.deep.equal([0, 2]);
    });

    it('rejects at once, without running, when the signal is already aborted', async () => {
      const limiter = new ConcurrencyLimiter(1);
      const probe = new Probe();
      const call = observe(limiter.run(() => probe.work(0, 1), { signal: AbortSignal.abort() }));
      await time.clock.tickAsync(10);
      expect(call.error).to.be.instanceOf(Error);
      expect(probe.started).to.deep.equal([]);
    });

    it('does not start a queued call whose enclosing timeout has expired', async () => {
      const limiter = new ConcurrencyLimiter(1);
      const probe = new Probe();
      void limiter.run(() => probe.work(0, 100));
      const timed = observe(runWithTimeout(() => limiter.run(() => probe.work(1, 10)), 50));
      await time.clock.tickAsync(200);
      expect(timed.error).to.be.instanceOf(TimeoutError);
      expect(probe.started).to.deep.equal([0]);
      expect(limiter.pending).to.equal(0);
    });

    it('does not run a call made once the enclosing call has given up, even with a permit free', async () => {
      const limiter = new ConcurrencyLimiter(1);
      let ran = 0;
      const work = async () => ran++;
      for (const options of [undefined, { signal: new AbortController().signal }]) {
        const controller = new AbortController();
        let inner: ReturnType<typeof observe> | undefined;
        const call = observe(
          withSignal(controller.signal, () => {
            controller.abort(new Error('gave up'));
            const run = limiter.run(work, options);
            inner = observe(run);
            return run;
          }),
        );
        await time.clock.tickAsync(0);
        expect((call.error as Error).message).to.equal('gave up');
        expect((inner?.error as Error).message).to.equal('gave up');
      }
      expect(ran).to.equal(0);
      expect(limiter.active).to.equal(0);
    });

    it('gives a call that passes its own signal the enclosing retry’s attempt through currentAttempt()', async () => {
      const limiter = new ConcurrencyLimiter(1);
      const signal = new AbortController().signal;
      const seen: number[] = [];
      const call = retry(
        () =>
          limiter.run(
            async () => {
              seen.push(currentAttempt());
              if (seen.length < 2) throw new Error('again');
            },
            { signal },
          ),
        { maxAttempts: 2, baseDelay: 0 },
      );
      const done = observe(call());
      await time.clock.tickAsync(10);
      expect(done.settled).to.equal(true);
      expect(seen).to.deep.equal([1, 2]);
    });

    it('leaves the queue as soon as its enclosing timeout expires, making room for the next caller', async () => {
      const limiter = new ConcurrencyLimiter({ limit: 1, maxQueue: 1 });
      const probe = new Probe();
      void limiter.run(() => probe.work(0, 1000));
      const timed = observe(runWithTimeout(() => limiter.run(() => probe.work(1, 10)), 100));
      await time.clock.tickAsync(100);
      expect(timed.error).to.be.instanceOf(TimeoutError);
      expect(limiter.pending).to.equal(0);
      const next = observe(limiter.run(() => probe.work(2, 10)));
      await time.clock.tickAsync(1000);
      expect(next.value).to.equal(2);
      expect(probe.started).to.deep.equal([0, 2]);
    });

    it('leaves the queue when its enclosing timeout expires even when it passes its own signal', async () => {
      const limiter = new ConcurrencyLimiter({ limit: 1, maxQueue: 1 });
      const probe = new Probe();
      const own = new AbortController();
      void limiter.run(() => probe.work(0, 1000));
      const timed = observe(
        runWithTimeout(() => limiter.run(() => probe.work(1, 10), { signal: own.signal }), 100),
      );
      await time.clock.tickAsync(100);
      expect(timed.error).to.be.instanceOf(TimeoutError);
      expect(limiter.pending).to.equal(0);
    });
  });

  describe('context', () => {
    it('keeps the caller’s AsyncLocalStorage context inside a queued call', async () => {
      const storage = new AsyncLocalStorage<string>();
      const limiter = new ConcurrencyLimiter(1);
      const seen: (string | undefined)[] = [];
      const work = async () => {
        seen.push(storage.getStore());
        await new Promise((resolve) => setTimeout(resolve, 10));
        seen.push(storage.getStore());
      };
      const calls = ['first', 'second', 'third'].map((name) =>
        observe(storage.run(name, () => limiter.run(work))),
      );
      await time.clock.tickAsync(100);
      expect(calls.every((c) => c.settled && !c.error)).to.equal(true);
      expect(seen).to.deep.equal(['first', 'first', 'second', 'second', 'third', 'third']);
    });

    it('gives a queued call the caller’s policy signal through currentSignal()', async () => {
      const limiter = new ConcurrencyLimiter(1);
      void limiter.run(() => new Promise((resolve) => setTimeout(resolve, 10)));
      let inner: AbortSignal | undefined;
      const timed = observe(
        runWithTimeout(
          () =>
            limiter.run(async () => {
              inner = currentSignal();
              await new Promise((resolve) => setTimeout(resolve, 1000));
            }),
          100,
        ),
      );
      await time.clock.tickAsync(100);
      expect(timed.error).to.be.instanceOf(TimeoutError);
      expect(inner!.reason).to.be.instanceOf(TimeoutError);
    });
  });

  describe('acquire', () => {
    it('returns a permit that frees its slot once, however often it is released', async () => {
      const limiter = new ConcurrencyLimiter(2);
      const first = await limiter.acquire();
      const second = await limiter.acquire();
      const third = observe(limiter.acquire());
      await time.clock.tickAsync(0);
      expect(third.settled).to.equal(false);
      first.release();
      first.release();
      await time.clock.tickAsync(0);
      expect(third.value).to.not.equal(undefined);
      expect(limiter.active).to.equal(2);
      second.release();
      third.value!.release();
      expect(limiter.active).to.equal(0);
    });

    it('releases with `using` and `await using`', async () => {
      const limiter = new ConcurrencyLimiter(1);
      {
        using permit = await limiter.acquire();
        expect(limiter.active).to.equal(1);
        void permit;
      }
      expect(limiter.active).to.equal(0);
      {
        await using permit = await limiter.acquire();
        expect(limiter.active).to.equal(1);
        void permit;
      }
      expect(limiter.active).to.equal(0);
    });

    it('honours maxWait and the signal while waiting', async () => {
      const limiter = new ConcurrencyLimiter({ limit: 1, maxWait: 30 });
      const held = await limiter.acquire();
      const timedOut = observe(limiter.acquire());
      const controller = new AbortController();
      const aborted = observe(limiter.acquire({ signal: controller.signal }));
      controller.abort(new Error('no'));
      await time.clock.tickAsync(30);
      expect(timedOut.error).to.be.instanceOf(ConcurrencyLimitError);
      expect((aborted.error as Error).message).to.equal('no');
      held.release();
      expect(limiter.active).to.equal(0);
    });
  });

  it('keeps FIFO order through 20,000 waiters with every other one aborted', async () => {
    const limiter = new ConcurrencyLimiter(1);
    const order: number[] = [];
    const controllers: AbortController[] = [];
    const calls: Promise<unknown>[] = [];
    const gate = await limiter.acquire();
    for (let i = 0; i < 20_000; i++) {
      const controller = new AbortController();
      controllers.push(controller);
      calls.push(limiter.run(async () => order.push(i), { signal: controller.signal }));
    }
    for (let i = 1; i < 20_000; i += 2) controllers[i].abort(new Error('skip'));
    expect(limiter.pending).to.equal(10_000);
    gate.release();
    await Promise.allSettled(calls);
    expect(order).to.have.length(10_000);
    expect(order.every((value, index) => value === index * 2)).to.equal(true);
  });

  it('serves 50,000 waiters whose work returns or throws synchronously, in order, without nesting', async () => {
    const limiter = new ConcurrencyLimiter(1);
    const order: number[] = [];
    const gate = await limiter.acquire();
    const calls = Array.from({ length: 50_000 }, (_, i) =>
      limiter.run(() => {
        order.push(i);
        if (i % 2 === 1) throw new Error('odd');
        return i;
      }),
    );
    gate.release();
    const settled = await Promise.allSettled(calls);
    expect(settled.filter((s) => s.status === 'rejected')).to.have.length(25_000);
    expect(order.every((value, index) => value === index)).to.equal(true);
    expect([limiter.active, limiter.pending]).to.deep.equal([0, 0]);
  });

  describe('bad options', () => {
    for (const limit of [0, NaN, 2.5, undefined, '3']) {
      it(`throws ConfigError for limit ${typeof limit === 'string' ? `'${limit}'` : String(limit)}`, () => {
        expect(() => new ConcurrencyLimiter({ limit } as never)).to.throw(ConfigError, /limit/);
      });
    }

    it('refuses a store that cannot take and give permits, saying what a store is', () => {
      const { problems } = thrown(
        () => new ConcurrencyLimiter({ limit: 1, store: { take() {} } as never }),
      ) as ConfigError;
      expect(problems).to.deep.equal([
        'store: expected a PermitStore (an object with take() and give()), got {}',
      ]);
    });

    it('lists every problem at once: negative queue, bad wait, unknown option', () => {
      const { problems } = thrown(
        () => new ConcurrencyLimiter({ limit: 1, maxQueue: -1, maxWait: 'soon', max: 3 } as never),
      ) as ConfigError;
      expect(problems).to.have.length(3);
      expect(problems.join('\n'))
        .to.match(/maxQueue/)
        .and.match(/maxWait/)
        .and.match(/max:/);
    });

    it('rejects run() of something that is not a function with ConfigError', async () => {
      const limiter = new ConcurrencyLimiter(1);
      const call = observe(limiter.run(42 as never));
      await time.clock.tickAsync(0);
      expect(call.error).to.be.instanceOf(ConfigError);
    });
  });
});
