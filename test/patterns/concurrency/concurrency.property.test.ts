import { expect } from 'chai';
import fc from 'fast-check';
import {
  ConcurrencyLimiter,
  currentSignal,
  gatherWithLimit,
  mapWithLimit,
  runWithTimeout,
  withSignal,
} from '../../../src/index.js';
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

/** What a source did: items handed out, next() calls answered one at a time or not, how it was closed. */
interface SourceLog {
  pulled: number;
  /** next() calls not answered yet, and the most there ever were at once. */
  pending: number;
  maxPending: number;
  /** return() was called while no next() was pending: the source could then clean up at once. */
  returnedIdle: boolean;
  closed: boolean;
}

function sourceLog(): SourceLog {
  return { pulled: 0, pending: 0, maxPending: 0, returnedIdle: false, closed: false };
}

/**
 * A source that waits `pauses[i]` before yielding item i and `closePause` in its cleanup, recording pulls,
 * overlapping next() calls and whether it was closed.
 */
function pausingSource(
  count: number,
  pauses: readonly Pause[],
  kind: SourceKind,
  log: SourceLog,
  closePause: Pause = 'sync',
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
  const generator = (async function* () {
    try {
      for (let i = 0; i < count; i++) {
        await wait(pauses[i % pauses.length]);
        log.pulled++;
        yield i;
      }
    } finally {
      await wait(closePause);
      log.closed = true;
    }
  })();
  // Counts the next() calls in flight: an async iterator need not support overlapping ones.
  const iterator: AsyncIterableIterator<number> = {
    next: () => {
      log.maxPending = Math.max(log.maxPending, ++log.pending);
      // Answered when counted as answered: the promise settles in the same reaction.
      return new Promise((resolve, reject) => {
        generator.next().then(
          (step) => {
            log.pending--;
            resolve(step);
          },
          (error: unknown) => {
            log.pending--;
            reject(error);
          },
        );
      });
    },
    return: (value?: unknown) => {
      log.returnedIdle = log.pending === 0;
      return generator.return(value as undefined);
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

/** How an abort reaches the run: its own option, an enclosing withSignal, or an enclosing timeout. */
type AbortBy = 'options.signal' | 'withSignal' | 'timeout';

const runSpec = fc.record({
  count: fc.integer({ min: 0, max: 20 }),
  limit: limits,
  kind: sourceKinds,
  sourcePauses: fc.array(pause, { minLength: 1, maxLength: 6 }),
  closePause: pause,
  taskPauses: fc.array(pause, { minLength: 1, maxLength: 6 }),
  consumerPauses: fc.array(pause, { minLength: 1, maxLength: 6 }),
  failAt: fc.option(fc.nat({ max: 25 }), { nil: undefined }),
  breakAfter: fc.option(fc.nat({ max: 25 }), { nil: undefined }),
  abortAt: fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }),
  abortBy: fc.constantFrom<AbortBy>('options.signal', 'withSignal', 'timeout'),
  returnAt: fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }),
});

type RunSpec = typeof runSpec extends fc.Arbitrary<infer S> ? S : never;

/**
 * Runs `body` as the spec's abort reaches it: with `options` to pass on, inside withSignal or a timeout. The
 * abort is recorded (program order, time, and whatever `atAbort` notes) before the run hears of it.
 */
function underAbort<T>(
  spec: RunSpec,
  body: (options: { signal?: AbortSignal }) => Promise<T>,
  atAbort: (reason: unknown) => void,
): { outer: Promise<unknown>; inner: Promise<T> } {
  const { abortAt, abortBy } = spec;
  let inner: Promise<T> | undefined;
  if (abortAt === undefined) {
    inner = body({});
    return { outer: inner, inner };
  }
  if (abortBy === 'timeout') {
    const outer = runWithTimeout(
      () => {
        // Listening before the run does: the record comes first.
        const signal = currentSignal();
        signal.addEventListener('abort', () => atAbort(signal.reason), { once: true });
        return (inner = body({}));
      },
      Math.max(1, abortAt),
    );
    return { outer, inner: inner! };
  }
  const controller = new AbortController();
  const reason = new Error('aborted by the caller');
  controller.signal.addEventListener('abort', () => atAbort(reason), { once: true });
  setTimeout(() => controller.abort(reason), abortAt);
  if (abortBy === 'options.signal') {
    inner = body({ signal: controller.signal });
    return { outer: inner, inner };
  }
  const outer = withSignal(controller.signal, () => (inner = body({})));
  return { outer, inner: inner! };
}

describe('concurrency properties: pausing sources, slow consumers, early exits', () => {
  const time = useFakeClock();

  it('mapWithLimit ends as the first of completion, failure, abort, return() and break says, at once, within its bounds', async () => {
    await fc.assert(
      fc.asyncProperty(runSpec, async (spec) => {
        const { count, limit, kind, failAt, breakAfter, returnAt } = spec;
        const log = sourceLog();
        const source = pausingSource(count, spec.sourcePauses, kind, log, spec.closePause);
        const failure = new Error('task failed');
        // Program order of what happened, by a shared sequence; Infinity: it did not happen.
        let sequence = 0;
        const at = {
          failure: Infinity,
          abort: Infinity,
          return: Infinity,
          break: Infinity,
          end: Infinity,
        };
        const when = { abort: -1, return: -1, end: -1 };
        let abortReason: unknown;
        let running = 0;
        let peak = 0;
        let consumed = 0;
        let maxAhead = 0;
        let reading = false;
        const readingAt = { abort: false, return: false };
        let signal: AbortSignal | undefined;
        const startedAt: number[] = [];
        const startedAtTime: number[] = [];
        const deliveredAt: number[] = [];
        let failedAtTime = Infinity;
        const atEnd = { running: 0, aborted: false, closed: false };
        let closedAtReturn: boolean | undefined;
        const mapper = async (i: number, taskSignal: AbortSignal) => {
          signal = taskSignal;
          startedAt.push(++sequence);
          startedAtTime.push(Date.now());
          running++;
          peak = Math.max(peak, running);
          maxAhead = Math.max(maxAhead, startedAt.length - consumed);
          try {
            await wait(spec.taskPauses[i % spec.taskPauses.length]);
            if (i === failAt) {
              failedAtTime = Math.min(failedAtTime, Date.now());
              at.failure = Math.min(at.failure, ++sequence);
              throw failure;
            }
            return i * 10;
          } finally {
            running--;
          }
        };
        const out: number[] = [];
        let stream: AsyncGenerator<number, void, undefined> | undefined;
        const { outer, inner } = underAbort(
          spec,
          async (options) => {
            stream = mapWithLimit(source, mapper, { limit, ...options });
            const reads = stream;
            // The loop's reads, watched: is the consumer waiting in next() when the run is stopped?
            const watched: AsyncIterable<number> = {
              [Symbol.asyncIterator]: () => ({
                next: () => {
                  reading = true;
                  return reads.next().finally(() => (reading = false));
                },
                return: () => reads.return(),
              }),
            };
            try {
              for await (const value of watched) {
                deliveredAt.push(++sequence);
                out.push(value);
                consumed++;
                if (breakAfter !== undefined && out.length > breakAfter) {
                  at.break = ++sequence;
                  break;
                }
                await wait(spec.consumerPauses[out.length % spec.consumerPauses.length]);
              }
            } finally {
              at.end = ++sequence;
              when.end = Date.now();
              Object.assign(atEnd, { running, aborted: signal?.aborted, closed: log.closed });
            }
          },
          (reason) => {
            at.abort = ++sequence;
            when.abort = Date.now();
            readingAt.abort = reading;
            abortReason = reason;
          },
        );
        if (returnAt !== undefined)
          setTimeout(() => {
            at.return = ++sequence;
            when.return = Date.now();
            readingAt.return = reading;
            void stream!.return().then(() => (closedAtReturn = log.closed));
          }, returnAt);
        const loop = observe(inner);
        observe(outer);
        await time.clock.tickAsync(10_000);

        expect(loop.settled, 'the loop ended').to.equal(true);
        expect(out, 'an in-order prefix').to.deep.equal(
          Array.from({ length: out.length }, (_, i) => i * 10),
        );
        // Bounds: calls at once, results started but not handed out (plus the one the consumer is
        // handling), items pulled ahead of the consumer, and one pull at a time.
        expect(peak).to.be.at.most(limit);
        expect(maxAhead).to.be.at.most(limit + 1);
        if (kind !== 'array')
          expect(log.pulled - consumed, 'pulled ahead of the consumer').to.be.at.most(limit + 1);
        expect(log.maxPending, 'next() calls pending on the source at once').to.be.at.most(1);

        // The model: the first of these events decides how the loop ends.
        const stops = [
          ['failure', at.failure],
          ['abort', at.abort],
          ['return', at.return],
          ['break', at.break],
        ] as const;
        const [first, firstAt] = stops.reduce((a, b) => (b[1] < a[1] ? b : a));
        if (firstAt > at.end) {
          expect(loop.error).to.equal(undefined);
          expect(out).to.have.length(count);
        } else if (first === 'failure' || first === 'abort') {
          // The error reaches the loop at its next read: a break, or a return() before that read, ends it
          // cleanly (the run learns of a failure a few reactions after the task threw).
          if (loop.error === undefined)
            expect(Math.min(at.break, at.return), 'ended by break or return()').to.be.below(at.end);
          else expect(loop.error).to.equal(first === 'failure' ? failure : abortReason);
          if (first === 'failure')
            expect(startedAtTime.every((t) => t <= failedAtTime)).to.equal(true);
          if (first === 'abort' && readingAt.abort) {
            expect(loop.error).to.equal(abortReason);
            expect(when.end, 'a pending read fails at once').to.equal(when.abort);
          }
        } else {
          expect(loop.error).to.equal(undefined);
          if (first === 'return' && readingAt.return)
            expect(when.end, 'a pending read ends at once').to.equal(when.return);
        }
        // Nothing starts, and no result reaches the loop, once the run was told to stop.
        const stoppedAt = Math.min(at.abort, at.return, at.end);
        expect(
          startedAt.every((s) => s < stoppedAt),
          'no task starts after the stop',
        ).to.equal(true);
        expect(
          deliveredAt.every((s) => s < Math.min(at.abort, at.return)),
          'no result after an abort or return()',
        ).to.equal(true);
        // Leaving early tells the tasks still running to stop, and closes the source: by the time the loop
        // exits after a break (or return() settles) when the source was not busy producing an item.
        const endedEarly = loop.error !== undefined || out.length < count;
        if (endedEarly && atEnd.running > 0)
          expect(atEnd.aborted, 'running tasks aborted').to.equal(true);
        if (kind !== 'array' && endedEarly) expect(log.closed, 'source closed').to.equal(true);
        if (kind !== 'array' && log.returnedIdle) {
          if (first === 'break' && loop.error === undefined)
            expect(atEnd.closed, 'source closed when the loop exits').to.equal(true);
          if (first === 'return' && closedAtReturn !== undefined)
            expect(closedAtReturn, 'source closed when return() settles').to.equal(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('gatherWithLimit keeps input order from a pausing source, fails fast, stops at once on an abort, and always settles', async () => {
    await fc.assert(
      fc.asyncProperty(runSpec, async (spec) => {
        const { count, limit, kind, failAt } = spec;
        const log = sourceLog();
        const items = pausingSource(count, spec.sourcePauses, kind, log);
        const failure = new Error('task failed');
        let running = 0;
        let peak = 0;
        let sequence = 0;
        let stoppedAt = Infinity;
        let settledAtTime = -1;
        let failedAtTime = Infinity;
        let abortedAt = Infinity;
        let abortedAtTime = -1;
        let abortReason: unknown;
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
        const { outer, inner } = underAbort(
          spec,
          (options) =>
            gatherWithLimit(tasks, { limit, ...options }).finally(() => {
              stoppedAt = Math.min(stoppedAt, ++sequence);
              settledAtTime = Date.now();
            }),
          (reason) => {
            abortedAt = ++sequence;
            abortedAtTime = Date.now();
            abortReason = reason;
          },
        );
        const result = observe(inner);
        observe(outer);
        await time.clock.tickAsync(10_000);
        expect(result.settled, 'the call settled').to.equal(true);
        expect(peak).to.be.at.most(limit);
        expect(log.maxPending, 'next() calls pending on the source at once').to.be.at.most(1);
        if (result.error === undefined) {
          expect(result.value).to.deep.equal(Array.from({ length: count }, (_, i) => i));
          return;
        }
        expect(
          startedAt.every((at) => at < stoppedAt),
          'no task starts after the call stopped',
        ).to.equal(true);
        if (abortedAt < stoppedAt) {
          expect(result.error).to.equal(abortReason);
          expect(settledAtTime, 'rejects at once').to.equal(abortedAtTime);
        } else {
          expect(result.error).to.equal(failure);
          expect(startedAtTime.every((at) => at <= failedAtTime)).to.equal(true);
        }
      }),
      { numRuns: 400 },
    );
  });
});
