import { expect } from 'chai';
import {
  ConfigError,
  ResilienceRegistry,
  RetryBudget,
  type RegistryEvents,
} from '../../src/index.js';
import { observe, useFakeClock } from '../support/fake-clock.js';
import { configProblems } from '../support/rejection.js';

describe('ResilienceRegistry: retry budgets', () => {
  const time = useFakeClock();

  it('resolves a budget name to one shared instance, made from the entry over the defaults', () => {
    const registry = new ResilienceRegistry({
      retryBudget: { defaults: { window: '5s' }, upstream: { ratio: 0.1 } },
    });
    const budget = registry.retryBudget('upstream');
    expect(budget).to.be.instanceOf(RetryBudget).and.equal(registry.retryBudget('upstream'));
    expect(budget.options).to.deep.equal({ ratio: 0.1, minPerSecond: 10, windowMs: 5_000 });
  });

  it('hands every retry entry that names a budget the same shared instance', () => {
    const registry = new ResilienceRegistry({
      retryBudget: { upstream: { ratio: 0.1 } },
      retry: { defaults: { budget: 'upstream' }, payments: {}, search: { maxAttempts: 5 } },
    });
    const shared = registry.retryBudget('upstream');
    expect(registry.retry('payments').options.budget).to.equal(shared);
    expect(registry.retry('search').options.budget).to.equal(shared);
  });

  it('uses a RetryBudget given as the entry as it is', () => {
    const budget = new RetryBudget({ ratio: 0.3 });
    const registry = new ResilienceRegistry({
      retryBudget: { upstream: budget },
      retry: { payments: { budget: 'upstream' } },
    });
    expect(registry.retryBudget('upstream')).to.equal(budget);
    expect(registry.retry('payments').options.budget).to.equal(budget);
  });

  it('accepts a budget configured by an earlier configure() call', () => {
    const registry = new ResilienceRegistry({ retryBudget: { upstream: {} } });
    registry.configure({ retry: { payments: { budget: 'upstream' } } });
    expect(registry.retry('payments').options.budget).to.equal(registry.retryBudget('upstream'));
  });

  it('keeps a budget and its counts across a configure() that leaves its entry alone', () => {
    const registry = new ResilienceRegistry({
      retryBudget: { upstream: { ratio: 0.5 } },
      retry: { payments: { budget: 'upstream' } },
    });
    const before = registry.retryBudget('upstream');
    before.deposit();
    registry.configure({ timeout: { slow: '1s' } });
    expect(registry.retryBudget('upstream')).to.equal(before);
    expect(registry.retry('payments').options.budget).to.equal(before);
    expect(before.metrics().requests).to.equal(1);
  });

  it('keeps a budget made over the defaults, and its counts, across a configure() that leaves both alone', () => {
    const registry = new ResilienceRegistry({
      retryBudget: { defaults: { window: '5s' }, upstream: { ratio: 0.5 } },
    });
    const before = registry.retryBudget('upstream');
    before.deposit();
    registry.configure({ timeout: { slow: '1s' } });
    expect(registry.retryBudget('upstream')).to.equal(before);
    expect(before.metrics().requests).to.equal(1);
  });

  it('makes a new budget, and hands it to the retry policies, when its entry changes', () => {
    const registry = new ResilienceRegistry({
      retryBudget: { upstream: { ratio: 0.5 } },
      retry: { payments: { budget: 'upstream' } },
    });
    const before = registry.retryBudget('upstream');
    registry.retry('payments');
    registry.configure({ retryBudget: { upstream: { ratio: 0.1 } } });
    const after = registry.retryBudget('upstream');
    expect(after).to.not.equal(before);
    expect(after.options.ratio).to.equal(0.1);
    expect(registry.retry('payments').options.budget).to.equal(after);
  });

  it('fails configure() naming the retry entry whose budget is not configured, with the known ones', () => {
    expect(
      configProblems(
        () =>
          new ResilienceRegistry({
            retryBudget: { upstream: {}, search: {} },
            retry: { payments: { budget: 'upstreem' } },
          }),
      ),
    ).to.deep.equal([
      'retry.payments.budget: retryBudget "upstreem" is not configured; known: upstream, search',
    ]);
  });

  it('lists a bad budget entry by path with every other problem', () => {
    expect(
      configProblems(
        () =>
          new ResilienceRegistry({
            retryBudget: { upstream: { ratio: -1, window: 'soon' as never } },
            retry: { payments: { maxAttempts: 0 } },
          }),
      ),
    ).to.deep.equal([
      "retryBudget.upstream.window: expected a duration (milliseconds, or a string like '250ms', '1s', '2m', '1h'), got \"soon\"",
      'retryBudget.upstream.ratio: expected a finite number >= 0, got -1',
      'retry.payments.maxAttempts: expected an integer from 1 to 9007199254740991, got 0',
    ]);
  });

  it('refuses a policy engine given as a budget entry, and a budget given as a policy entry', () => {
    const problems = configProblems(
      () =>
        new ResilienceRegistry({
          retryBudget: { upstream: new ResilienceRegistry() as never },
          retry: { payments: new RetryBudget() as never },
        }),
    );
    expect(problems[0]).to.match(/^retryBudget\.upstream\.options: expected an options object/);
    expect(problems[1]).to.match(
      /^retry\.payments: expected options or a RetryPolicy, got a RetryBudget/,
    );
  });

  it('answers an unknown budget name with the known ones', () => {
    const registry = new ResilienceRegistry({ retryBudget: { upstream: {} } });
    expect(() => registry.retryBudget('nope')).to.throw(
      ConfigError,
      'retryBudget "nope" is not configured; known: upstream',
    );
    expect(registry.names('retryBudget')).to.deep.equal(['upstream']);
    expect(registry.has('retryBudget', 'upstream')).to.equal(true);
  });

  it('re-emits budgetExhausted with the retry policy name', async () => {
    const registry = new ResilienceRegistry({
      retryBudget: { none: { ratio: 0, minPerSecond: 0 } },
      retry: { payments: { budget: 'none' } },
    });
    const seen: RegistryEvents['budgetExhausted'][] = [];
    registry.on('budgetExhausted', (event) => seen.push(event));
    const error = new Error('down');
    const result = observe(
      registry.retry('payments').execute(() => {
        throw error;
      }),
    );
    await time.clock.tickAsync(0);
    expect(result.error).to.equal(error);
    expect(seen).to.deep.equal([{ kind: 'retry', name: 'payments', attempt: 1, error }]);
  });
});
