// A caller's signal reaches every policy the same way: an abort mid-call ends the call at once with the signal's
// reason, `currentSignal()` inside the work aborts with it, and nothing runs afterwards (no further try, no late
// event, no state change).
import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import {
  callerSignal,
  CircuitBreaker,
  ConcurrencyLimiter,
  FallbackPolicy,
  HedgePolicy,
  RateLimiter,
  RetryPolicy,
  Timeout,
  currentSignal,
  withSignal,
  type CallOptions,
  type Policy,
} from '../../src/index.js';
import { observe, useFakeClock } from '../support/fake-clock.js';

class Down extends Error {}

/** Work that reads its signal, then fails after `ms` (or succeeds, with `value`). */
function slowWork(ms: number, seen: AbortSignal[], value?: unknown) {
  let calls = 0;
  const work = () => {
    calls++;
    seen.push(currentSignal());
    return new Promise((resolve, reject) =>
      setTimeout(() => (value === undefined ? reject(new Down('late')) : resolve(value)), ms),
    );
  };
  return { work, calls: () => calls };
}

function recordAll(events: Policy['events']): string[] {
  const seen: string[] = [];
  events.on('*', (event: { type: PropertyKey }) => seen.push(String(event.type)));
  return seen;
}

interface Engine {
  readonly name: string;
  readonly events: Policy['events'];
  run(work: () => Promise<unknown>, options: CallOptions): Promise<unknown>;
}

const engines: (() => Engine)[] = [
  () => {
    const policy = new RetryPolicy({ maxAttempts: 5, baseDelay: 10 });
    return {
      name: 'RetryPolicy.execute',
      events: policy.events,
      run: (w, o) => policy.execute(w, o),
    };
  },
  () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    return {
      name: 'CircuitBreaker.protect',
      events: breaker.events,
      run: (w, o) => breaker.protect(w, o),
    };
  },
  () => {
    const limiter = new RateLimiter({ rate: 10 });
    return { name: 'RateLimiter.run', events: limiter.events, run: (w, o) => limiter.run(w, o) };
  },
  () => {
    const limiter = new ConcurrencyLimiter({ limit: 1 });
    return {
      name: 'ConcurrencyLimiter.run',
      events: limiter.events,
      run: (w, o) => limiter.run(w, o),
    };
  },
  () => {
    const timeout = new Timeout('10s');
    return { name: 'Timeout.run', events: timeout.events, run: (w, o) => timeout.run(w, o) };
  },
  () => {
    const policy = new HedgePolicy({ delay: '10s' });
    return {
      name: 'HedgePolicy.execute',
      events: policy.events,
      run: (w, o) => policy.execute(w, o),
    };
  },
  () => {
    const policy = new FallbackPolicy(() => 'fallback');
    return {
      name: 'FallbackPolicy.execute',
      events: policy.events,
      run: (w, o) => policy.execute(w, [], o),
    };
  },
];

/** Abort reasons that `String()` refuses: a message made from them must not throw. */
const UNPRINTABLE_REASONS = [
  { label: 'a null-prototype object', reason: Object.create(null) as object },
  {
    label: 'an object whose toString throws',
    reason: {
      toString() {
        throw new Error('toString refused');
      },
    },
  },
  {
    label: 'a Proxy whose getPrototypeOf trap throws',
    reason: new Proxy(
      {},
      {
        getPrototypeOf() {
          throw new Error('trap refused');
        },
      },
    ),
  },
];

describe("a caller's signal through every policy", () => {
  const time = useFakeClock();

  for (const make of engines) {
    const { name } = make();
    describe(name, () => {
      it('ends the call at once with the reason when the caller aborts mid-try', async () => {
        const engine = make();
        const controller = new AbortController();
        const seen: AbortSignal[] = [];
        const { work } = slowWork(1_000, seen);
        const result = observe(engine.run(work, { signal: controller.signal }));
        await time.clock.tickAsync(100);
        const reason = new Error('caller left');
        controller.abort(reason);
        await time.clock.tickAsync(0);
        expect(result.error).to.equal(reason);
      });

      it('aborts currentSignal() inside the work with the same reason', async () => {
        const engine = make();
        const controller = new AbortController();
        const seen: AbortSignal[] = [];
        const { work } = slowWork(1_000, seen);
        observe(engine.run(work, { signal: controller.signal }));
        await time.clock.tickAsync(100);
        expect(seen).to.have.length(1);
        expect(seen[0].aborted).to.equal(false);
        const reason = new Error('caller left');
        controller.abort(reason);
        expect(seen[0].aborted).to.equal(true);
        expect(seen[0].reason).to.equal(reason);
      });

      it('runs nothing afterwards: no further try, no event, no timer left', async () => {
        const engine = make();
        const controller = new AbortController();
        const seen: AbortSignal[] = [];
        const { work, calls } = slowWork(1_000, seen);
        const events = recordAll(engine.events);
        observe(engine.run(work, { signal: controller.signal }));
        await time.clock.tickAsync(100);
        controller.abort(new Error('caller left'));
        const before = [...events];
        await time.clock.tickAsync(60_000);
        expect(calls()).to.equal(1);
        expect(events).to.deep.equal(before);
        expect(time.clock.countTimers()).to.equal(0);
      });

      it('does not start the work when the signal is already aborted', async () => {
        const engine = make();
        const controller = new AbortController();
        const reason = new Error('gone');
        controller.abort(reason);
        const seen: AbortSignal[] = [];
        const { work, calls } = slowWork(1_000, seen);
        const result = observe(engine.run(work, { signal: controller.signal }));
        await time.clock.tickAsync(0);
        expect(result.error).to.equal(reason);
        expect(calls()).to.equal(0);
      });

      it('passes the outcome on and leaves no listener when the signal never aborts', async () => {
        const engine = make();
        const controller = new AbortController();
        let listeners = 0;
        const add = controller.signal.addEventListener.bind(controller.signal);
        const remove = controller.signal.removeEventListener.bind(controller.signal);
        controller.signal.addEventListener = (...args: Parameters<typeof add>) => {
          listeners++;
          add(...args);
        };
        controller.signal.removeEventListener = (...args: Parameters<typeof remove>) => {
          listeners--;
          remove(...args);
        };
        const seen: AbortSignal[] = [];
        const { work } = slowWork(10, seen, 'done');
        const result = observe(engine.run(work, { signal: controller.signal }));
        await time.clock.tickAsync(20);
        expect(result.value).to.equal('done');
        expect(listeners).to.equal(0);
      });

      for (const { label, reason } of UNPRINTABLE_REASONS) {
        it(`ends the call with an Error when the caller aborts with ${label}`, async () => {
          const engine = make();
          const controller = new AbortController();
          const { work } = slowWork(1_000, []);
          // A second call on the same signal: one reason that cannot be printed must not strand the others.
          const results = [work, work].map((w) =>
            observe(engine.run(w, { signal: controller.signal })),
          );
          await time.clock.tickAsync(100);
          controller.abort(reason);
          await time.clock.tickAsync(0);
          for (const result of results) {
            expect(result.error).to.be.instanceOf(Error);
            expect((result.error as Error & { cause: unknown }).cause).to.equal(reason);
          }
        });
      }

      it('puts one listener on a signal shared by many parallel calls (Node warns past ten)', async () => {
        const engine = make();
        const controller = new AbortController();
        const results = Array.from({ length: 30 }, () => {
          const { work } = slowWork(1_000, []);
          return observe(engine.run(work, { signal: controller.signal }));
        });
        await time.clock.tickAsync(100);
        expect(getEventListeners(controller.signal, 'abort')).to.have.length.at.most(1);
        const reason = new Error('request closed');
        controller.abort(reason);
        await time.clock.tickAsync(0);
        expect(results.every((result) => result.error === reason)).to.equal(true);
      });
    });
  }

  it('a breaker does not count the failure of a call its caller abandoned', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    const controller = new AbortController();
    const { work } = slowWork(1_000, []);
    observe(breaker.protect(work, { signal: controller.signal }));
    controller.abort(new Error('caller left'));
    await time.clock.tickAsync(2_000);
    expect(breaker.state).to.equal('closed');
  });

  it('a rate-limited call that waits for tokens leaves the queue at once', async () => {
    const limiter = new RateLimiter({ rate: 1, per: '1s' });
    await limiter.acquire();
    const controller = new AbortController();
    const { work, calls } = slowWork(10, [], 'done');
    const result = observe(limiter.run(work, { signal: controller.signal }));
    await time.clock.tickAsync(100);
    expect(limiter.pending).to.equal(1);
    controller.abort(new Error('caller left'));
    await time.clock.tickAsync(0);
    expect(limiter.pending).to.equal(0);
    expect((result.error as Error).message).to.equal('caller left');
    await time.clock.tickAsync(5_000);
    expect(calls()).to.equal(0);
  });

  it('a concurrency-limited call that waits for a permit leaves the queue at once', async () => {
    const limiter = new ConcurrencyLimiter(1);
    const permit = await limiter.acquire();
    const controller = new AbortController();
    const { work, calls } = slowWork(10, [], 'done');
    const result = observe(limiter.run(work, { signal: controller.signal }));
    expect(limiter.pending).to.equal(1);
    controller.abort(new Error('caller left'));
    await time.clock.tickAsync(0);
    expect(limiter.pending).to.equal(0);
    expect((result.error as Error).message).to.equal('caller left');
    permit.release();
    await time.clock.tickAsync(100);
    expect(calls()).to.equal(0);
  });

  it('a running call keeps its permit until its work settles, though its caller has gone', async () => {
    const limiter = new ConcurrencyLimiter(1);
    const controller = new AbortController();
    const { work } = slowWork(1_000, [], 'done');
    observe(limiter.run(work, { signal: controller.signal }));
    controller.abort(new Error('caller left'));
    await time.clock.tickAsync(500);
    expect(limiter.active).to.equal(1);
    await time.clock.tickAsync(600);
    expect(limiter.active).to.equal(0);
  });
});

describe('callerSignal(): the signal a policy of your own reads', () => {
  it('is undefined outside a policy, and in a call nothing can abort', async () => {
    expect(callerSignal()).to.equal(undefined);
    expect(await new RetryPolicy({ maxAttempts: 1 }).execute(async () => callerSignal())).to.equal(
      undefined,
    );
  });

  it('aborts with the caller’s reason in a call made under withSignal', async () => {
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    const call = withSignal(controller.signal, () => {
      seen = callerSignal();
      return new Promise<never>(() => {});
    });
    expect(seen?.aborted).to.equal(false);
    const reason = new Error('gave up');
    controller.abort(reason);
    await call.catch(() => undefined);
    expect(seen?.aborted).to.equal(true);
    expect(seen?.reason).to.equal(reason);
  });
});
