import { expect } from 'chai';
import { ConcurrencyLimitError, ConcurrencyLimiter, type PermitStore } from '../../../src/index.js';
import { observe, useFakeClock } from '../../support/fake-clock.js';

/**
 * A store shared with other processes, as the Redis one is: it looks at the permits when asked and its answer
 * arrives later, when the test says so; other processes free permits meanwhile.
 */
class SharedStore implements PermitStore<number> {
  active = 0;
  takes = 0;
  private wake: () => void = () => undefined;
  private readonly answers: (() => void)[] = [];
  private tickets = 0;

  constructor(public free: number) {}

  take(): Promise<number | undefined> {
    this.takes++;
    const seen = this.free > 0;
    if (seen) this.free--;
    return new Promise((resolve) => {
      this.answers.push(() => {
        if (!seen) return resolve(undefined);
        this.active++;
        resolve(++this.tickets);
      });
    });
  }

  give(): void {
    this.active--;
    this.free++;
  }

  watch(wake: () => void): void {
    this.wake = wake;
  }

  /** Another process gives a permit back and says so. */
  freedElsewhere(): void {
    this.free++;
    this.wake();
  }

  /** Answers not delivered yet. */
  get waiting(): number {
    return this.answers.length;
  }

  /** Delivers the oldest answer. */
  async answer(): Promise<void> {
    this.answers.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('ConcurrencyLimiter over a shared permit store', () => {
  it('asks again when a permit was freed elsewhere while the store answered "none free"', async () => {
    const store = new SharedStore(0);
    const limiter = new ConcurrencyLimiter({ limit: 1, store });
    let ran = false;
    const call = limiter.run(async () => (ran = true));
    expect(store.takes).to.equal(1);
    store.freedElsewhere(); // after the store looked: its answer is out of date
    await store.answer();
    expect(store.takes).to.equal(2);
    await store.answer();
    await call;
    expect(ran).to.equal(true);
  });

  it('does not ask again for waiters that merely arrived while the store answered', async () => {
    const store = new SharedStore(0);
    const limiter = new ConcurrencyLimiter({ limit: 1, store });
    const calls = [1, 2, 3].map(() => limiter.run(async () => 'ran'));
    await store.answer();
    expect(store.takes).to.equal(1);
    expect(limiter.pending).to.equal(3);
    store.freedElsewhere();
    await store.answer();
    expect(await calls[0]).to.equal('ran');
    // Each permit given back here lets the next waiter in.
    while (store.waiting > 0) await store.answer();
    expect(await Promise.all(calls)).to.deep.equal(['ran', 'ran', 'ran']);
  });

  describe('a store that cannot answer', () => {
    /** A store whose next answer is a rejection, then a free permit. */
    function failingOnce() {
      let fail: (error: Error) => void = () => undefined;
      let taken = 0;
      const store: PermitStore<number> = {
        active: 0,
        take: () =>
          ++taken === 1
            ? new Promise<undefined>((_, reject) => (fail = reject))
            : Promise.resolve(taken),
        give: () => undefined,
      };
      return { store, fail: (error: Error) => fail(error) };
    }

    it('rejects the call it answered for with its error, and asks again for the next one', async () => {
      const { store, fail } = failingOnce();
      const limiter = new ConcurrencyLimiter({ limit: 2, store });
      const first = observe(limiter.run(async () => 'first'));
      const second = observe(limiter.run(async () => 'second'));
      const down = new Error('store down');
      fail(down);
      await new Promise((resolve) => setImmediate(resolve));
      expect(first.error).to.equal(down);
      expect(second.value).to.equal('second');
    });

    it('lets its error go when every caller left while it answered', async () => {
      const { store, fail } = failingOnce();
      const limiter = new ConcurrencyLimiter({ limit: 1, store });
      const unhandled: unknown[] = [];
      const listener = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', listener);
      try {
        const controller = new AbortController();
        const left = observe(limiter.run(async () => 'left', { signal: controller.signal }));
        controller.abort(new Error('gone'));
        fail(new Error('store down'));
        await new Promise((resolve) => setImmediate(resolve));
        expect((left.error as Error).message).to.equal('gone');
        expect(await limiter.run(async () => 'next')).to.equal('next');
        await new Promise((resolve) => setImmediate(resolve));
        expect(unhandled).to.deep.equal([]);
      } finally {
        process.off('unhandledRejection', listener);
      }
    });
  });

  describe('a call that will not wait (maxWait 0)', () => {
    it('waits for the store’s answer and runs when a permit is free', async () => {
      const store = new SharedStore(1);
      const limiter = new ConcurrencyLimiter({ limit: 1, maxWait: 0, store });
      const call = limiter.run(async () => 'ran');
      await store.answer();
      expect(await call).to.equal('ran');
    });

    describe('when the answer is late', () => {
      const time = useFakeClock();

      it('still waits for it: a limiter whose calls never wait sets them no deadline', async () => {
        const store = new SharedStore(1);
        const limiter = new ConcurrencyLimiter({ limit: 1, maxWait: 0, store });
        const call = observe(limiter.run(async () => 'ran'));
        await time.clock.tickAsync(1_000);
        const answered = store.answer();
        await time.clock.tickAsync(0);
        await answered;
        await time.clock.tickAsync(0);
        expect(call.value).to.equal('ran');
      });

      it('still waits for it when the call asks for maxWait 0 and the limiter has none', async () => {
        const store = new SharedStore(1);
        const limiter = new ConcurrencyLimiter({ limit: 1, store });
        const call = observe(limiter.run(async () => 'ran', { maxWait: 0 }));
        await time.clock.tickAsync(1_000);
        const answered = store.answer();
        await time.clock.tickAsync(0);
        await answered;
        await time.clock.tickAsync(0);
        expect(call.value).to.equal('ran');
      });
    });

    it('is refused when the answer is "none free", and so is every one that will not wait behind it', async () => {
      const store = new SharedStore(0);
      const limiter = new ConcurrencyLimiter({ limit: 1, store });
      const events: unknown[] = [];
      limiter.events.on('rejected', (event) => events.push(event));
      const hasty = observe(limiter.run(async () => 1, { maxWait: 0 }));
      const patient = observe(limiter.run(async () => 2));
      const alsoHasty = observe(limiter.run(async () => 3, { maxWait: 0 }));
      await store.answer();
      expect(hasty.error).to.be.instanceOf(ConcurrencyLimitError);
      expect(alsoHasty.error).to.be.instanceOf(ConcurrencyLimitError);
      expect(events).to.deep.equal([
        { reason: 'maxWait', pending: 2 },
        { reason: 'maxWait', pending: 1 },
      ]);
      // The one that waits keeps its place, and is asked for when a permit comes back.
      expect([patient.settled, limiter.pending]).to.deep.equal([false, 1]);
      // While it waits, no permit is free: a newcomer that will not wait is refused at once.
      const late = observe(limiter.run(async () => 4, { maxWait: 0 }));
      await Promise.resolve();
      expect(late.error).to.be.instanceOf(ConcurrencyLimitError);
      store.freedElsewhere();
      while (store.waiting > 0) await store.answer();
      expect(patient.value).to.equal(2);
    });

    it('refuses every one of them when a listener of the first refusal makes the next one leave', async () => {
      const store = new SharedStore(0);
      const limiter = new ConcurrencyLimiter({ limit: 1, store });
      const second = new AbortController();
      const events: unknown[] = [];
      limiter.events.on('rejected', (event) => {
        events.push(event);
        second.abort(new Error('second left')); // its caller gives up as it hears the news
      });
      const calls = [undefined, second.signal, undefined].map((signal) =>
        observe(limiter.run(async () => 'ran', { maxWait: 0, signal })),
      );
      await store.answer();
      expect(calls.map((call) => call.error)).to.satisfy((errors: unknown[]) =>
        errors.every((error) => error instanceof Error),
      );
      expect(calls[0].error).to.be.instanceOf(ConcurrencyLimitError);
      expect((calls[1].error as Error).message).to.equal('second left');
      expect(calls[2].error).to.be.instanceOf(ConcurrencyLimitError);
      expect(events).to.have.length(2);
      expect(limiter.pending).to.equal(0);
    });

    it('asks again rather than refusing when a permit was freed while the store answered', async () => {
      const store = new SharedStore(0);
      const limiter = new ConcurrencyLimiter({ limit: 1, store });
      const call = limiter.run(async () => 'ran', { maxWait: 0 });
      store.freedElsewhere();
      await store.answer();
      await store.answer();
      expect(await call).to.equal('ran');
    });
  });
});

describe('ConcurrencyLimiter over a store whose give() throws', () => {
  /** Permits of one process, as the built-in store, but giving them back fails after the count is kept. */
  class BrokenGive implements PermitStore<true> {
    active = 0;
    constructor(private readonly limit: number) {}
    take(): true | undefined {
      if (this.active >= this.limit) return undefined;
      this.active++;
      return true;
    }
    give(): void {
      this.active--;
      throw new Error('store bookkeeping failed');
    }
  }

  it('keeps each call its own outcome, serves the next waiter, and reports the store as a callbackError', async () => {
    const limiter = new ConcurrencyLimiter({ limit: 1, store: new BrokenGive(1) });
    const reported: unknown[] = [];
    limiter.events.on('callbackError', ({ error }) => reported.push(error));
    const first = limiter.run(async () => 'first');
    const second = limiter.run(() => Promise.reject(new RangeError('second failed')));
    const third = limiter.run(() => 'third, synchronously');
    expect(await first).to.equal('first');
    expect(await second.catch((error: unknown) => error)).to.be.instanceOf(RangeError);
    expect(await third).to.equal('third, synchronously');
    const permit = await limiter.acquire();
    permit.release();
    expect(reported).to.have.length(4);
    for (const error of reported)
      expect((error as Error).message).to.equal('store bookkeeping failed');
  });
});
