// Timeouts against a reference model of their promise, up to three deep, each level with its own budget and
// maybe its caller's own signal: a level settles at the first of its deadline (TimeoutError carrying its
// budget), its caller's abort (the reason), or what the level inside it gives; the work's signal aborts with the
// first abort or deadline of any level around it; work that stops on its signal ends then; nothing is ever
// left as an unhandled rejection.
//
// Deadlines fall at residue 1-3 of 10 ms (by level), caller aborts at 4-6 and the work's own end at 7: no two
// events tie.
import { expect } from 'chai';
import fc from 'fast-check';
import sinon from 'sinon';
import { Timeout, TimeoutError, runWithTimeout } from '../../../src/index.js';

interface Level {
  readonly budget: number;
  readonly abort: 'before' | number | undefined;
  readonly viaClass: boolean;
}

interface Work {
  readonly ms: number;
  readonly fails: boolean;
  /** Stops (rejecting with the signal's reason) when its signal aborts. */
  readonly obeys: boolean;
  /** Given as an already running promise rather than a function (so it gets no signal). */
  readonly asPromise: boolean;
}

/** Who settled something: a level's deadline or caller, or the work. */
type Cause = { by: 'deadline' | 'caller'; level: number } | { by: 'work'; fails: boolean };

interface Observed {
  outer: { at: number; cause: Cause };
  /** When the work's signal aborted and why (undefined: it did not, or the work got none). */
  signal: { at: number; cause: Cause } | undefined;
  started: boolean;
}

function model(levels: readonly Level[], work: Work): Observed {
  const before = levels.findIndex((level) => level.abort === 'before');
  // A promise given as the work is already running when the innermost level is reached.
  if (before !== -1)
    return {
      outer: { at: 0, cause: { by: 'caller', level: before } },
      signal: undefined,
      started: work.asPromise && before === levels.length - 1,
    };
  // Events in time order. A level fires (deadline or caller abort) only while it has not settled; when it
  // fires it settles, and so does every level around it that has not; the work's signal aborts with the first
  // level to fire, and work that obeys then ends with that reason, settling the levels inside the one that fired.
  const settled: ({ at: number; cause: Cause } | undefined)[] = levels.map(() => undefined);
  const settleOutward = (from: number, at: number, cause: Cause) => {
    for (let index = from; index >= 0 && settled[index] === undefined; index--)
      settled[index] = { at, cause };
  };
  type Event = { at: number; cause: Cause; level?: number };
  const events: Event[] = [{ at: work.ms, cause: { by: 'work', fails: work.fails } }];
  levels.forEach((level, index) => {
    events.push({ at: level.budget, cause: { by: 'deadline', level: index }, level: index });
    if (typeof level.abort === 'number')
      events.push({ at: level.abort, cause: { by: 'caller', level: index }, level: index });
  });
  events.sort((a, b) => a.at - b.at);
  let signal: { at: number; cause: Cause } | undefined;
  let workEnded = false;
  const innermost = levels.length - 1;
  for (const { at, cause, level } of events) {
    if (level === undefined) {
      if (workEnded) continue;
      workEnded = true;
      settleOutward(innermost, at, cause);
      continue;
    }
    if (settled[level] !== undefined) continue;
    settleOutward(level, at, cause);
    if (work.asPromise || signal !== undefined) continue;
    signal = { at, cause };
    if (work.obeys && !workEnded) {
      workEnded = true;
      settleOutward(innermost, at, cause);
    }
  }
  return { outer: settled[0]!, signal, started: true };
}

const tens = (max: number) => fc.integer({ min: 1, max }).map((n) => n * 10);

const scenario = fc.record({
  levels: fc
    .array(
      fc.record({
        budget: tens(30),
        abort: fc.oneof(
          { arbitrary: fc.constant(undefined), weight: 3 },
          { arbitrary: fc.constant('before' as const), weight: 1 },
          { arbitrary: tens(30), weight: 2 },
        ),
        viaClass: fc.boolean(),
      }),
      { minLength: 1, maxLength: 3 },
    )
    .map((levels) =>
      levels.map((level, index) => ({
        ...level,
        budget: level.budget + 1 + index,
        abort: typeof level.abort === 'number' ? level.abort + 4 + index : level.abort,
      })),
    ),
  work: fc.record({
    ms: tens(30).map((ms) => ms + 7),
    fails: fc.boolean(),
    obeys: fc.boolean(),
    asPromise: fc.boolean(),
  }),
});

describe('Timeout (model)', () => {
  it('settles every level, aborts the work’s signal and ends the work exactly when the model does', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ levels, work }) => {
        const unhandled: unknown[] = [];
        const onUnhandled = (reason: unknown) => unhandled.push(reason);
        process.on('unhandledRejection', onUnhandled);
        const clock = sinon.useFakeTimers({ now: 0 });
        try {
          const reasons = levels.map((_, index) => new Error(`caller ${index} left`));
          const failure = new Error('work failed');
          const causeOf = (error: unknown, value?: unknown): Cause => {
            if (error === undefined && value === 'done') return { by: 'work', fails: false };
            if (error === failure) return { by: 'work', fails: true };
            const caller = reasons.indexOf(error as Error);
            if (caller !== -1) return { by: 'caller', level: caller };
            if (error instanceof TimeoutError)
              return { by: 'deadline', level: levels.findIndex((l) => l.budget === error.timeout) };
            return { by: 'work', fails: 'unexpected' as unknown as boolean };
          };
          const observed: Partial<Observed> = { started: false, signal: undefined };
          const runWork = (signal?: AbortSignal) => {
            observed.started = true;
            return new Promise<string>((resolve, reject) => {
              const timer = setTimeout(
                () => (work.fails ? reject(failure) : resolve('done')),
                work.ms,
              );
              signal?.addEventListener('abort', () => {
                observed.signal = { at: Date.now(), cause: causeOf(signal.reason) };
                if (!work.obeys) return;
                clearTimeout(timer);
                reject(signal.reason as Error);
              });
            });
          };
          const runLevel = (index: number): Promise<unknown> => {
            const level = levels[index];
            const controller = new AbortController();
            if (level.abort === 'before') controller.abort(reasons[index]);
            else if (level.abort !== undefined)
              setTimeout(() => controller.abort(reasons[index]), level.abort - Date.now());
            const options = level.abort === undefined ? undefined : { signal: controller.signal };
            const inner =
              index + 1 < levels.length
                ? () => runLevel(index + 1)
                : work.asPromise
                  ? undefined
                  : (signal: AbortSignal) => runWork(signal);
            const what = inner ?? runWork();
            return level.viaClass
              ? new Timeout(level.budget).run(what, options)
              : runWithTimeout(what as () => Promise<unknown>, level.budget, options);
          };
          runLevel(0).then(
            (value) => (observed.outer = { at: Date.now(), cause: causeOf(undefined, value) }),
            (error: unknown) => (observed.outer = { at: Date.now(), cause: causeOf(error) }),
          );
          await clock.tickAsync(1_000);
          expect(observed).to.deep.equal(model(levels, work));
        } finally {
          clock.restore();
          await new Promise((resolve) => setImmediate(resolve));
          process.off('unhandledRejection', onUnhandled);
        }
        expect(unhandled).to.deep.equal([]);
      }),
      { numRuns: 400 },
    );
  });
});
