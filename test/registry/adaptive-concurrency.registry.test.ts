import { expect } from 'chai';
import {
  AdaptiveConcurrencyLimiter,
  ConcurrencyLimiter,
  ResilienceRegistry,
  type RegistryEvents,
} from '../../src/index.js';
import { useFakeClock } from '../support/fake-clock.js';
import { configProblems } from '../support/rejection.js';

describe('ResilienceRegistry: adaptive concurrency', () => {
  const time = useFakeClock();

  it('makes an adaptive limiter of an entry with `adaptive`, and a fixed one of the others', () => {
    const registry = new ResilienceRegistry({
      concurrency: {
        db: { limit: 10 },
        search: { adaptive: { algorithm: 'gradient', maxLimit: 50 } },
      },
    });
    expect(registry.concurrency('db')).to.be.instanceOf(ConcurrencyLimiter);
    expect(registry.concurrency('db')).to.not.be.instanceOf(AdaptiveConcurrencyLimiter);
    const search = registry.concurrency('search') as AdaptiveConcurrencyLimiter;
    expect(search).to.be.instanceOf(AdaptiveConcurrencyLimiter);
    expect(search.adaptiveOptions.maxLimit).to.equal(50);
  });

  it("applies the defaults' queue options to an adaptive entry, but not their fixed limit", () => {
    const registry = new ResilienceRegistry({
      concurrency: {
        defaults: { limit: 10, maxQueue: 100, maxWait: '1s' },
        search: { adaptive: { initialLimit: 30 } },
        reports: { adaptive: { maxQueue: 7 } },
      },
    });
    expect(registry.concurrency('search').limit).to.equal(30);
    expect(registry.concurrency('search').options).to.include({ maxQueue: 100, maxWait: 1000 });
    expect(registry.concurrency('reports').options.maxQueue).to.equal(7);
  });

  it('lists bad adaptive options by path at configure()', () => {
    expect(
      configProblems(
        () =>
          new ResilienceRegistry({
            concurrency: {
              search: { adaptive: { algorithm: 'aimd', smoothing: 0.5, backoffRatio: 2 } },
              db: { adaptive: 'fast' as never },
            },
          }),
      ),
    ).to.deep.equal([
      "concurrency.search.smoothing: expected no smoothing for algorithm 'aimd' (only gradient use it), got 0.5",
      'concurrency.search.backoffRatio: expected a number between 0 and 1, got 2',
      'concurrency.db.adaptive: expected adaptive limiter options, got "fast"',
    ]);
  });

  it('re-emits limitChange with the limiter name', async () => {
    const registry = new ResilienceRegistry({
      concurrency: { search: { adaptive: { algorithm: 'aimd', initialLimit: 10 } } },
    });
    const seen: RegistryEvents['limitChange'][] = [];
    registry.on('limitChange', (event) => seen.push(event));
    const limiter = registry.concurrency('search');
    for (let i = 0; i < 10; i++)
      await limiter.run(() => Promise.reject(new Error('down'))).catch(() => undefined);
    await time.clock.tickAsync(0);
    expect(seen).to.deep.equal([{ kind: 'concurrency', name: 'search', from: 10, to: 9 }]);
  });
});
