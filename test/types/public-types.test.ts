// Type tests: checked when tsc compiles test/ (a wrong type fails the build); the `it`s only run the code.
// `// @ts-expect-error` marks misuse that must not compile: if it ever compiles, tsc reports the unused marker.
import { expect } from 'chai';
import { expectTypeOf } from 'expect-type';
import {
  BackoffStrategy,
  CircuitBreaker,
  CircuitBreakerError,
  CircuitState,
  Concurrency,
  ConfigError,
  Fallback,
  RateLimited,
  RateLimiter,
  ResilienceError,
  ResilienceRegistry,
  Retry,
  RetryPolicy,
  Timeout,
  asyncToSync,
  fallback,
  gatherWithLimit,
  mapWithLimit,
  retry,
  runAsync,
  runInExecutor,
  runWithTimeout,
  syncToAsync,
  toMs,
  type Duration,
  type RegistryEvents,
  type RetryOptions,
} from '../../src/index.js';
import { withRedisStores, type RedisClient } from '../../src/redis/index.js';

/** Holds code that must type-check (or fail to, under @ts-expect-error) but must not run. */
function compileOnly(code: () => unknown): void {
  expect(code).to.be.a('function');
}

describe('types: wrapped functions keep their signatures', () => {
  it('retry keeps parameters and `this`, and returns a promise of the awaited result', async () => {
    const fetchUser = retry(async (id: number, verbose?: boolean) => ({ id, verbose }));
    expectTypeOf(fetchUser).parameters.toEqualTypeOf<[id: number, verbose?: boolean]>();
    expectTypeOf(fetchUser).returns.toEqualTypeOf<
      Promise<{ id: number; verbose: boolean | undefined }>
    >();

    const sync = retry((text: string) => text.length);
    expectTypeOf(sync).parameters.toEqualTypeOf<[text: string]>();
    expectTypeOf(sync).returns.toEqualTypeOf<Promise<number>>();

    const counter = {
      step: 2,
      next: retry(async function (this: { step: number }, n: number) {
        return n + this.step;
      }),
    };
    expectTypeOf(counter.next).thisParameter.toEqualTypeOf<{ step: number }>();
    // @ts-expect-error a string is not a number
    void retry(async (n: number) => n)('1').catch(() => undefined);
    expect(await counter.next(1)).to.equal(3);
  });

  it('retry types retryOnResult with the awaited result of the wrapped function', () => {
    void retry(async () => ({ status: 503 }), {
      retryOnResult: (response) => {
        expectTypeOf(response).toEqualTypeOf<{ status: number }>();
        return response.status >= 500;
      },
    });
    // @ts-expect-error the result has no `ok` field
    void retry(async () => ({ status: 503 }), { retryOnResult: (response) => response.ok });
  });

  it('retry options reject wrong types at compile time', () => {
    // @ts-expect-error maxAttempts is a number
    const attempts: RetryOptions = { maxAttempts: '3' };
    // @ts-expect-error not a strategy
    const strategy: RetryOptions = { strategy: 'random' };
    // @ts-expect-error a duration string needs a known unit
    const delay: RetryOptions = { baseDelay: '1sec' };
    const fine: RetryOptions = {
      strategy: BackoffStrategy.LINEAR,
      baseDelay: '1.5s',
      maxDelay: 60_000,
      exceptions: [TypeError, CircuitBreakerError],
      delay: (attempt) => (attempt > 2 ? undefined : 10),
    };
    expect([attempts, strategy, delay, fine]).to.have.length(4);
  });

  it('fallback answers with the union of the result and the handler, handler args typed', async () => {
    const getName = fallback(
      async (id: number) => `user ${id}`,
      (error, id) => {
        expectTypeOf(error).toBeUnknown();
        expectTypeOf(id).toEqualTypeOf<number>();
        return null;
      },
    );
    expectTypeOf(getName).parameters.toEqualTypeOf<[id: number]>();
    expectTypeOf(getName).returns.toEqualTypeOf<Promise<string | null>>();
    const byId = async (id: number) => id;
    // @ts-expect-error the handler's second parameter is the wrapped function's first (a number)
    void fallback(byId, (_error: unknown, id: string) => id);
    expect(await getName(1)).to.equal('user 1');
  });

  it('syncToAsync and runInExecutor keep parameters and promise the result', () => {
    const calc = syncToAsync((n: number, label: string) => ({ n, label }));
    expectTypeOf(calc).toEqualTypeOf<
      (n: number, label: string) => Promise<{ n: number; label: string }>
    >();
    expectTypeOf(runInExecutor((n: number) => n * 2, 21)).toEqualTypeOf<Promise<number>>();
    // @ts-expect-error runInExecutor checks the arguments against the function
    void runInExecutor((n: number) => n * 2, 'x').catch(() => undefined);
  });

  it('asyncToSync and runAsync return the awaited value, not a promise', () => {
    const read = asyncToSync(async (path: string) => path.length);
    expectTypeOf(read).toEqualTypeOf<(path: string) => number>();
    expectTypeOf(runAsync).returns.not.toMatchTypeOf<Promise<unknown>>();
    expectTypeOf<ReturnType<typeof runAsync<[string], Promise<number>>>>().toEqualTypeOf<number>();
  });

  it('runWithTimeout, Timeout.run, protect and run keep the work result type', () => {
    expectTypeOf(runWithTimeout(async () => 1, '1s')).toEqualTypeOf<Promise<number>>();
    expectTypeOf(runWithTimeout(Promise.resolve('x'), 10)).toEqualTypeOf<Promise<string>>();
    expectTypeOf(new Timeout('1s').run).toBeFunction();
    expectTypeOf(new CircuitBreaker().protect(async () => 1n)).toEqualTypeOf<Promise<bigint>>();
    expectTypeOf(new RateLimiter({ rate: 1 }).run(() => true)).toEqualTypeOf<Promise<boolean>>();
    expectTypeOf(new RetryPolicy().execute(async () => [1])).toEqualTypeOf<Promise<number[]>>();
    expectTypeOf(new RateLimiter({ rate: 1 }).tryAcquire()).toEqualTypeOf<Promise<boolean>>();
    compileOnly(() => {
      // @ts-expect-error a duration needs a known unit
      void runWithTimeout(async () => 1, '1d');
    });
  });

  it('gatherWithLimit resolves with the results in order, or settled results with settle: true', () => {
    const tasks = [async () => 1, async () => 'two'];
    expectTypeOf(gatherWithLimit(tasks, { limit: 2 })).toEqualTypeOf<
      Promise<(number | string)[]>
    >();
    expectTypeOf(gatherWithLimit(tasks, { limit: 2, settle: true })).toEqualTypeOf<
      Promise<PromiseSettledResult<number | string>[]>
    >();
    expectTypeOf(mapWithLimit([1, 2], async (n) => `${n}`, { limit: 1 })).toEqualTypeOf<
      AsyncGenerator<string, void, undefined>
    >();
    compileOnly(() => {
      // @ts-expect-error limit is required
      void gatherWithLimit(tasks, {});
    });
  });
});

describe('types: decorators', () => {
  it('accept async methods and keep their signatures', async () => {
    class Svc {
      @Fallback((_error: unknown) => 'cached')
      @Retry({ maxAttempts: 2 })
      @CircuitBreaker({ failureThreshold: 5 })
      @RateLimited({ rate: 10, per: '1s' }, { tokens: 1 })
      @Timeout('2s')
      @Concurrency(4)
      async get(id: number): Promise<string> {
        return `item ${id}`;
      }

      @Retry('payments')
      @Timeout({ timeout: 500 })
      async pay(amount: number, currency = 'EUR'): Promise<{ amount: number; currency: string }> {
        return { amount, currency };
      }
    }
    expectTypeOf<Svc['get']>().toEqualTypeOf<(id: number) => Promise<string>>();
    expectTypeOf<Svc['pay']>().parameters.toEqualTypeOf<[amount: number, currency?: string]>();
    expect(await new Svc().get(1)).to.equal('item 1');
  });

  it('refuse misuse at compile time', () => {
    compileOnly(() => {
      class Misuse {
        // @ts-expect-error a method that does not return a promise cannot be decorated
        @Retry()
        sync(): number {
          return 1;
        }

        // @ts-expect-error a boolean is not a timeout
        @Timeout(true)
        async a() {}

        // @ts-expect-error RateLimited needs a policy
        @RateLimited()
        async c() {}

        // @ts-expect-error a fallback is a handler or a method name
        @Fallback(5)
        async d() {}

        // @ts-expect-error unknown option
        @CircuitBreaker({ threshold: 3 })
        async e() {}

        // @ts-expect-error tokens is a number
        @RateLimited('github', { tokens: '5' })
        async f() {}

        // @ts-expect-error a RateLimiter is not a retry policy
        @Retry(new RateLimiter({ rate: 1 }))
        async g() {}
      }
      return Misuse;
    });
  });
});

describe('types: events and errors', () => {
  it("types the registry's re-emitted events, name and kind included", () => {
    const policies = new ResilienceRegistry();
    const off = policies.on('stateChange', (event) => {
      expectTypeOf(event.from).toEqualTypeOf<CircuitState>();
      expectTypeOf(event.to).toEqualTypeOf<'closed' | 'open' | 'half_open'>();
      expectTypeOf(event.name).toEqualTypeOf<string>();
      expectTypeOf(event.kind).toEqualTypeOf<string>();
    });
    policies.on('retry', (event) => {
      expectTypeOf(event.attempt).toEqualTypeOf<number>();
      expectTypeOf(event.delay).toEqualTypeOf<number>();
      expectTypeOf(event.error).toBeUnknown();
    });
    policies.on('throttled', (event) => expectTypeOf(event.waitMs).toEqualTypeOf<number>());
    policies.on('*', (event) => {
      expectTypeOf(event.type).toEqualTypeOf<keyof RegistryEvents>();
      if (event.type === 'timeout') expectTypeOf(event.timeout).toEqualTypeOf<number>();
    });
    // @ts-expect-error no such event
    policies.on('stateChanged', () => undefined);
    // @ts-expect-error a stateChange has no attempt
    policies.on('stateChange', (event) => event.attempt);
    expectTypeOf(off).returns.toBeVoid();
    off();
  });

  it('types registry configuration and look-ups', () => {
    const policies = new ResilienceRegistry({
      retry: { defaults: { maxAttempts: 3 }, payments: { baseDelay: '200ms' } },
      timeout: { slow: '2s', fast: { timeout: 100 } },
      order: ['retry', 'timeout'],
    });
    expectTypeOf(policies.circuitBreaker).returns.toEqualTypeOf<CircuitBreaker>();
    expectTypeOf(policies.rateLimiter).returns.toEqualTypeOf<RateLimiter>();
    compileOnly(() => {
      // @ts-expect-error maxAttempts is a number
      policies.configure({ retry: { payments: { maxAttempts: '5' } } });
      // @ts-expect-error not a policy kind in the order
      policies.configure({ order: ['cache'] });
      // @ts-expect-error a rate limiter needs its rate
      policies.configure({ rateLimiter: { github: { per: '1h' } } });
      policies.configure({ circuitBreaker: { payments: new CircuitBreaker() } });
      // @ts-expect-error an entry that is an engine must be of its kind
      policies.configure({ circuitBreaker: { payments: new RateLimiter({ rate: 1 }) } });
    });
  });

  it("types withRedisStores' configuration", () => {
    const redis = undefined as unknown as RedisClient;
    compileOnly(() => {
      withRedisStores(redis, {
        circuitBreaker: { defaults: { store: 'redis' }, payments: { trialLease: '30s' } },
        concurrency: { reports: { limit: 4, lease: '30s', store: 'redis' } },
        rateLimiter: { github: { rate: 10, store: 'redis' } },
      });
      // @ts-expect-error 'redis' is the only store a breaker entry can name
      withRedisStores(redis, { circuitBreaker: { payments: { store: 'memcached' } } });
    });
  });

  it("types each engine's own events", () => {
    const breaker = new CircuitBreaker();
    breaker.events.on('rejected', (event) => {
      expectTypeOf(event.retryAfter).toEqualTypeOf<number>();
      expectTypeOf(event.state).toEqualTypeOf<CircuitState>();
    });
    // @ts-expect-error a breaker does not throttle
    breaker.events.on('throttled', () => undefined);
    expectTypeOf(breaker.state).toEqualTypeOf<CircuitState>();
  });

  it('types the errors and durations', () => {
    expectTypeOf<ConfigError>().toMatchTypeOf<ResilienceError>();
    expectTypeOf<ConfigError['problems']>().toEqualTypeOf<readonly string[]>();
    expectTypeOf<CircuitBreakerError['retryAfter']>().toEqualTypeOf<number>();
    expectTypeOf<'1.5s'>().toMatchTypeOf<Duration>();
    expectTypeOf<250>().toMatchTypeOf<Duration>();
    // ('1 s' type-checks: TypeScript's `${number}` accepts '1 '. toMs refuses it at run time.)
    expectTypeOf<'5sec'>().not.toMatchTypeOf<Duration>();
    expectTypeOf(toMs).returns.toEqualTypeOf<number>();
    expectTypeOf(CircuitState.OPEN).toEqualTypeOf<'open'>();
  });
});
