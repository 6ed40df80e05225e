// Compiled twice: with experimentalDecorators (build/test) and with TC39 standard decorators (build/tc39).
import { expect } from 'chai';
import {
  CircuitBreaker,
  Concurrency,
  ConfigError,
  Fallback,
  Hedge,
  RateLimited,
  ResilienceRegistry,
  Retry,
  Timeout,
  bindRegistry,
  registry as defaultRegistry,
} from '../../src/index.js';
import { observe, sleep, useFakeClock } from '../support/fake-clock.js';

/** Options whose every property answers its value on the first read and throws on any later one. */
function readableOnce<T extends object>(options: T): T {
  const object = {};
  for (const [key, value] of Object.entries(options)) {
    let read = false;
    Object.defineProperty(object, key, {
      enumerable: true,
      get() {
        if (read) throw new Error(`${key} read twice`);
        read = true;
        return value as unknown;
      },
    });
  }
  return object as T;
}

function engineOf(registry: ResilienceRegistry, name: string) {
  return registry.engines().find((held) => held.name === name)?.engine;
}

describe('decorators: a registry reconfigured after decoration', () => {
  const time = useFakeClock();

  it('keeps inline and named engines, with their state, across a configure() of other names', async () => {
    const registry = new ResilienceRegistry({ concurrency: { db: { limit: 1 } } });
    let running = 0;
    let most = 0;
    const work = async () => {
      most = Math.max(most, ++running);
      await sleep(50);
      running--;
    };
    class Repo {
      @Concurrency('db')
      async named() {
        await work();
      }
      @Concurrency(1)
      async inline() {
        await work();
      }
      @RateLimited({ rate: 1, per: '1h' }, { maxWait: 0 })
      async limited() {
        return 'ok';
      }
    }
    const repo = bindRegistry(new Repo(), registry);
    for (const method of ['named', 'inline'] as const) {
      running = most = 0;
      const first = observe(repo[method]());
      registry.configure({ timeout: { [`before-${method}`]: '2s' } });
      const second = observe(repo[method]());
      await time.clock.tickAsync(100);
      expect([first.settled, second.settled, most]).to.deep.equal([true, true, 1]);
    }
    expect(await repo.limited()).to.equal('ok');
    registry.configure({ timeout: { unrelated: '2s' } });
    const again = observe(repo.limited());
    await time.clock.tickAsync(0);
    expect(again.error).to.have.property('code', 'ERR_RATE_LIMITED');
  });

  it('gives an inline engine a new engine only when its kind’s defaults change', async () => {
    const registry = new ResilienceRegistry();
    class Svc {
      @Retry({ maxAttempts: 2 })
      async call() {
        return 'ok';
      }
    }
    const svc = bindRegistry(new Svc(), registry);
    await svc.call();
    const first = engineOf(registry, 'Svc.call');
    registry.configure({ timeout: { slow: '2s' } });
    await svc.call();
    expect(engineOf(registry, 'Svc.call')).to.equal(first);
    registry.configure({ retry: { defaults: { baseDelay: 5 } } });
    await svc.call();
    const replaced = engineOf(registry, 'Svc.call');
    expect(replaced).not.to.equal(first);
    expect(replaced).to.have.nested.property('options.baseDelay', 5);
  });

  it('reads inline options once, at decoration: a getter that fails later, or a change, reaches no call', async () => {
    const retry = { maxAttempts: 1 };
    const exceptions: (new (message?: string) => Error)[] = [RangeError];
    class Svc {
      @Retry(readableOnce(retry))
      @CircuitBreaker(readableOnce({ failureThreshold: 2 }))
      @RateLimited(readableOnce({ rate: 5 }))
      @Concurrency(readableOnce({ limit: 2 }))
      @Timeout(readableOnce({ timeout: '1s' as const }))
      @Hedge(readableOnce({ delay: '10s' as const }))
      @Fallback(() => 'fallback', readableOnce({ exceptions }))
      async call(): Promise<string> {
        throw new TypeError('down');
      }
    }
    retry.maxAttempts = 5;
    exceptions.push(TypeError);
    for (const svc of [new Svc(), bindRegistry(new Svc(), new ResilienceRegistry())]) {
      const call = observe(svc.call());
      await time.clock.tickAsync(0);
      expect(call.error).to.be.instanceOf(TypeError); // one try, and TypeError is no fallback exception
    }
  });

  it('reads nested option objects once too: a sliding window changed after decoration reaches no engine', async () => {
    const slidingWindow = { calls: 10 };
    class Svc {
      @CircuitBreaker({ failureRateThreshold: 50, slidingWindow })
      async call(): Promise<string> {
        return 'ok';
      }
    }
    slidingWindow.calls = -1;
    for (const svc of [new Svc(), bindRegistry(new Svc(), new ResilienceRegistry())]) {
      expect(await svc.call()).to.equal('ok');
    }
  });

  it('keeps an object with methods among the options as it is: a budget is shared by identity', async () => {
    const budget = {
      deposits: 0,
      deposit() {
        this.deposits++;
      },
      withdraw: () => true,
    };
    class Svc {
      @Hedge({ delay: '1s', budget })
      async call() {
        return 'ok';
      }
    }
    expect(await new Svc().call()).to.equal('ok');
    expect(budget.deposits).to.equal(1);
  });

  it('checks inline options merged over the default registry’s defaults at decoration', () => {
    defaultRegistry.configure({ retry: { defaults: { baseDelay: '10s' } } });
    try {
      expect(() => Retry({ maxDelay: '5s' })).to.throw(
        ConfigError,
        'maxDelay: expected at least baseDelay (10000 ms)',
      );
      expect(() => Retry({ maxDelay: '20s' })).not.to.throw();
    } finally {
      defaultRegistry.configure({ retry: { defaults: undefined } });
    }
  });

  it('rejects the first call of a method whose inline options do not merge over defaults configured later', async () => {
    const registry = new ResilienceRegistry();
    class Svc {
      @Retry({ maxDelay: '5s' })
      async call() {
        return 'ok';
      }
    }
    const svc = bindRegistry(new Svc(), registry);
    registry.configure({ retry: { defaults: { baseDelay: '10s' } } });
    const call = observe(svc.call());
    await time.clock.tickAsync(0);
    expect(call.error)
      .to.be.instanceOf(ConfigError)
      .with.property('message')
      .that.matches(/^Svc\.call: maxDelay: expected at least baseDelay/);
  });
});
