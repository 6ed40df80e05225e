// Compiled twice: with experimentalDecorators (build/test) and with TC39 standard decorators (build/tc39).
import { expect } from 'chai';
import {
  AdaptiveConcurrencyLimiter,
  Concurrency,
  ConfigError,
  ResilienceRegistry,
  Retry,
  RetryBudget,
  Timeout,
  bindRegistry,
} from '../../src/index.js';
import { observe, useFakeClock, sleep } from '../support/fake-clock.js';

class Down extends Error {}

describe('decorators: retry budgets and adaptive concurrency', () => {
  const time = useFakeClock();

  it('draws the retries of @Retry on a budget given as an instance', async () => {
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 0.1, window: '10s' }); // one retry
    let calls = 0;
    class Api {
      @Retry({ maxAttempts: 5, baseDelay: 1, budget })
      async get() {
        calls++;
        throw new Down(`try ${calls}`);
      }
    }
    const result = observe(new Api().get());
    await time.clock.tickAsync(100);
    expect(result.error).to.be.instanceOf(Down).with.property('message', 'try 2');
    expect(budget.metrics()).to.deep.equal({ requests: 1, retries: 1, available: 0 });
  });

  it('resolves a budget name through the registry, one budget shared by every method naming it', async () => {
    const policies = new ResilienceRegistry({
      retryBudget: { upstream: { ratio: 0, minPerSecond: 0.1, window: '10s' } },
      retry: { search: { maxAttempts: 5, baseDelay: 1, budget: 'upstream' } },
    });
    let calls = 0;
    class Api {
      @Retry({ maxAttempts: 5, baseDelay: 1, budget: 'upstream' })
      async get() {
        calls++;
        throw new Down('get');
      }

      @Retry('search')
      async search() {
        calls++;
        throw new Down('search');
      }
    }
    const api = bindRegistry(new Api(), policies);
    const results = [observe(api.get()), observe(api.search())];
    await time.clock.tickAsync(100);
    expect(results.every((r) => r.error instanceof Down)).to.equal(true);
    expect(calls).to.equal(3); // two first tries and the one retry the budget held
    expect(policies.retryBudget('upstream').metrics().retries).to.equal(1);
  });

  it('fails the first call of a method whose budget name is not configured, listing the known ones', async () => {
    const policies = new ResilienceRegistry({ retryBudget: { upstream: {} } });
    class Api {
      @Retry({ budget: 'upstreem' })
      async get() {
        return 1;
      }
    }
    const result = observe(bindRegistry(new Api(), policies).get());
    await time.clock.tickAsync(0);
    expect(result.error)
      .to.be.instanceOf(ConfigError)
      .with.property('message')
      .that.matches(/budget: retryBudget "upstreem" is not configured; known: upstream/);
  });

  it('checks inline retry options at decoration time, a budget name aside', () => {
    expect(() => Retry({ maxAttempts: 0, budget: 'upstream' })).to.throw(
      ConfigError,
      /maxAttempts: expected an integer/,
    );
    expect(() => Retry({ budget: 5 as never })).to.throw(
      ConfigError,
      /^budget: expected a RetryBudget/,
    );
  });

  it('adapts the limit of @Concurrency({ adaptive }) to the latency of the method itself', async () => {
    let running = 0;
    let peak = 0;
    class Repo {
      @Concurrency({ adaptive: { algorithm: 'aimd', initialLimit: 4, latencyThreshold: '50ms' } })
      async find(ms: number) {
        peak = Math.max(peak, ++running);
        await sleep(ms);
        running--;
      }
    }
    const repo = new Repo();
    // Ten calls slower than the threshold make a window of drops: the limit goes from 4 to 3 (4 × 0.9).
    const slow = Array.from({ length: 10 }, () => observe(repo.find(60)));
    await time.clock.tickAsync(1_000);
    expect(slow.every((c) => c.settled)).to.equal(true);
    expect(peak).to.equal(4);
    peak = 0;
    const next = Array.from({ length: 6 }, () => observe(repo.find(10)));
    await time.clock.tickAsync(1_000);
    expect(next.every((c) => c.settled)).to.equal(true);
    expect(peak).to.equal(3);
  });

  it('counts a timeout of @Timeout around the method as a drop of @Concurrency({ adaptive })', async () => {
    const limiter = new AdaptiveConcurrencyLimiter({
      algorithm: 'aimd',
      initialLimit: 10,
      backoffRatio: 0.5,
    });
    class Repo {
      @Timeout(10)
      @Concurrency(limiter)
      async find() {
        await sleep(100);
      }
    }
    const repo = new Repo();
    for (let i = 0; i < 10; i++) {
      const call = observe(repo.find());
      await time.clock.tickAsync(100);
      expect(call.error).to.have.property('name', 'TimeoutError');
    }
    expect(limiter.limit).to.equal(5);
  });

  it('uses an adaptive limiter configured in the registry under a name', async () => {
    const policies = new ResilienceRegistry({
      concurrency: {
        defaults: { limit: 10, maxQueue: 5 },
        search: { adaptive: { algorithm: 'vegas', initialLimit: 3 } },
      },
    });
    class Search {
      @Concurrency('search')
      async query() {
        return 'hits';
      }
    }
    expect(await bindRegistry(new Search(), policies).query()).to.equal('hits');
    const limiter = policies.concurrency('search');
    expect(limiter).to.be.instanceOf(AdaptiveConcurrencyLimiter);
    expect(limiter.limit).to.equal(3);
    expect(limiter.options.maxQueue).to.equal(5);
  });

  it('refuses bad adaptive options at decoration time, naming them', () => {
    expect(() => Concurrency({ adaptive: { algorithm: 'tcp' as never } })).to.throw(
      ConfigError,
      /^algorithm: expected one of "gradient", "aimd", "vegas", got "tcp"/,
    );
    expect(() => Concurrency({ adaptive: {}, limit: 5 })).to.throw(
      ConfigError,
      /^limit: unknown option \(known: maxQueue, maxWait\)/,
    );
  });
});
