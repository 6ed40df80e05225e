import { expect } from 'chai';
import {
  ConfigError,
  HedgePolicy,
  RetryBudget,
  RetryPolicy,
  retry,
  type RetryBudgetStore,
  type RetryEvents,
} from '../../../src/index.js';
import { observe, useFakeClock } from '../../support/fake-clock.js';

class Down extends Error {}

function failing(calls: { n: number }) {
  return async () => {
    calls.n++;
    throw new Down(`try ${calls.n}`);
  };
}

describe('retry with a budget', () => {
  const time = useFakeClock(1_000_000);

  it('deposits once per call, on the first try only', async () => {
    const budget = new RetryBudget({ ratio: 1, minPerSecond: 0 });
    const ok = retry(async () => 1, { budget });
    for (let i = 0; i < 5; i++) await ok();
    expect(budget.metrics()).to.deep.equal({ requests: 5, retries: 0, available: 5 });
  });

  it('withdraws one per retry made', async () => {
    const budget = new RetryBudget({ ratio: 1, minPerSecond: 0 });
    for (let i = 0; i < 10; i++) budget.deposit();
    const calls = { n: 0 };
    const result = observe(retry(failing(calls), { maxAttempts: 3, baseDelay: 10, budget })());
    await time.clock.tickAsync(100);
    expect(result.error).to.be.instanceOf(Down);
    expect(calls.n).to.equal(3);
    expect(budget.metrics()).to.include({ requests: 11, retries: 2 });
  });

  it('gives up at once with the last error unchanged when the budget is empty', async () => {
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 0 });
    const calls = { n: 0 };
    const started = Date.now();
    const result = observe(retry(failing(calls), { maxAttempts: 5, budget })());
    await time.clock.tickAsync(0);
    expect(result.error).to.be.instanceOf(Down).with.property('message', 'try 1');
    expect(calls.n).to.equal(1);
    expect(Date.now() - started).to.equal(0);
  });

  it('stops in the middle of the tries when the budget runs out', async () => {
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 0.2, window: '10s' }); // 2 retries
    const calls = { n: 0 };
    const result = observe(retry(failing(calls), { maxAttempts: 10, baseDelay: 10, budget })());
    await time.clock.tickAsync(1_000);
    expect(result.error).to.have.property('message', 'try 3');
    expect(calls.n).to.equal(3);
  });

  it('emits budgetExhausted with the attempt and its error, then giveUp', async () => {
    const policy = new RetryPolicy({
      maxAttempts: 3,
      budget: new RetryBudget({ ratio: 0, minPerSecond: 0 }),
    });
    const seen: unknown[] = [];
    const types = ['retry', 'budgetExhausted', 'giveUp'] as const;
    for (const type of types)
      policy.events.on(type, (event: RetryEvents[typeof type]) => seen.push({ type, ...event }));
    const error = new Down('x');
    const result = observe(
      policy.execute(() => {
        throw error;
      }),
    );
    await time.clock.tickAsync(0);
    expect(result.error).to.equal(error);
    expect(seen).to.deep.equal([
      { type: 'budgetExhausted', attempt: 1, error },
      { type: 'giveUp', attempts: 1, error },
    ]);
  });

  it('returns the last refused value when retryOnResult wants a retry the budget cannot pay', async () => {
    const policy = new RetryPolicy({
      maxAttempts: 3,
      retryOnResult: (value) => value === 'busy',
      budget: new RetryBudget({ ratio: 0, minPerSecond: 0 }),
    });
    const exhausted: unknown[] = [];
    policy.events.on('budgetExhausted', (event) => exhausted.push(event));
    expect(await policy.execute(async () => 'busy')).to.equal('busy');
    expect(exhausted).to.deep.equal([{ attempt: 1, error: undefined }]);
  });

  it('spends nothing on an error that is not retryable', async () => {
    const budget = new RetryBudget({ ratio: 1, minPerSecond: 0 });
    const result = observe(
      retry(
        async () => {
          throw new Down('no');
        },
        { exceptions: [RangeError], budget },
      )(),
    );
    await time.clock.tickAsync(0);
    expect(result.error).to.be.instanceOf(Down);
    expect(budget.metrics()).to.deep.equal({ requests: 1, retries: 0, available: 1 });
  });

  it('shares one budget between every policy that names it', async () => {
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 0.1, window: '10s' }); // 1 retry in all
    const a = { n: 0 };
    const b = { n: 0 };
    const first = observe(retry(failing(a), { maxAttempts: 3, baseDelay: 10, budget })());
    const second = observe(retry(failing(b), { maxAttempts: 3, baseDelay: 10, budget })());
    await time.clock.tickAsync(1_000);
    expect(first.error).to.be.instanceOf(Down);
    expect(second.error).to.be.instanceOf(Down);
    expect(a.n + b.n).to.equal(3);
  });

  it('waits for a store that answers with a promise, and retries when it grants', async () => {
    let answer: (granted: boolean) => void = () => {};
    const store: RetryBudgetStore = {
      deposit() {},
      withdraw: () => new Promise<boolean>((resolve) => (answer = resolve)),
      metrics: () => ({ requests: 0, retries: 0, available: 0 }),
    };
    const calls = { n: 0 };
    const result = observe(
      retry(failing(calls), {
        maxAttempts: 2,
        baseDelay: 10,
        budget: new RetryBudget({ store }),
      })(),
    );
    await time.clock.tickAsync(1_000);
    expect(calls.n).to.equal(1);
    answer(true);
    await time.clock.tickAsync(10);
    expect(calls.n).to.equal(2);
    expect(result.error).to.have.property('message', 'try 2');
  });

  it('gives up with the last error when a store cannot answer (it rejects or throws)', async () => {
    for (const withdraw of [
      () => Promise.reject(new Error('store down')),
      () => {
        throw new Error('store broken');
      },
    ]) {
      const store = {
        deposit() {},
        withdraw,
        metrics: () => ({ requests: 0, retries: 0, available: 0 }),
      } as RetryBudgetStore;
      const calls = { n: 0 };
      const result = observe(
        retry(failing(calls), { maxAttempts: 3, budget: new RetryBudget({ store }) })(),
      );
      await time.clock.tickAsync(0);
      expect(result.error).to.have.property('message', 'try 1');
    }
  });

  it('runs the call, with its retries, when a store cannot record the first try (its deposit throws)', async () => {
    const store: RetryBudgetStore = {
      deposit() {
        throw new Error('store broken');
      },
      withdraw: () => true,
      metrics: () => ({ requests: 0, retries: 0, available: 0 }),
    };
    const budget = new RetryBudget({ store });
    const calls = { n: 0 };
    let result: ReturnType<typeof observe> | undefined;
    expect(() => {
      result = observe(retry(failing(calls), { maxAttempts: 2, baseDelay: 10, budget })());
    }).to.not.throw();
    await time.clock.tickAsync(10);
    expect(calls.n).to.equal(2);
    expect(result!.error).to.have.property('message', 'try 2');
    const hedged = observe(new HedgePolicy({ delay: 10, budget }).execute(() => 'hedged'));
    await time.clock.tickAsync(0);
    expect(hedged.value).to.equal('hedged');
  });

  it('stops at once, spending nothing more, when the caller aborts while the store answers', async () => {
    const store: RetryBudgetStore = {
      deposit() {},
      withdraw: () => new Promise<boolean>(() => {}),
      metrics: () => ({ requests: 0, retries: 0, available: 0 }),
    };
    const controller = new AbortController();
    const calls = { n: 0 };
    const policy = new RetryPolicy({ budget: new RetryBudget({ store }) });
    const result = observe(policy.execute(failing(calls), { signal: controller.signal }));
    await time.clock.tickAsync(0);
    const reason = new Error('caller left');
    controller.abort(reason);
    await time.clock.tickAsync(0);
    expect(result.error).to.equal(reason);
    expect(calls.n).to.equal(1);
  });

  it('refuses a budget name outside a registry, saying a name needs one', () => {
    expect(() => retry(async () => 1, { budget: 'upstream' }))
      .to.throw(ConfigError)
      .with.property('message')
      .that.matches(
        /^budget: expected a RetryBudget \(a budget name resolves only through a registry/,
      );
  });
});
