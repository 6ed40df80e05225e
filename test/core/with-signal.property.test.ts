// withSignal, nested up to three deep, against a reference model of its promise:
// - each level rejects at once, with its signal's reason, when its own signal aborts first; otherwise it settles
//   as what it ran settles (a level does not race the signals around it: those reach it through the work);
// - the work's `currentSignal()` aborts at the first abort of any level around it, with that abort's reason;
// - a signal aborted before the call rejects at once and runs nothing;
// - when everything has settled, no level still listens to its signal, and nothing was left unhandled.
//
// Level k's abort falls at residue k + 1 of 10 ms, the work's end at residue 7: no two events tie.
import { expect } from 'chai';
import fc from 'fast-check';
import { getEventListeners } from 'node:events';
import { currentSignal, withSignal } from '../../src/index.js';
import { observe, useFakeClockCatchingUnhandled } from '../support/fake-clock.js';

interface Level {
  /** When its caller aborts: before the call, at a time, or never. */
  readonly abort: 'before' | number | undefined;
}

interface Work {
  readonly ms: number;
  readonly fails: boolean;
  /** Stops, rejecting with its signal's reason, when its signal aborts. */
  readonly obeys: boolean;
}

type Outcome = { at: number; error: unknown; started: boolean } | { at: number; value: string };

const scenario = fc.record({
  levels: fc
    .array(
      fc.option(fc.oneof(fc.constant('before' as const), fc.integer({ min: 0, max: 20 })), {
        nil: undefined,
      }),
      {
        minLength: 1,
        maxLength: 3,
      },
    )
    .map((aborts) =>
      aborts.map((abort, k): Level => ({
        abort: typeof abort === 'number' ? abort * 10 + k + 1 : abort,
      })),
    ),
  work: fc.record<Work>({
    ms: fc.integer({ min: 0, max: 20 }).map((n) => n * 10 + 7),
    fails: fc.boolean(),
    obeys: fc.boolean(),
  }),
});

function abortTime(level: Level): number {
  return level.abort === 'before' ? -1 : (level.abort ?? Infinity);
}

describe('withSignal (property): nested, against a reference model', () => {
  const harness = useFakeClockCatchingUnhandled();
  const { unhandled } = harness;

  it('settles every level and aborts the work as the model says', async () => {
    const { clock } = harness;
    await fc.assert(
      fc.asyncProperty(scenario, async ({ levels, work }) => {
        clock.reset();
        clock.setSystemTime(0);
        unhandled.length = 0;
        const reasons = levels.map((_, k) => new Error(`level ${k} gave up`));
        const failure = new Error('work failed');
        const controllers = levels.map(() => new AbortController());
        levels.forEach((level, k) => {
          if (level.abort === 'before') controllers[k].abort(reasons[k]);
          else if (level.abort !== undefined)
            setTimeout(() => controllers[k].abort(reasons[k]), level.abort);
        });
        const settled: Outcome[] = [];
        let workStarted = false;
        let workSignal: { at: number; reason: unknown } | undefined;

        const runWork = (): Promise<string> => {
          workStarted = true;
          const signal = currentSignal();
          return new Promise<string>((resolve, reject) => {
            const done = setTimeout(
              () => (work.fails ? reject(failure) : resolve('done')),
              work.ms,
            );
            const onAbort = () => {
              workSignal = { at: Date.now(), reason: signal.reason };
              if (!work.obeys) return;
              clearTimeout(done);
              reject(signal.reason as Error);
            };
            if (signal.aborted) onAbort();
            else signal.addEventListener('abort', onAbort, { once: true });
          });
        };
        const level = (k: number): Promise<string> => {
          const promise = withSignal(controllers[k].signal, () =>
            k + 1 < levels.length ? level(k + 1) : runWork(),
          );
          promise.then(
            (value) => (settled[k] = { at: Date.now(), value }),
            (error: unknown) => (settled[k] = { at: Date.now(), error, started: workStarted }),
          );
          return promise;
        };
        observe(level(0));
        await clock.tickAsync(400);

        // The model. The first level aborted before the call ends everything there, at once.
        const before = levels.findIndex((l) => l.abort === 'before');
        const started = before < 0;
        const firstAbort = levels
          .map((l, k) => ({ at: abortTime(l), k }))
          .filter(({ at }) => at >= 0 && at < Infinity)
          .sort((a, b) => a.at - b.at)[0];
        if (started && firstAbort !== undefined && firstAbort.at < work.ms) {
          expect(workSignal).to.deep.equal({ at: firstAbort.at, reason: reasons[firstAbort.k] });
        } else if (started) {
          expect(workSignal, 'the work saw an abort').to.satisfy(
            (seen: typeof workSignal) => seen === undefined || seen.at > work.ms,
          );
        }
        const workEnd = (): Outcome => {
          if (work.obeys && firstAbort !== undefined && firstAbort.at < work.ms)
            return { at: firstAbort.at, error: reasons[firstAbort.k], started: true };
          return work.fails
            ? { at: work.ms, error: failure, started: true }
            : { at: work.ms, value: 'done' };
        };
        const expected: Outcome[] = [];
        let inner: Outcome | undefined;
        const last = started ? levels.length - 1 : before;
        for (let k = last; k >= 0; k--) {
          const own = abortTime(levels[k]);
          if (k === before) inner = { at: 0, error: reasons[k], started: false };
          else {
            const below: Outcome = inner ?? workEnd();
            inner = own < below.at ? { at: own, error: reasons[k], started } : below;
          }
          expected[k] = inner;
        }
        expect(settled.slice(0, last + 1)).to.deep.equal(expected);
        expect(workStarted).to.equal(started);
        for (const controller of controllers)
          expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
        expect(clock.countTimers()).to.equal(0);
        await Promise.resolve();
        expect(unhandled).to.deep.equal([]);
      }),
      { numRuns: 300 },
    );
  });
});
