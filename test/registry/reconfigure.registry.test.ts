import { expect } from 'chai';
import { CircuitState, ConfigError, ResilienceRegistry, RetryPolicy } from '../../src/index.js';
import { observe, sleep, useFakeClock } from '../support/fake-clock.js';
import { configProblems } from '../support/rejection.js';

describe('ResilienceRegistry: configure() after engines exist', () => {
  const time = useFakeClock();

  it('keeps every engine whose options did not change, with its state, when other names are configured', async () => {
    const registry = new ResilienceRegistry({
      rateLimiter: { github: { rate: 2, per: '1h' } },
      concurrency: { db: { limit: 1 } },
    });
    const github = registry.rateLimiter('github');
    const db = registry.concurrency('db');
    await github.acquire();
    await github.acquire();
    const held = observe(db.run(() => sleep(50)));
    registry.configure({ retry: { unrelated: { maxAttempts: 2 } } });
    expect(registry.rateLimiter('github')).to.equal(github);
    expect(github.available).to.equal(0);
    expect(registry.concurrency('db')).to.equal(db);
    expect(db.active).to.equal(1);
    await time.clock.tickAsync(50);
    expect(held.settled).to.equal(true);
  });

  it('keeps a breaker whose options did not change: its backed-off open time and its trial in flight', async () => {
    const registry = new ResilienceRegistry({
      circuitBreaker: {
        pay: { failureThreshold: 1, timeout: 50, maxTimeout: 10_000, successThreshold: 1 },
      },
    });
    const breaker = registry.circuitBreaker('pay');
    await breaker.protect(() => Promise.reject(new Error('down'))).catch(() => undefined);
    await time.clock.tickAsync(60);
    await breaker.protect(() => Promise.reject(new Error('trial fails'))).catch(() => undefined);
    const openMs = breaker.toJSON().openMs;
    expect(openMs).to.be.greaterThan(50); // the failed trial backed off

    registry.configure({ retry: { unrelated: {} } });
    expect(registry.circuitBreaker('pay')).to.equal(breaker);
    expect(breaker.toJSON().openMs).to.equal(openMs);

    await time.clock.tickAsync(openMs!);
    const trial = observe(breaker.protect(() => sleep(50)));
    registry.configure({ retry: { unrelated2: {} } });
    const second = observe(registry.circuitBreaker('pay').protect(() => 'second'));
    await time.clock.tickAsync(0);
    expect(second.error).to.have.property('code', 'ERR_CIRCUIT_OPEN'); // one trial at a time
    await time.clock.tickAsync(50);
    expect(trial.settled).to.equal(true);
    expect(breaker.state).to.equal(CircuitState.CLOSED);
  });

  it('keeps an engine whose name is given the same options again', async () => {
    const registry = new ResilienceRegistry({
      rateLimiter: { github: { rate: 1, per: '1h' } },
      circuitBreaker: {
        pay: { failureRateThreshold: 50, slidingWindow: { calls: 4 }, minimumCalls: 4 },
      },
    });
    const github = registry.rateLimiter('github');
    const pay = registry.circuitBreaker('pay');
    await github.acquire();
    registry.configure({
      rateLimiter: { github: { rate: 1, per: '1h' } },
      circuitBreaker: {
        pay: { failureRateThreshold: 50, slidingWindow: { calls: 4 }, minimumCalls: 4 },
      },
    });
    expect(registry.rateLimiter('github')).to.equal(github);
    expect(registry.circuitBreaker('pay')).to.equal(pay);
  });

  it('replaces an engine when its entry or its kind’s defaults change, and the breaker keeps its state', async () => {
    const registry = new ResilienceRegistry({
      rateLimiter: { github: { rate: 1, per: '1h' }, other: { rate: 5 } },
      circuitBreaker: { pay: { failureThreshold: 1, timeout: '1m' } },
    });
    const github = registry.rateLimiter('github');
    const other = registry.rateLimiter('other');
    const pay = registry.circuitBreaker('pay');
    await pay.protect(() => Promise.reject(new Error('down'))).catch(() => undefined);

    registry.configure({ rateLimiter: { github: { rate: 2, per: '1h' } } });
    expect(registry.rateLimiter('github')).not.to.equal(github);
    expect(registry.rateLimiter('github').available).to.equal(2);
    expect(registry.rateLimiter('other')).to.equal(other);

    registry.configure({ rateLimiter: { defaults: { rate: 1, capacity: 10 } } });
    expect(registry.rateLimiter('other')).not.to.equal(other);

    registry.configure({ circuitBreaker: { defaults: { successThreshold: 1 } } });
    expect(registry.circuitBreaker('pay')).not.to.equal(pay);
    expect(registry.circuitBreaker('pay').state).to.equal(CircuitState.OPEN);
  });

  it('changes nothing when configure() fails', () => {
    const registry = new ResilienceRegistry({ retry: { x: { maxDelay: '5s' } } });
    const x = registry.retry('x');
    const version = registry.version;
    expect(() =>
      registry.configure({
        retry: { defaults: { baseDelay: '10s' } },
        rateLimiter: { fresh: { rate: 1 } },
      }),
    ).to.throw(ConfigError, 'retry.x.maxDelay: expected at least baseDelay (10000 ms)');
    expect(registry.version).to.equal(version);
    expect(registry.retry('x')).to.equal(x);
    expect(registry.names('rateLimiter')).to.deep.equal([]);
    registry.configure({ rateLimiter: { fresh: { rate: 1 } } });
    expect(registry.retry('x')).to.equal(x);
  });

  it('checks the names configured earlier against new defaults, whether used yet or not', () => {
    const registry = new ResilienceRegistry({ retry: { x: { maxDelay: '5s' } } });
    expect(configProblems(() => registry.configure({ retry: { defaults: { baseDelay: '10s' } } })))
      .to.have.length(1)
      .and.to.match(/^retry\.x\.maxDelay: expected at least baseDelay \(10000 ms\)/);
    expect(registry.retry('x').options.maxDelay).to.equal(5000);
  });

  it('checks each entry against the defaults configured earlier, as one call would', () => {
    const registry = new ResilienceRegistry({ retry: { defaults: { baseDelay: '10s' } } });
    expect(
      configProblems(() => registry.configure({ retry: { x: { maxDelay: '5s' } } })),
    ).to.have.length(1);
    expect(registry.names('retry')).to.deep.equal([]);

    const entry = { slidingWindow: { calls: 20 }, minimumCalls: 5 };
    const breakers = new ResilienceRegistry({
      circuitBreaker: { defaults: { failureRateThreshold: 50 } },
    });
    breakers.configure({ circuitBreaker: { b: entry } });
    expect(breakers.circuitBreaker('b').options.rate).to.include({ minimumCalls: 5 });
  });

  it('keeps an engine given the same list option again, and replaces it when the list or the options change', () => {
    class Busy extends Error {}
    class Gone extends Error {}
    const registry = new ResilienceRegistry({
      retry: { a: { maxAttempts: 3, baseDelay: 100, exceptions: [Busy] } },
    });
    let engine = registry.retry('a');
    const next = (entry: object) => {
      registry.configure({ retry: { a: entry } });
      const replaced = registry.retry('a') !== engine;
      engine = registry.retry('a');
      return replaced;
    };
    expect(next({ maxAttempts: 3, baseDelay: 100, exceptions: [Busy] }), 'same').to.equal(false);
    expect(next({ maxAttempts: 3, baseDelay: 100, exceptions: [Busy, Gone] }), 'longer').to.equal(
      true,
    );
    expect(
      next({ maxAttempts: 3, baseDelay: 100, exceptions: [Gone, Busy] }),
      'reordered',
    ).to.equal(true);
    expect(next({ maxAttempts: 3, baseDelay: 100, exceptions: [Gone] }), 'shorter').to.equal(true);
    expect(next({ maxAttempts: 3, exceptions: [Gone] }), 'an option less').to.equal(true);
    expect(engine.options.baseDelay).to.equal(new RetryPolicy().options.baseDelay);
  });

  it('checks new defaults against every earlier entry once, even when an entry of the same call fails', () => {
    const registry = new ResilienceRegistry({
      retry: { given: new RetryPolicy({ maxAttempts: 2 }), a: { maxDelay: '1s' }, c: {} },
    });
    expect(
      configProblems(() =>
        registry.configure({
          retry: { defaults: { baseDelay: '10s' }, c: { maxDelay: '2s' }, b: { maxDelay: '1s' } },
        }),
      ),
    ).to.have.members([
      'retry.c.maxDelay: expected at least baseDelay (10000 ms), got "2s"',
      'retry.b.maxDelay: expected at least baseDelay (10000 ms), got "1s"',
      'retry.a.maxDelay: expected at least baseDelay (10000 ms), got "1s"',
    ]);
  });
});
