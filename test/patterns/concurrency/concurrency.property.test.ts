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

// ---------------------------------------------------------------------------------------------------------
// Sources that pause, consumers that pause, early exits: what the README promises of every run, whatever the
// timing. A step's delay of 0 is a macrotask turn; 'micro' only lets promise reactions run; 'sync' none.

type Pause = 'sync' | 'micro' | number;
const pause = fc.oneof(
  fc.constantFrom<Pause>('sync', 'micro'),
  fc.integer({ min: 0, max: 20 }) as fc.Arbitrary<Pause>,
);

function wait(p: Pause): Promise<void> | undefined {
  if (p === 'sync') return undefined;
  if (p === 'micro') return Promise.resolve();
  return new Promise((resolve) => setTimeout(resolve, p));
}

/** A source that waits `pauses[i]` before yielding item i, and records pulls and whether it was closed. */
function pausingSource(
  count: number,
  pauses: readonly Pause[],
  kind: SourceKind,
  log: { pulled: number; closed: boolean },
): Iterable<number> | AsyncIterable<number> {
  if (kind === 'array') {
    log.pulled = count;
    return Array.from({ length: count }, (_, i) => i);
  }
  if (kind === 'iterable')
    return (function* () {
      try {
        for (let i = 0; i < count; i++) {
          log.pulled++;
          yield i;
        }
      } finally {
        log.closed = true;
      }
    })();
  return (async function* () {
    try {
      for (let i = 0; i < count; i++) {
        await wait(pauses[i % pauses.length]);
        log.pulled++;
        yield i;
      }
    } finally {
      log.closed = true;
    }
  })();
}

const runSpec = fc.record({
  count: fc.integer({ min: 0, max: 20 }),
  limit: limits,
  kind: sourceKinds,
  sourcePauses: fc.array(pause, { minLength: 1, maxLength: 6 }),
  taskPauses: fc.array(pause, { minLength: 1, maxLength: 6 }),
  consumerPauses: fc.array(pause, { minLength: 1, maxLength: 6 }),
  failAt: fc.option(fc.nat({ max: 25 }), { nil: undefined }),
  breakAfter: fc.option(fc.nat({ max: 25 }), { nil: undefined }),
  abortAt: fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }),
});

describe('concurrency properties: pausing sources, slow consumers, early exits', () => {
  const time = useFakeClock();

  it('mapWithLimit yields an in-order prefix within its bounds, always ends, and starts nothing after it ends', async () => {
    await fc.assert(
      fc.asyncProperty(runSpec, async (spec) => {
        const { count, limit, kind, failAt, breakAfter, abortAt } = spec;
        const log = { pulled: 0, closed: false };
        const source = pausingSource(count, spec.sourcePauses, kind, log);
        const controller = new AbortController();
        const reason = new Error('aborted by the caller');
        if (abortAt !== undefined) setTimeout(() => controller.abort(reason), abortAt);
        const failure = new Error('task failed');
        let running = 0;
        let peak = 0;
        let consumed = 0;
        let maxAhead = 0;
        const started: number[] = [];
        let endedAt = Infinity;
        let failedAtTime = Infinity;
        let sequence = 0;
        const startedAt: number[] = [];
        const startedAtTime: number[] = [];
        const mapper = async (i: number) => {
          started.push(i);
          startedAt.push(++sequence);
          startedAtTime.push(Date.now());
          running++;
          peak = Math.max(peak, running);
          maxAhead = Math.max(maxAhead, started.length - consumed);
          try {
            await wait(spec.taskPauses[i % spec.taskPauses.length]);
            if (i === failAt) {
              failedAtTime = Math.min(failedAtTime, Date.now());
              throw failure;
            }
            return i * 10;
          } finally {
            running--;
          }
        };
        const out: number[] = [];
        const loop = observe(
          (async () => {
            try {
              for await (const value of mapWithLimit(source, mapper, {
                limit,
                signal: controller.signal,
              })) {
                out.push(value);
                consumed++;
                if (breakAfter !== undefined && out.length > breakAfter) break;
                await wait(spec.consumerPauses[out.length % spec.consumerPauses.length]);
              }
            } finally {
              endedAt = ++sequence;
            }
          })(),
        );
        await time.clock.tickAsync(10_000);
        expect(loop.settled, 'the loop ended').to.equal(true);
        expect(out, 'an in-order prefix').to.deep.equal(
          Array.from({ length: out.length }, (_, i) => i * 10),
        );
        expect(peak).to.be.at.most(limit);
        // Started but not handed out: at most `limit`, plus the one the consumer is handling.
        expect(maxAhead).to.be.at.most(limit + 1);
        if (kind !== 'array')
          expect(log.pulled - consumed, 'pulled ahead of the consumer').to.be.at.most(limit + 1);
        expect(
          startedAt.every((at) => at < endedAt),
          'no task starts after the loop ended',
        ).to.equal(true);
        if (loop.error === undefined && out.length < count)
          expect(breakAfter, 'only a break ends a clean loop early').to.equal(out.length - 1);
        // Fail-fast: once a task has failed, nothing starts at a later time (the run learns of the failure
        // within the same turn, so tasks ready in that very turn may still start).
        if (loop.error === failure)
          expect(startedAtTime.every((at) => at <= failedAtTime)).to.equal(true);
        else if (loop.error !== undefined) expect(loop.error).to.equal(reason);
        if (loop.error === undefined && breakAfter === undefined) expect(out).to.have.length(count);
        if (kind !== 'array' && (loop.error !== undefined || out.length < count))
          expect(log.closed, 'the source was closed').to.equal(true);
      }),
      { numRuns: 400 },
    );
  });

  it('gatherWithLimit keeps input order from a pausing source, fails fast, stops on abort, and always settles', async () => {
    await fc.assert(
      fc.asyncProperty(runSpec, async (spec) => {
        const { count, limit, kind, failAt, abortAt } = spec;
        const log = { pulled: 0, closed: false };
        const items = pausingSource(count, spec.sourcePauses, kind, log);
        const controller = new AbortController();
        const reason = new Error('aborted by the caller');
        if (abortAt !== undefined) setTimeout(() => controller.abort(reason), abortAt);
        const failure = new Error('task failed');
        let running = 0;
        let peak = 0;
        let sequence = 0;
        let stoppedAt = Infinity;
        let failedAtTime = Infinity;
        const startedAt: number[] = [];
        const startedAtTime: number[] = [];
        const toTask = (i: number) => async () => {
          startedAt.push(++sequence);
          startedAtTime.push(Date.now());
          running++;
          peak = Math.max(peak, running);
          try {
            await wait(spec.taskPauses[i % spec.taskPauses.length]);
            if (i === failAt) {
              failedAtTime = Math.min(failedAtTime, Date.now());
              throw failure;
            }
            return i;
          } finally {
            running--;
          }
        };
        const tasks =
          Symbol.asyncIterator in items
            ? (async function* () {
                for await (const i of items) yield toTask(i);
              })()
            : Array.isArray(items)
              ? items.map(toTask)
              : (function* () {
                  for (const i of items) yield toTask(i);
                })();
        const result = observe(
          gatherWithLimit(tasks, { limit, signal: controller.signal }).finally(() => {
            stoppedAt = Math.min(stoppedAt, ++sequence);
          }),
        );
        await time.clock.tickAsync(10_000);
        expect(result.settled, 'the call settled').to.equal(true);
        expect(peak).to.be.at.most(limit);
        if (result.error === undefined) {
          expect(result.value).to.deep.equal(Array.from({ length: count }, (_, i) => i));
        } else {
          expect([failure, reason]).to.include(result.error);
          expect(
            startedAt.every((at) => at < stoppedAt),
            'no task starts after the call stopped',
          ).to.equal(true);
          if (result.error === failure)
            expect(startedAtTime.every((at) => at <= failedAtTime)).to.equal(true);
        }
      }),
      { numRuns: 400 },
    );
  });
});
