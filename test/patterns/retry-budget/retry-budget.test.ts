import { expect } from 'chai';
import {
  ConfigError,
  MemoryRetryBudgetStore,
  RetryBudget,
  type RetryBudgetStore,
} from '../../../src/index.js';
import { useFakeClock } from '../../support/fake-clock.js';

/** Withdraws until the budget refuses; returns how many retries it granted. */
function drain(budget: RetryBudget): number {
  let granted = 0;
  while (budget.withdraw() === true) granted++;
  return granted;
}

function deposit(budget: RetryBudget, n: number): void {
  for (let i = 0; i < n; i++) budget.deposit();
}

describe('RetryBudget', () => {
  const time = useFakeClock(1_000_000);

  it("is a resource of kind 'retryBudget' that retry policies share, not a policy", () => {
    expect(new RetryBudget().kind).to.equal('retryBudget');
  });

  it('defaults to a ratio of 0.2, 10 retries per second and a 10 s window', () => {
    expect(new RetryBudget().options).to.deep.equal({
      ratio: 0.2,
      minPerSecond: 10,
      windowMs: 10_000,
    });
  });

  it('lets a quiet service retry minPerSecond × window seconds times with no traffic at all', () => {
    const budget = new RetryBudget({ minPerSecond: 2, window: '5s' });
    expect(drain(budget)).to.equal(10);
  });

  it('grants ratio × first tries on top of the minimum', () => {
    const budget = new RetryBudget({ ratio: 0.5, minPerSecond: 0 });
    deposit(budget, 40);
    expect(drain(budget)).to.equal(20);
  });

  for (const [ratio, firstTries] of [
    [0.29, 100],
    [0.57, 100],
    [0.1, 30],
    [0.7, 10],
  ]) {
    it(`grants all ${ratio} × ${firstTries} retries, however binary fractions round the product`, () => {
      const budget = new RetryBudget({ ratio, minPerSecond: 0, window: '1h' });
      deposit(budget, firstTries);
      expect(drain(budget)).to.equal(Math.round(ratio * firstTries));
      expect(budget.metrics().available).to.equal(0);
    });
  }

  it('grants no retry with a ratio and a minimum of 0', () => {
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 0 });
    deposit(budget, 1000);
    expect(budget.withdraw()).to.equal(false);
  });

  it('reports first tries, retries and the retries still available over the window', () => {
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 1, window: '10s' });
    deposit(budget, 100);
    for (let i = 0; i < 5; i++) budget.withdraw();
    expect(budget.metrics()).to.deep.equal({ requests: 100, retries: 5, available: 25 });
  });

  it('reports 0 available, never a negative number, once the budget is spent', () => {
    const budget = new RetryBudget({ ratio: 0.1, minPerSecond: 0 });
    deposit(budget, 15);
    drain(budget);
    expect(budget.metrics()).to.deep.equal({ requests: 15, retries: 1, available: 0 });
  });

  it('forgets first tries and retries once they leave the window', async () => {
    const budget = new RetryBudget({ ratio: 1, minPerSecond: 0, window: '10s' });
    deposit(budget, 10);
    expect(drain(budget)).to.equal(10);
    await time.clock.tickAsync(10_000);
    expect(budget.metrics()).to.deep.equal({ requests: 0, retries: 0, available: 0 });
    deposit(budget, 3);
    expect(drain(budget)).to.equal(3);
  });

  it('slides the window a tenth at a time: counts from 9 s ago stay, counts from 11 s ago are gone', async () => {
    const budget = new RetryBudget({ ratio: 1, minPerSecond: 0, window: '10s' });
    deposit(budget, 4);
    budget.metrics(); // a read credits the deposits made since the last one to the current bucket
    await time.clock.tickAsync(5_000);
    deposit(budget, 6);
    budget.metrics();
    await time.clock.tickAsync(4_000);
    expect(budget.metrics().requests).to.equal(10);
    await time.clock.tickAsync(2_000);
    expect(budget.metrics().requests).to.equal(6);
    await time.clock.tickAsync(5_000);
    expect(budget.metrics().requests).to.equal(0);
  });

  it('spends retries back as they leave the window, so a steady stream keeps ratio × first tries', async () => {
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 0, window: '1s' });
    let granted = 0;
    let asked = 0;
    // 100 first tries a second, each followed by a retry request: 20 % are granted in every window.
    for (let ms = 0; ms < 5_000; ms += 10) {
      budget.deposit();
      asked++;
      if (budget.withdraw() === true) granted++;
      await time.clock.tickAsync(10);
    }
    expect(granted / asked).to.be.within(0.19, 0.21);
  });

  it('counts deposits without reading the clock, crediting them at the next withdrawal', async () => {
    const budget = new RetryBudget({ ratio: 1, minPerSecond: 0, window: '1s' });
    const realNow = Date.now;
    let reads = 0;
    Date.now = () => (reads++, realNow());
    try {
      deposit(budget, 10);
    } finally {
      Date.now = realNow;
    }
    expect(reads).to.equal(0);
    expect(budget.metrics().requests).to.equal(10);
  });

  it('credits deposits to their own bucket at least every 64 of them', async () => {
    const budget = new RetryBudget({ ratio: 1, minPerSecond: 0, window: '1s' });
    deposit(budget, 64); // credited now, in this bucket
    await time.clock.tickAsync(1_000);
    expect(budget.metrics().requests).to.equal(0);
  });

  it('keeps its counts when the clock goes back', async () => {
    const budget = new RetryBudget({ ratio: 1, minPerSecond: 0, window: '1s' });
    deposit(budget, 5);
    budget.withdraw();
    time.clock.setSystemTime(Date.now() - 60_000);
    expect(budget.metrics()).to.deep.equal({ requests: 5, retries: 1, available: 4 });
  });

  it('allocates nothing per call: its buckets are two fixed arrays', () => {
    const store = new MemoryRetryBudgetStore({
      ratio: 0.2,
      minPerSecond: 10,
      windowMs: 10_000,
      buckets: 10,
    });
    const fields = Object.values(store).filter((v) => typeof v === 'object' && v !== null);
    expect(fields.filter((v) => v instanceof Float64Array)).to.have.length(2);
  });

  it('takes its counts from a store of your own, handing it the budget spec', () => {
    const calls: unknown[] = [];
    const store: RetryBudgetStore = {
      deposit: () => calls.push('deposit'),
      withdraw: (spec) => (calls.push(spec), true),
      metrics: () => ({ requests: 1, retries: 2, available: 3 }),
    };
    const budget = new RetryBudget({ ratio: 0.5, window: '2s', store });
    budget.deposit();
    expect(budget.withdraw()).to.equal(true);
    expect(budget.metrics()).to.deep.equal({ requests: 1, retries: 2, available: 3 });
    expect(calls).to.deep.equal([
      'deposit',
      { ratio: 0.5, minPerSecond: 10, windowMs: 2000, buckets: 10 },
    ]);
  });

  it('refuses bad options with one ConfigError naming each of them', () => {
    expect(() => new RetryBudget({ ratio: -1, minPerSecond: NaN, window: 0 }))
      .to.throw(ConfigError)
      .with.property('problems')
      .that.deep.equals([
        'window: expected a duration greater than 0, got 0',
        'ratio: expected a finite number >= 0, got -1',
        'minPerSecond: expected a finite number >= 0, got NaN',
      ]);
  });
});
