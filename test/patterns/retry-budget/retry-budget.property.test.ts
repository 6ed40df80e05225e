import { expect } from 'chai';
import fc from 'fast-check';
import { RetryBudget } from '../../../src/index.js';
import { useFakeClock } from '../../support/fake-clock.js';

type Op =
  | { readonly kind: 'deposit'; readonly n: number }
  | { readonly kind: 'withdraw' }
  | { readonly kind: 'metrics' }
  | { readonly kind: 'wait'; readonly ms: number };

const ops: fc.Arbitrary<Op[]> = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant('deposit' as const), n: fc.integer({ min: 1, max: 150 }) }),
    fc.record({ kind: fc.constant('withdraw' as const) }),
    fc.record({ kind: fc.constant('metrics' as const) }),
    fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 4_000 }) }),
  ),
  { maxLength: 120 },
);

/**
 * A plain model of a budget: a log of counts, each in the bucket (time / (window / 10)) in which the budget
 * counted it. Deposits count when the budget credits them: at the next withdrawal or read, or at the 64th.
 */
class BudgetModel {
  private readonly log: { bucket: number; deposits: number; retries: number }[] = [];
  private pending = 0;

  constructor(
    private readonly ratio: number,
    private readonly minPerSecond: number,
    private readonly windowMs: number,
  ) {}

  deposit(now: number): void {
    if (++this.pending === 64) this.credit(now);
  }

  withdraw(now: number): boolean {
    this.credit(now);
    if (this.available(now) < 1) return false;
    this.log.push({ bucket: this.bucket(now), deposits: 0, retries: 1 });
    return true;
  }

  metrics(now: number) {
    this.credit(now);
    return {
      requests: this.sum(now, 'deposits'),
      retries: this.sum(now, 'retries'),
      available: Math.max(0, Math.floor(this.available(now))),
    };
  }

  /** What the budget promises: retries in the window ≤ ratio × first tries in it + the reserve. */
  withinPromise(now: number): boolean {
    return this.sum(now, 'retries') <= this.allowance(now);
  }

  /** Ratio × first tries + the reserve, to 9 decimal places (as the README says): 0.29 × 100 allows 29. */
  private allowance(now: number): number {
    return Math.round((this.ratio * this.sum(now, 'deposits') + this.reserve()) * 1e9) / 1e9;
  }

  private credit(now: number): void {
    if (this.pending === 0) return;
    this.log.push({ bucket: this.bucket(now), deposits: this.pending, retries: 0 });
    this.pending = 0;
  }

  private available(now: number): number {
    return this.allowance(now) - this.sum(now, 'retries');
  }

  private reserve(): number {
    return (this.minPerSecond * this.windowMs) / 1000;
  }

  private sum(now: number, field: 'deposits' | 'retries'): number {
    const current = this.bucket(now);
    return this.log
      .filter((entry) => entry.bucket > current - 10)
      .reduce((total, entry) => total + entry[field], 0);
  }

  private bucket(now: number): number {
    return Math.floor(now / (this.windowMs / 10));
  }
}

describe('RetryBudget properties', () => {
  const time = useFakeClock(1_700_000_000_000);

  it('decides and reports exactly as a plain log of counts over random call streams, and keeps its promise', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 100, max: 20_000 }),
        ops,
        async (ratio, minPerSecond, windowMs, stream) => {
          const budget = new RetryBudget({ ratio, minPerSecond, window: windowMs });
          const model = new BudgetModel(ratio, minPerSecond, windowMs);
          for (const op of stream) {
            const now = Date.now();
            if (op.kind === 'wait') await time.clock.tickAsync(op.ms);
            else if (op.kind === 'deposit')
              for (let i = 0; i < op.n; i++) {
                budget.deposit();
                model.deposit(now);
              }
            else if (op.kind === 'withdraw')
              expect(budget.withdraw()).to.equal(model.withdraw(now));
            else expect(budget.metrics()).to.deep.equal(model.metrics(now));
            expect(model.withinPromise(Date.now())).to.equal(true);
          }
          expect(budget.metrics()).to.deep.equal(model.metrics(Date.now()));
        },
      ),
      { numRuns: 300 },
    );
  });
});
