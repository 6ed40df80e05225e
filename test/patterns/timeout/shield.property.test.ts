// Shielded work and its drain against a reference model of their promise:
// - shielded work runs to its own end and settles with its own value or error, whatever aborts around it (an
//   enclosing timeout, a caller's signal): inside it, `currentSignal()` never aborts;
// - `shieldedCount()` is the number of shielded works still running;
// - `drainShielded()` resolves at the first moment no shielded work is running, counting work started while it
//   waits; with `timeout`, it rejects with a TimeoutError at its deadline if work is still running then;
// - nothing is left behind: no unhandled rejection, no timer once everything has settled.
//
// Works start at multiples of 10 ms and end at residue 5, the drain starts at residue 3, its deadline falls at
// residue 4, enclosing deadlines and aborts at residue 6, and counts are read at residue 8: no two events tie.
import { expect } from 'chai';
import fc from 'fast-check';
import {
  TimeoutError,
  currentSignal,
  drainShielded,
  runWithShield,
  runWithTimeout,
  shieldedCount,
  withSignal,
} from '../../../src/index.js';
import { observe, useFakeClockCatchingUnhandled } from '../../support/fake-clock.js';

interface Work {
  readonly start: number;
  readonly ms: number;
  readonly fails: boolean;
  /** How it is shielded: a function, an already running promise, or a function that throws at once. */
  readonly form: 'function' | 'promise' | 'throws';
  /** What surrounds the shield: nothing, a timeout of `around` ms, or a caller's signal aborted after it. */
  readonly within: 'nothing' | 'timeout' | 'signal';
  readonly around: number;
}

interface Scenario {
  readonly works: readonly Work[];
  readonly drainAt: number;
  readonly drainTimeout: number | undefined;
}

const work: fc.Arbitrary<Work> = fc.record({
  start: fc.integer({ min: 0, max: 12 }).map((n) => n * 10),
  ms: fc.integer({ min: 0, max: 15 }).map((n) => n * 10 + 5),
  fails: fc.boolean(),
  form: fc.constantFrom('function', 'function', 'promise', 'throws'),
  within: fc.constantFrom('nothing', 'timeout', 'signal'),
  around: fc.integer({ min: 0, max: 10 }).map((n) => n * 10 + 6),
});

const scenario: fc.Arbitrary<Scenario> = fc.record({
  works: fc.array(work, { maxLength: 6 }),
  drainAt: fc.integer({ min: 0, max: 12 }).map((n) => n * 10 + 3),
  drainTimeout: fc.option(
    fc.integer({ min: 0, max: 15 }).map((n) => n * 10 + 1),
    { nil: undefined },
  ),
});

/** When a work ends: its own end, or at once for one that throws as it is called. */
function endOf(w: Work): number {
  return w.form === 'throws' ? w.start : w.start + w.ms;
}

/** Works running at `t` (a work that throws at once never counts: it settles before any read). */
function runningAt(works: readonly Work[], t: number): number {
  return works.filter((w) => w.form !== 'throws' && w.start <= t && t < endOf(w)).length;
}

/** When the drain settles, and how. */
function drainModel(s: Scenario): { at: number; timedOut: boolean } {
  const ends = s.works.filter((w) => w.form !== 'throws').map(endOf);
  // The first moment from the drain's start with nothing running: its start, or some work's end.
  const idle = [s.drainAt, ...ends]
    .filter((t) => t >= s.drainAt)
    .sort((a, b) => a - b)
    .find((t) => runningAt(s.works, t) === 0)!;
  const deadline = s.drainTimeout === undefined ? Infinity : s.drainAt + s.drainTimeout;
  return idle <= deadline ? { at: idle, timedOut: false } : { at: deadline, timedOut: true };
}

describe('shield (property): against a reference model', () => {
  const harness = useFakeClockCatchingUnhandled();
  const { unhandled } = harness;

  it('settles each work with its own outcome, counts what runs, and drains as the model says', async () => {
    const { clock } = harness;
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        clock.reset();
        clock.setSystemTime(0);
        unhandled.length = 0;
        const errors = s.works.map((_, i) => new Error(`work ${i}`));
        const results: ReturnType<typeof observe>[] = s.works.map(() => ({ settled: false }));
        const settledAt: number[] = s.works.map(() => NaN);
        const signalAborted: boolean[] = s.works.map(() => false);
        let drain: ReturnType<typeof observe> | undefined;
        let drainSettledAt = NaN;
        const counts: { at: number; count: number }[] = [];

        const body = (i: number) => async () => {
          // Read before any await: without async context the call context is known synchronously only. A work
          // given as a running promise was started outside any call, where there is no signal to read.
          const signal = s.works[i].form === 'function' ? currentSignal() : undefined;
          await new Promise((resolve) => setTimeout(resolve, s.works[i].ms));
          if (signal?.aborted === true) signalAborted[i] = true;
          if (s.works[i].fails) throw errors[i];
          return i;
        };
        const shield = (i: number): Promise<unknown> => {
          const w = s.works[i];
          if (w.form === 'throws')
            return runWithShield(() => {
              throw errors[i];
            });
          if (w.form === 'promise') return runWithShield(body(i)());
          return runWithShield(body(i));
        };
        const start = (i: number) => {
          const w = s.works[i];
          let shielded: Promise<unknown> | undefined;
          const inside = async () => {
            shielded = shield(i);
            const seen = observe(shielded);
            results[i] = seen;
            shielded.then(
              () => (settledAt[i] = Date.now()),
              () => (settledAt[i] = Date.now()),
            );
            return shielded;
          };
          let outer: Promise<unknown>;
          if (w.within === 'timeout') outer = runWithTimeout(inside, w.around);
          else if (w.within === 'signal') {
            const controller = new AbortController();
            setTimeout(() => controller.abort(new Error('caller gave up')), w.around);
            outer = withSignal(controller.signal, inside);
          } else outer = inside();
          outer.catch(() => undefined); // the enclosing call may end first: only the shield is judged
        };

        s.works.forEach((w, i) => setTimeout(() => start(i), w.start));
        setTimeout(() => {
          const promise = drainShielded(
            s.drainTimeout === undefined ? {} : { timeout: s.drainTimeout },
          );
          drain = observe(promise);
          promise.then(
            () => (drainSettledAt = Date.now()),
            () => (drainSettledAt = Date.now()),
          );
        }, s.drainAt);
        for (let t = 8; t < 300; t += 10)
          setTimeout(() => counts.push({ at: t, count: shieldedCount() }), t);

        await clock.tickAsync(400);

        s.works.forEach((w, i) => {
          const seen = results[i];
          expect(seen.settled, `work ${i} settled`).to.equal(true);
          expect(settledAt[i], `work ${i} settled at`).to.equal(endOf(w));
          if (w.form === 'throws' || w.fails) expect(seen.error).to.equal(errors[i]);
          else expect(seen.value).to.equal(i);
          expect(signalAborted[i], `work ${i} saw its signal abort`).to.equal(false);
        });
        for (const { at, count } of counts)
          expect(count, `count at ${at}`).to.equal(runningAt(s.works, at));
        const expected = drainModel(s);
        expect(drainSettledAt, 'drain settled at').to.equal(expected.at);
        if (expected.timedOut) expect(drain!.error).to.be.instanceOf(TimeoutError);
        else expect(drain!.error).to.equal(undefined);
        expect(shieldedCount()).to.equal(0);
        expect(clock.countTimers(), 'timers left').to.equal(0);
        await Promise.resolve();
        expect(unhandled).to.deep.equal([]);
      }),
      { numRuns: 150 },
    );
  });
});
