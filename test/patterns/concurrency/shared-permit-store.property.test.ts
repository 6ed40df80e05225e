// ConcurrencyLimiter over a permit store shared with other processes, against its promise: whatever the timing
// of the store's answers and of the permits other processes hold and free, (1) the fleet never holds more than
// `limit` permits, (2) this process starts its calls in arrival order, and (3) no call is left waiting once
// every permit is free: a permit freed anywhere reaches a waiter, even one freed while the store was still
// answering "none free" for it. A caller that aborts while waiting leaves at once and takes no permit.
//
// The store decides when it is asked and its answer arrives `answerMs` later, as a Redis script's reply does; a
// permit freed elsewhere is heard `heardMs` after it was freed, as a pub/sub message is.
import { expect } from 'chai';
import fc from 'fast-check';
import { ConcurrencyLimiter, type PermitStore } from '../../../src/index.js';
import { observe, useFakeClock } from '../../support/fake-clock.js';

interface Scenario {
  readonly limit: number;
  readonly answerMs: number;
  readonly heardMs: number;
  /** Permits other processes hold from the start, each freed at `freeAt`. */
  readonly others: readonly { readonly freeAt: number }[];
  /** This process's calls. */
  readonly calls: readonly {
    readonly arrival: number;
    readonly duration: number;
    readonly abortAt: number | undefined;
  }[];
}

/** The fleet's permits: taken here through `take`, held and freed elsewhere through `holdElsewhere`. */
class FleetStore implements PermitStore<number> {
  active = 0;
  held = 0;
  most = 0;
  private wake: () => void = () => undefined;

  constructor(
    private readonly limit: number,
    private readonly answerMs: number,
    private readonly heardMs: number,
  ) {}

  take(): Promise<number | undefined> {
    const granted = this.held < this.limit;
    if (granted) this.hold();
    return new Promise((resolve) =>
      setTimeout(() => {
        if (granted) this.active++;
        resolve(granted ? 1 : undefined);
      }, this.answerMs),
    );
  }

  give(): void {
    this.active--;
    this.held--;
  }

  watch(wake: () => void): void {
    this.wake = wake;
  }

  /** Another process holds a permit until `freeAt`, then frees it; this process hears so `heardMs` later. */
  holdElsewhere(freeAt: number): void {
    this.hold();
    setTimeout(() => {
      this.held--;
      setTimeout(() => this.wake(), this.heardMs);
    }, freeAt);
  }

  private hold(): void {
    this.held++;
    this.most = Math.max(this.most, this.held);
  }
}

const scenarios: fc.Arbitrary<Scenario> = fc.record({
  limit: fc.integer({ min: 1, max: 3 }),
  answerMs: fc.integer({ min: 0, max: 20 }),
  heardMs: fc.integer({ min: 0, max: 20 }),
  others: fc.array(fc.record({ freeAt: fc.integer({ min: 1, max: 200 }) }), { maxLength: 3 }),
  calls: fc.array(
    fc.record({
      arrival: fc.integer({ min: 0, max: 200 }),
      duration: fc.integer({ min: 0, max: 50 }),
      abortAt: fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }),
    }),
    { minLength: 1, maxLength: 8 },
  ),
});

describe('ConcurrencyLimiter over a shared permit store, against its promise', () => {
  const time = useFakeClock();

  it('never exceeds the fleet limit, starts in arrival order and leaves no call waiting', async () => {
    await fc.assert(
      fc.asyncProperty(scenarios, async ({ limit, answerMs, heardMs, others, calls }) => {
        const store = new FleetStore(limit, answerMs, heardMs);
        // Other processes take their permits first (they may hold every one of them).
        for (const { freeAt } of others.slice(0, limit)) store.holdElsewhere(freeAt);
        const limiter = new ConcurrencyLimiter({ limit, store });
        const started: number[] = [];
        const order = calls
          .map((call, id) => ({ ...call, id }))
          .sort((a, b) => a.arrival - b.arrival || a.id - b.id);
        const outcomes = order.map((call) => {
          const controller = new AbortController();
          if (call.abortAt !== undefined)
            setTimeout(() => controller.abort(new Error('gone')), call.abortAt);
          return new Promise<ReturnType<typeof observe>>((resolve) =>
            setTimeout(() => {
              const run = limiter.run(
                () => {
                  started.push(call.id);
                  return new Promise((done) => setTimeout(done, call.duration));
                },
                { signal: controller.signal },
              );
              resolve(observe(run));
            }, call.arrival),
          );
        });
        // Long enough for every hold, answer and call to end many times over.
        await time.clock.tickAsync(10_000);
        const settled = await Promise.all(outcomes);
        expect(store.most).to.be.at.most(limit);
        expect(settled.every((outcome) => outcome.settled)).to.equal(true);
        // Whoever started did so in arrival order; whoever did not start had aborted.
        const ranks = started.map((id) => order.findIndex((call) => call.id === id));
        expect(ranks).to.deep.equal([...ranks].sort((a, b) => a - b));
        for (const [rank, call] of order.entries()) {
          if (!started.includes(call.id))
            expect(call.abortAt, `call ${rank}`).to.not.equal(undefined);
        }
        expect(store.held).to.equal(0);
        expect(limiter.pending).to.equal(0);
      }),
      { numRuns: 200 },
    );
  });
});
