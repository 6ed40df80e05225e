import { expect } from 'chai';
import fc from 'fast-check';
import { ConcurrencyLimiter, gatherWithLimit, mapWithLimit } from '../../../src/index.js';
import { observe, useFakeClock } from '../../support/fake-clock.js';

/** A task of random duration that may fail. */
const spec = fc.record({ ms: fc.nat({ max: 50 }), fail: fc.boolean() });
const specs = fc.array(spec, { minLength: 0, maxLength: 25 });
const limits = fc.integer({ min: 1, max: 6 });

/** Records starts and settlements with a sequence number, so "after" means after in program order. */
class Journal {
  private sequence = 0;
  running = 0;
  peak = 0;
  readonly starts: { id: number; at: number }[] = [];
  readonly settles: { id: number; at: number; failed: boolean }[] = [];
  readonly errors = new Map<number, Error>();
  signal: AbortSignal | undefined;

  tick(): number {
    return ++this.sequence;
  }

  async run(id: number, ms: number, fail: boolean): Promise<number> {
    this.running++;
    this.peak = Math.max(this.peak, this.running);
    this.starts.push({ id, at: this.tick() });
    await new Promise((resolve) => setTimeout(resolve, ms));
    this.running--;
    this.settles.push({ id, at: this.tick(), failed: fail });
    if (!fail) return id;
    const error = new Error(`task ${id}`);
    this.errors.set(id, error);
    throw error;
  }

  tasks(
    list: readonly { ms: number; fail: boolean }[],
  ): ((signal: AbortSignal) => Promise<number>)[] {
    return list.map(({ ms, fail }, id) => (signal) => {
      this.signal = signal;
      return this.run(id, ms, fail);
    });
  }
}

type SourceKind = 'array' | 'iterable' | 'async iterable';
const sourceKinds = fc.constantFrom<SourceKind>('array', 'iterable', 'async iterable');

/** Hands `items` out as the given kind of source, recording how far pulls run ahead of settled tasks. */
function asSource<T>(
  items: T[],
  kind: SourceKind,
  journal: Journal,
): { source: Iterable<T> | AsyncIterable<T>; maxAhead: () => number } {
  let pulled = 0;
  let maxAhead = 0;
  const pull = (item: T) => {
    pulled++;
    maxAhead = Math.max(maxAhead, pulled - journal.settles.length);
    return item;
  };
  const source =
    kind === 'array'
      ? items
      : kind === 'iterable'
        ? (function* () {
            for (const item of items) yield pull(item);
          })()
        : (async function* () {
            for (const item of items) yield pull(await Promise.resolve(item));
          })();
  return { source, maxAhead: () => maxAhead };
}

describe('concurrency properties', () => {
  const time = useFakeClock();

  it('gatherWithLimit: bounded concurrency, lazy pulls, input order, fail-fast on the first failure to settle', async () => {
    await fc.assert(
      fc.asyncProperty(specs, limits, sourceKinds, async (list, limit, kind) => {
        const journal = new Journal();
        const { source, maxAhead } = asSource(journal.tasks(list), kind, journal);
        let rejectedAt = Infinity;
        const result = observe(
          gatherWithLimit(source, { limit }).catch((error: unknown) => {
            rejectedAt = journal.tick();
            throw error;
          }),
        );
        await time.clock.tickAsync(10_000);
        expect(result.settled).to.equal(true);
        if (kind === 'array') expect(journal.peak).to.equal(Math.min(limit, list.length));
        else expect(journal.peak).to.be.at.most(limit);
        expect(maxAhead()).to.be.at.most(limit);
        const firstFailure = journal.settles.find((s) => s.failed);
        if (firstFailure === undefined) {
          expect(result.value).to.deep.equal(list.map((_, id) => id));
          return;
        }
        expect(result.error).to.equal(journal.errors.get(firstFailure.id));
        expect(journal.starts.every((s) => s.at < rejectedAt)).to.equal(true);
        expect(journal.signal!.reason).to.equal(result.error);
      }),
      { numRuns: 200 },
    );
  });

  it('gatherWithLimit settle mode: every task runs once and each outcome sits at its index', async () => {
    await fc.assert(
      fc.asyncProperty(specs, limits, async (list, limit) => {
        const journal = new Journal();
        const result = observe(gatherWithLimit(journal.tasks(list), { limit, settle: true }));
        await time.clock.tickAsync(10_000);
        expect(journal.peak).to.equal(Math.min(limit, list.length));
        expect(journal.starts.map((s) => s.id)).to.deep.equal(list.map((_, id) => id));
        expect(result.value).to.deep.equal(
          list.map(({ fail }, id) =>
            fail
              ? { status: 'rejected', reason: journal.errors.get(id) }
              : { status: 'fulfilled', value: id },
          ),
        );
      }),
      { numRuns: 150 },
    );
  });

  it('mapWithLimit: input order, bounded concurrency and at most `limit` results waiting, from any source', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat({ max: 30 }), { maxLength: 25 }),
        limits,
        fc.nat({ max: 20 }),
        sourceKinds,
        async (durations, limit, consumerDelay, kind) => {
          const journal = new Journal();
          const { source } = asSource(
            durations.map((ms, id) => ({ ms, id })),
            kind,
            journal,
          );
          let consumed = 0;
          let maxAhead = 0;
          const collected = observe(
            (async () => {
              const out: number[] = [];
              const stream = mapWithLimit(
                source,
                ({ ms, id }) => {
                  maxAhead = Math.max(maxAhead, journal.starts.length + 1 - consumed);
                  return journal.run(id, ms, false);
                },
                { limit },
              );
              for await (const value of stream) {
                out.push(value);
                consumed++;
                await new Promise((resolve) => setTimeout(resolve, consumerDelay));
              }
              return out;
            })(),
          );
          await time.clock.tickAsync(100_000);
          expect(collected.value).to.deep.equal(durations.map((_, id) => id));
          expect(journal.peak).to.be.at.most(limit);
          // Started but not yet handed out: at most `limit`, plus the one the consumer is handling.
          expect(maxAhead).to.be.at.most(limit + 1);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('ConcurrencyLimiter: bounded concurrency and FIFO starts for calls arriving at random times', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ arrival: fc.nat({ max: 40 }), ms: fc.nat({ max: 30 }) }), {
          maxLength: 25,
        }),
        limits,
        async (calls, limit) => {
          const limiter = new ConcurrencyLimiter(limit);
          const journal = new Journal();
          const arrivals: number[] = [];
          const byArrival = calls
            .map((call, id) => ({ ...call, id }))
            .sort((a, b) => a.arrival - b.arrival || a.id - b.id);
          const results = byArrival.map(({ arrival, ms, id }) =>
            observe(
              new Promise((resolve) => setTimeout(resolve, arrival)).then(() => {
                arrivals.push(id);
                return limiter.run(() => journal.run(id, ms, false));
              }),
            ),
          );
          await time.clock.tickAsync(10_000);
          expect(results.every((r) => r.settled && r.error === undefined)).to.equal(true);
          expect(journal.peak).to.be.at.most(limit);
          expect(journal.starts.map((s) => s.id)).to.deep.equal(arrivals);
          expect(limiter.active + limiter.pending).to.equal(0);
        },
      ),
      { numRuns: 100 },
    );
  });
});
