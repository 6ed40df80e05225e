import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { expect } from 'chai';
import sinon from 'sinon';
import {
  CircuitBreaker,
  CircuitState,
  ConfigError,
  PolicyResetError,
  RateLimited,
  registry,
  ResilienceRegistry,
  type AdaptiveConcurrencyLimiter,
} from '../../src/index.js';
import { ResilienceModule } from '../../src/nestjs/index.js';
import { resetResilience } from '../../src/testing/index.js';
import { observe } from '../support/fake-clock.js';
import { HOSTILE_VALUES } from '../support/hostile-values.js';

const fail = () => Promise.reject(new Error('down'));
const never = () => new Promise<never>(() => undefined);
// The call's error, or undefined when it succeeds: awaited without letting a rejection go unhandled.
const settle = (call: Promise<unknown>): Promise<unknown> =>
  call.then(
    () => undefined,
    (error: unknown) => error,
  );

describe('resetResilience', () => {
  let clock: sinon.SinonFakeTimers;

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    clock.restore();
  });

  it('closes an open breaker, clears its counters and puts its open backoff back to timeout', async () => {
    const registry = new ResilienceRegistry({
      circuitBreaker: { api: { failureThreshold: 2, timeout: '10s', maxTimeout: '1m' } },
    });
    const breaker = registry.circuitBreaker('api');
    await settle(breaker.protect(fail));
    await settle(breaker.protect(fail));
    await clock.tickAsync(10_000);
    await settle(breaker.protect(fail)); // the trial fails: open for 20 s now
    expect(breaker.toJSON().openMs).to.equal(20_000);

    resetResilience(registry);

    expect(breaker.state).to.equal(CircuitState.CLOSED);
    expect(breaker.toJSON()).to.include({
      failures: 0,
      successes: 0,
      openedAt: null,
      openMs: null,
    });
    await settle(breaker.protect(fail));
    expect(breaker.toJSON().failures).to.equal(1); // counting starts again from zero
  });

  it('clears a rate-mode breaker’s sliding window', async () => {
    const registry = new ResilienceRegistry({
      circuitBreaker: {
        api: { failureRateThreshold: 50, minimumCalls: 4, slidingWindow: { calls: 4 } },
      },
    });
    const breaker = registry.circuitBreaker('api');
    for (let i = 0; i < 3; i++) await settle(breaker.protect(fail));
    resetResilience(registry);
    expect(breaker.metrics()).to.include({ calls: 0, failedCalls: 0 });
  });

  it('fills a rate limiter’s bucket and rejects its queued calls with PolicyResetError', async () => {
    const registry = new ResilienceRegistry({ rateLimiter: { api: { rate: 2, per: '1m' } } });
    const limiter = registry.rateLimiter('api');
    await limiter.acquire(2);
    const queued = observe(limiter.acquire());
    expect(limiter.pending).to.equal(1);

    resetResilience(registry);
    await Promise.resolve();

    expect(queued.error).to.be.instanceOf(PolicyResetError);
    expect((queued.error as PolicyResetError).code).to.equal('ERR_POLICY_RESET');
    expect(limiter.pending).to.equal(0);
    expect(limiter.available).to.equal(2);
    expect(clock.countTimers()).to.equal(0);
  });

  it('empties a concurrency limiter: waiters rejected, permits of calls that never settled forgotten', async () => {
    const registry = new ResilienceRegistry({ concurrency: { db: { limit: 1, maxWait: '5s' } } });
    const limiter = registry.concurrency('db');
    void limiter.run(never);
    const queued = observe(limiter.run(async () => 'late'));
    expect(limiter.pending).to.equal(1);

    resetResilience(registry);
    await Promise.resolve();

    expect(queued.error).to.be.instanceOf(PolicyResetError);
    expect(limiter.active).to.equal(0);
    expect(limiter.pending).to.equal(0);
    expect(clock.countTimers()).to.equal(0);
    expect(await limiter.run(async () => 'free')).to.equal('free');
  });

  it('puts an adaptive limit back to its initial value', async () => {
    const registry = new ResilienceRegistry({
      concurrency: { db: { adaptive: { algorithm: 'aimd', initialLimit: 4, minLimit: 1 } } },
    });
    const limiter = registry.concurrency('db') as AdaptiveConcurrencyLimiter;
    for (let i = 0; i < 40; i++) await settle(limiter.run(() => Promise.reject(new Error('drop'))));
    expect(limiter.limit).to.be.below(4);

    resetResilience(registry);

    expect(limiter.limit).to.equal(4);
  });

  it('ends a timeout’s calls in flight with PolicyResetError and lets go of its timer', async () => {
    const registry = new ResilienceRegistry({ timeout: { slow: '5s' } });
    const timeout = registry.timeout('slow');
    let aborted: unknown;
    const call = observe(
      timeout.run((signal) => {
        signal.addEventListener('abort', () => (aborted = signal.reason));
        return never();
      }),
    );
    expect(clock.countTimers()).to.equal(1);

    resetResilience(registry);
    await Promise.resolve();

    expect(call.error).to.be.instanceOf(PolicyResetError);
    expect(aborted).to.equal(call.error);
    expect(clock.countTimers()).to.equal(0);
  });

  it('lets go of an idle timeout’s timer, which it otherwise keeps for a while after the last call', async () => {
    const timeout = new ResilienceRegistry({ timeout: { quick: '5s' } }).timeout('quick');
    await timeout.run(async () => 'done');
    expect(clock.countTimers()).to.equal(1);

    resetResilience(new ResilienceRegistry());

    expect(clock.countTimers()).to.equal(0);
  });

  it('resets the registry’s retry budgets, used or not by a retry policy', async () => {
    const registry = new ResilienceRegistry({
      retryBudget: { upstream: { ratio: 0, minPerSecond: 0.1, window: '10s' } },
      retry: { api: { maxAttempts: 2, baseDelay: 0, budget: 'upstream' } },
    });
    const budget = registry.retryBudget('upstream');
    const call = settle(registry.retry('api').execute(fail));
    await clock.runAllAsync();
    await call;
    expect(budget.metrics()).to.include({ retries: 1, available: 0 });

    resetResilience(registry);

    expect(budget.metrics()).to.deep.equal({ requests: 0, retries: 0, available: 1 });
  });

  it('forgets a hedge’s latency samples and lets go of its hedge timers', async () => {
    const registry = new ResilienceRegistry({
      hedge: { search: { delay: 'p50', minSamples: 1, fallbackDelay: '40ms', maxHedges: 1 } },
    });
    const hedge = registry.get('hedge', 'search');
    const first = hedge.execute(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return 'ok';
    });
    await clock.tickAsync(5);
    expect(await first).to.equal('ok');
    expect(hedge.delayFor()).to.equal(5);
    void hedge.execute(never);
    expect(clock.countTimers()).to.be.greaterThan(0);

    resetResilience(registry);

    expect(hedge.delayFor()).to.equal(40);
    expect(clock.countTimers()).to.equal(0);
  });

  it('resets the inline engines of decorated methods', async () => {
    class Api {
      @CircuitBreaker({ failureThreshold: 1, timeout: '1m' })
      async call(): Promise<never> {
        throw new Error('down');
      }
    }
    const api = new Api();
    await settle(api.call());
    const [inline] = registry.engines().filter(({ name }) => name === 'Api.call');
    expect((inline.engine as CircuitBreaker).state).to.equal(CircuitState.OPEN);

    resetResilience();

    expect((inline.engine as CircuitBreaker).state).to.equal(CircuitState.CLOSED);
  });

  it('resets an engine given as a configuration entry, even when only used directly', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, timeout: '1m' });
    const registry = new ResilienceRegistry({ circuitBreaker: { api: breaker } });
    await settle(breaker.protect(fail));
    expect(breaker.state).to.equal(CircuitState.OPEN);

    resetResilience(registry);

    expect(breaker.state).to.equal(CircuitState.CLOSED);
  });

  it('resets the default registry when given none', async () => {
    registry.configure({ rateLimiter: { resetDefaultTest: { rate: 1, per: '1h' } } });
    const limiter = registry.rateLimiter('resetDefaultTest');
    await limiter.acquire();
    expect(limiter.available).to.equal(0);
    resetResilience();
    expect(limiter.available).to.equal(1);
  });

  it('ends a retry waiting out its backoff: no further try, no timer left', async () => {
    const registry = new ResilienceRegistry({
      retry: { api: { maxAttempts: 5, baseDelay: '1m', strategy: 'constant', jitter: false } },
    });
    const policy = registry.retry('api');
    const tries = sinon.spy(fail);
    const outcome = settle(policy.execute(tries));
    await clock.tickAsync(0); // the first try failed: the call waits a minute
    expect(tries.callCount).to.equal(1);
    expect(clock.countTimers()).to.equal(1);

    resetResilience(registry);

    expect(await outcome).to.be.instanceOf(PolicyResetError);
    expect(clock.countTimers()).to.equal(0);
    await clock.tickAsync(300_000);
    expect(tries.callCount).to.equal(1);
    // The policy works as before for the next call.
    const next = settle(policy.execute(tries));
    await clock.tickAsync(60_000);
    expect(tries.callCount).to.equal(3);
    resetResilience(registry);
    expect(await next).to.be.instanceOf(PolicyResetError);
  });

  it('refuses anything but a registry with a ConfigError', () => {
    expect(() => resetResilience('payments' as never)).to.throw(
      ConfigError,
      'resetResilience(registry): expected a ResilienceRegistry, got "payments"',
    );
    for (const { label, value } of HOSTILE_VALUES)
      expect(() => resetResilience(value as never), label).to.throw(
        ConfigError,
        'resetResilience(registry): expected a ResilienceRegistry',
      );
  });

  it('leaves no timer of dspu’s behind, whatever every kind of engine was doing', async () => {
    const registry = new ResilienceRegistry({
      rateLimiter: { api: { rate: 1, per: '1m' } },
      concurrency: { db: { limit: 1, maxWait: '1m' } },
      timeout: { slow: '1m' },
      circuitBreaker: { api: { failureThreshold: 1, timeout: '1m' } },
    });
    await registry.rateLimiter('api').acquire();
    const waiting = [
      observe(registry.rateLimiter('api').acquire()),
      observe(registry.concurrency('db').run(never)),
      observe(registry.concurrency('db').run(never)),
      observe(registry.timeout('slow').run(never)),
      observe(registry.circuitBreaker('api').protect(fail)),
    ];
    expect(clock.countTimers()).to.be.greaterThan(0);

    resetResilience(registry);
    await Promise.resolve();

    expect(clock.countTimers()).to.equal(0);
    expect(waiting.filter((call) => call.error instanceof PolicyResetError)).to.have.length(3);
  });
});

@Injectable()
class QuoteService {
  @RateLimited('quotes', { maxWait: 0 })
  async quote(): Promise<string> {
    return 'quote';
  }
}

@Module({
  imports: [ResilienceModule.forRoot({ rateLimiter: { quotes: { rate: 1, per: '1h' } } })],
  providers: [QuoteService],
})
class QuoteModule {}

describe('resetResilience and breakers whose reset fails', () => {
  it('lets no rejection of a breaker’s reset() escape as an unhandled rejection', async () => {
    // As a RedisCircuitBreaker in fail-closed mode does when Redis cannot be reached (it reports storeError).
    let resets = 0;
    class StoreBackedBreaker extends CircuitBreaker {
      override reset(): Promise<void> {
        resets++;
        return Promise.reject(new Error('store unreachable'));
      }
    }
    const registry = new ResilienceRegistry({
      circuitBreaker: { shared: new StoreBackedBreaker() },
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      resetResilience(registry);
      await new Promise((resolve) => setTimeout(resolve, 10));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).to.deep.equal([]);
    expect(resets).to.equal(1);
  });
});

describe('resetResilience with a Nest application', () => {
  it('resets the registry the application injects', async () => {
    const app = await NestFactory.createApplicationContext(QuoteModule, { logger: false });
    try {
      const quotes = app.get(QuoteService);
      await quotes.quote();
      const error = await quotes.quote().then(
        () => undefined,
        (rejected: unknown) => rejected,
      );
      expect((error as { code?: string }).code).to.equal('ERR_RATE_LIMITED');

      resetResilience(app.get(ResilienceRegistry));

      expect(await quotes.quote()).to.equal('quote');
    } finally {
      await app.close();
    }
  });
});
