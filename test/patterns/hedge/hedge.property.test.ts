// Hedged calls against a reference model of their promise: attempt k (k = 0..maxHedges) starts one delay after
// the one before (after the budget's answer, when it answers late), unless the call settled first or the budget
// refused (a budget may answer at once or some ms later, refuse, fail or throw: any answer but yes sends no more
// hedges); the first success wins at its finish time and every other attempt's signal aborts with a
// HedgeLostError naming the winner; a failure ends the call only when no other attempt is running (hedges are
// sent for latency, not for failures: a retry outside does that), with that last error; a caller's abort
// rejects at once with its reason and aborts every attempt's signal; after the call settled no attempt starts
// and no event is emitted; nothing is left as an unhandled rejection or a timer. Calls sharing a policy (its
// delay queue, its budget) each behave as the model of that call alone. A quantile delay is the estimator's
// value, checked against a sorted array of the recent window.
//
// Delays are multiples of 10 ms (and so are budget answers and call start times), attempts end at residues 2,
// 3, 7 or 8 and caller aborts fall at residue 5: no two kinds of event tie. Two attempts may end together: the
// one started first is seen first, as its timer is older.
import { expect } from 'chai';
import fc from 'fast-check';
import sinon from 'sinon';
import {
  HedgeLostError,
  HedgePolicy,
  hedge,
  withSignal,
  type HedgeBudget,
} from '../../../src/index.js';
import { LatencyQuantile } from '../../../src/patterns/hedge/latency-quantile.js';
import { observe, useFakeClockCatchingUnhandled } from '../../support/fake-clock.js';

interface Attempt {
  readonly ms: number;
  readonly outcome: 'ok' | 'fail' | 'throw';
  /** Stops (rejecting with the signal's reason) when its signal aborts. */
  readonly obeys: boolean;
}

type Answer =
  | { readonly kind: 'yes' | 'no' | 'throw' }
  | { readonly kind: 'later'; readonly ms: number; readonly granted: boolean | 'reject' };

interface Scenario {
  readonly delay: number;
  readonly maxHedges: number;
  readonly attempts: readonly Attempt[];
  readonly abort: 'before' | number | undefined;
  /** The budget's answers, in order (undefined: no budget). */
  readonly budget: readonly Answer[] | undefined;
  readonly viaFunction: boolean;
}

interface Outcome {
  /** Attempt indexes (0-based) with their start times. */
  starts: [number, number][];
  events: string[];
  result: { at: number; value?: number; error?: string } | undefined;
  /** Per started attempt: when its signal aborted and why ('lost to n' or 'caller'). */
  aborts: ([number, string] | undefined)[];
  withdrawals: number[];
  deposits: number;
}

const CALLER = new Error('caller stopped');
const failure = (k: number) => `attempt ${k} failed`;

function model(s: Scenario): Outcome {
  const out: Outcome = {
    starts: [],
    events: [],
    result: undefined,
    aborts: [],
    withdrawals: [],
    deposits: 0,
  };
  if (s.abort === 'before') {
    out.result = { at: 0, error: CALLER.message };
    return out;
  }
  if (s.budget !== undefined) out.deposits = 1;
  const abortAt = s.abort ?? Infinity;
  let running = 0;
  let nextDue = Infinity; // when the next hedge is due
  let answerAt = Infinity; // when a budget's late answer comes
  let lateAnswer: Answer | undefined;
  const ends: { k: number; at: number }[] = [];
  const settle = (at: number, value: number | undefined, error?: string) => {
    out.result = value === undefined ? { at, error } : { at, value };
    nextDue = answerAt = Infinity;
    if (out.starts.length > 1)
      out.starts.forEach(([k]) => {
        if (k !== value && out.aborts[k] === undefined)
          out.aborts[k] = [at, `lost to ${value === undefined ? 0 : value + 1}`];
      });
  };
  const start = (at: number) => {
    const k = out.starts.length;
    const attempt = s.attempts[k];
    out.starts.push([k, at]);
    out.aborts.push(undefined);
    if (k > 0) out.events.push(`${at} hedge ${k + 1} after ${s.delay}`);
    if (attempt.outcome === 'throw') {
      if (running === 0) settle(at, undefined, failure(k));
    } else {
      running++;
      ends.push({ k, at: at + attempt.ms });
    }
    if (out.result === undefined && k < s.maxHedges) nextDue = at + s.delay;
  };
  const answer = (at: number, granted: boolean | 'reject') => {
    if (granted === true) start(at);
  };
  start(0);
  for (;;) {
    if (out.result !== undefined) return out;
    ends.sort((a, b) => a.at - b.at || a.k - b.k);
    const end = ends[0]?.at ?? Infinity;
    const at = Math.min(end, nextDue, answerAt, abortAt);
    if (at === Infinity) throw new Error('the model found nothing left to happen');
    if (at === abortAt) {
      out.result = { at, error: CALLER.message };
      out.starts.forEach(([k]) => (out.aborts[k] ??= [at, 'caller']));
      return out;
    }
    if (at === end) {
      const { k } = ends.shift()!;
      running--;
      if (s.attempts[k].outcome === 'ok') {
        if (out.starts.length > 1) out.events.push(`${at} won by ${k + 1}`);
        settle(at, k);
      } else if (running === 0) settle(at, undefined, failure(k));
    } else if (at === nextDue) {
      nextDue = Infinity;
      if (s.budget === undefined) {
        start(at);
        continue;
      }
      const reply = s.budget[out.withdrawals.length] ?? { kind: 'yes' };
      out.withdrawals.push(at);
      if (reply.kind === 'yes') start(at);
      else if (reply.kind === 'later') {
        answerAt = at + reply.ms;
        lateAnswer = reply;
      }
    } else {
      answerAt = Infinity;
      answer(at, (lateAnswer as Answer & { kind: 'later' }).granted);
    }
  }
}

function emptyOutcome(): Outcome {
  return { starts: [], events: [], result: undefined, aborts: [], withdrawals: [], deposits: 0 };
}

/** A budget answering `answers` in turn (yes once they run out), logging to `log`. */
function scriptedBudget(answers: readonly Answer[], log: Outcome): HedgeBudget {
  return {
    deposit: () => void log.deposits++,
    withdraw: () => {
      const reply = answers[log.withdrawals.length] ?? { kind: 'yes' };
      log.withdrawals.push(Date.now());
      if (reply.kind === 'throw') throw new Error('budget store down');
      if (reply.kind !== 'later') return reply.kind === 'yes';
      return new Promise<boolean>((resolve, reject) =>
        setTimeout(
          () =>
            reply.granted === 'reject'
              ? reject(new Error('budget store down'))
              : resolve(reply.granted),
          reply.ms,
        ),
      );
    },
  };
}

function recordEvents(policy: HedgePolicy, log: Outcome): void {
  policy.events.on('hedge', ({ attempt, delay }) =>
    log.events.push(`${Date.now()} hedge ${attempt} after ${delay}`),
  );
  policy.events.on('hedgeWon', ({ attempt }) => log.events.push(`${Date.now()} won by ${attempt}`));
}

/** Makes the call `s` describes through `policy` now, recording its attempts and result in `out`. */
function makeCall(s: Scenario, policy: HedgePolicy, out: Outcome): void {
  const work = (signal: AbortSignal): Promise<number> => {
    const k = out.starts.length;
    const attempt = s.attempts[k];
    out.starts.push([k, Date.now()]);
    out.aborts.push(undefined);
    signal.addEventListener('abort', () => {
      const reason: unknown = signal.reason;
      out.aborts[k] = [
        Date.now(),
        reason instanceof HedgeLostError
          ? `lost to ${reason.winner}`
          : reason === CALLER
            ? 'caller'
            : String(reason),
      ];
    });
    if (attempt.outcome === 'throw') throw new Error(failure(k));
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => (attempt.outcome === 'ok' ? resolve(k) : reject(new Error(failure(k)))),
        attempt.ms,
      );
      if (attempt.obeys)
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(signal.reason as Error);
        });
    });
  };
  const caller = new AbortController();
  if (s.abort === 'before') caller.abort(CALLER);
  else if (s.abort !== undefined) setTimeout(() => caller.abort(CALLER), s.abort);
  const promise = s.viaFunction
    ? withSignal(caller.signal, () => hedge(work, policy)())
    : policy.execute(work, { signal: caller.signal });
  promise.then(
    (value) => (out.result = { at: Date.now(), value }),
    (error: Error) => (out.result = { at: Date.now(), error: error.message }),
  );
}

async function run(s: Scenario, clock: sinon.SinonFakeTimers): Promise<Outcome> {
  const out = emptyOutcome();
  const budget = s.budget === undefined ? undefined : scriptedBudget(s.budget, out);
  const policy = new HedgePolicy({ delay: s.delay, maxHedges: s.maxHedges, budget });
  recordEvents(policy, out);
  makeCall(s, policy, out);
  await clock.tickAsync(5_000);
  return out;
}

/** One policy's calls, each starting `offset` ms in: they share its delay queue and its budget. */
interface Crowd {
  readonly delay: number;
  readonly maxHedges: number;
  /** Every withdrawal gets this answer (undefined: no budget), so the calls' order does not matter. */
  readonly answer: Answer | undefined;
  readonly calls: readonly { readonly offset: number; readonly call: Scenario }[];
}

/** The model of each call, moved to its start time. */
function crowdModel(crowd: Crowd): { calls: Outcome[]; shared: Outcome } {
  const shared = emptyOutcome();
  const calls = crowd.calls.map(({ offset, call }) => {
    const answers =
      crowd.answer === undefined ? undefined : [crowd.answer, crowd.answer, crowd.answer];
    const alone = model({
      ...call,
      delay: crowd.delay,
      maxHedges: crowd.maxHedges,
      budget: answers,
    });
    const at = (t: number) => t + offset;
    shared.events.push(...alone.events.map((e) => e.replace(/^\d+/, (t) => String(at(Number(t))))));
    shared.withdrawals.push(...alone.withdrawals.map(at));
    shared.deposits += alone.deposits;
    return {
      ...alone,
      starts: alone.starts.map(([k, t]): [number, number] => [k, at(t)]),
      result: alone.result && { ...alone.result, at: at(alone.result.at) },
      aborts: alone.aborts.map((a): [number, string] | undefined => a && [at(a[0]), a[1]]),
    };
  });
  return { calls, shared };
}

async function runCrowd(
  crowd: Crowd,
  clock: sinon.SinonFakeTimers,
): Promise<{ calls: Outcome[]; shared: Outcome }> {
  const shared = emptyOutcome();
  const always = crowd.answer;
  const budget =
    always === undefined ? undefined : scriptedBudget(Array<Answer>(64).fill(always), shared);
  const policy = new HedgePolicy({ delay: crowd.delay, maxHedges: crowd.maxHedges, budget });
  recordEvents(policy, shared);
  const calls = crowd.calls.map(({ offset, call }) => {
    const out = emptyOutcome();
    setTimeout(() => makeCall(call, policy, out), offset);
    return out;
  });
  await clock.tickAsync(6_000);
  return { calls, shared };
}

const attempt: fc.Arbitrary<Attempt> = fc.record({
  ms: fc
    .tuple(fc.integer({ min: 0, max: 40 }), fc.constantFrom(2, 3, 7, 8))
    .map(([tens, units]) => tens * 10 + units),
  outcome: fc.constantFrom('ok', 'ok', 'fail', 'throw'),
  obeys: fc.boolean(),
});

const answer: fc.Arbitrary<Answer> = fc.oneof(
  fc.record({ kind: fc.constantFrom('yes', 'yes', 'no', 'throw') }),
  fc.record({
    kind: fc.constant('later' as const),
    ms: fc.integer({ min: 1, max: 5 }).map((tens) => tens * 10),
    granted: fc.constantFrom(true, true, false, 'reject' as const),
  }),
);

const scenario: fc.Arbitrary<Scenario> = fc.integer({ min: 1, max: 3 }).chain((maxHedges) =>
  fc.record({
    delay: fc.integer({ min: 1, max: 15 }).map((tens) => tens * 10),
    maxHedges: fc.constant(maxHedges),
    attempts: fc.array(attempt, { minLength: maxHedges + 1, maxLength: maxHedges + 1 }),
    abort: fc.oneof(
      { weight: 3, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.constant('before' as const) },
      { weight: 3, arbitrary: fc.integer({ min: 0, max: 40 }).map((tens) => tens * 10 + 5) },
    ),
    budget: fc.option(fc.array(answer, { maxLength: 3 }), { nil: undefined }),
    viaFunction: fc.boolean(),
  }),
);

const crowd: fc.Arbitrary<Crowd> = fc.integer({ min: 1, max: 3 }).chain((maxHedges) =>
  fc.record({
    delay: fc.integer({ min: 1, max: 15 }).map((tens) => tens * 10),
    maxHedges: fc.constant(maxHedges),
    answer: fc.option(answer, { nil: undefined }),
    calls: fc.array(
      fc.record({
        offset: fc.integer({ min: 0, max: 30 }).map((tens) => tens * 10),
        call: fc.record({
          delay: fc.constant(0),
          maxHedges: fc.constant(maxHedges),
          attempts: fc.array(attempt, { minLength: maxHedges + 1, maxLength: maxHedges + 1 }),
          abort: fc.oneof(
            { weight: 4, arbitrary: fc.constant(undefined) },
            { weight: 1, arbitrary: fc.constant('before' as const) },
            { weight: 2, arbitrary: fc.integer({ min: 0, max: 40 }).map((tens) => tens * 10 + 5) },
          ),
          budget: fc.constant(undefined),
          viaFunction: fc.boolean(),
        }),
      }),
      { minLength: 2, maxLength: 5 },
    ),
  }),
);

describe('hedge (property)', () => {
  const harness = useFakeClockCatchingUnhandled();
  const { unhandled } = harness;

  it('starts, wins, fails, aborts and emits as the model says, and leaves nothing behind', async () => {
    const { clock } = harness;
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        clock.reset();
        unhandled.length = 0;
        const expected = model(s);
        const actual = await run(s, clock);
        expect(actual.starts, 'attempts started').to.deep.equal(expected.starts);
        expect(actual.result, 'the call').to.deep.equal(expected.result);
        expect(actual.events, 'events').to.deep.equal(expected.events);
        expect(actual.withdrawals, 'withdrawals').to.deep.equal(expected.withdrawals);
        expect(actual.deposits, 'deposits').to.equal(expected.deposits);
        // The model says when each signal must have aborted and why; a signal it leaves alone may still abort
        // later for a reason of no consequence (its attempt already ended), but never the winner's.
        expected.aborts.forEach((abort, k) => {
          if (abort !== undefined)
            expect(actual.aborts[k], `attempt ${k}'s signal`).to.deep.equal(abort);
        });
        if (expected.result?.value !== undefined)
          expect(actual.aborts[expected.result.value], "the winner's signal").to.equal(undefined);
        await Promise.resolve();
        expect(unhandled, 'unhandled rejections').to.deep.equal([]);
        expect(clock.countTimers(), 'timers left').to.equal(0);
      }),
      { numRuns: 500 },
    );
  });

  it('keeps calls that share a policy (its delay queue, its budget) as independent as the model says', async () => {
    const { clock } = harness;
    await fc.assert(
      fc.asyncProperty(crowd, async (c) => {
        clock.reset();
        unhandled.length = 0;
        const expected = crowdModel(c);
        const actual = await runCrowd(c, clock);
        expected.calls.forEach((call, i) => {
          const got = actual.calls[i];
          expect(got.starts, `call ${i}: attempts started`).to.deep.equal(call.starts);
          expect(got.result, `call ${i}`).to.deep.equal(call.result);
          call.aborts.forEach((abort, k) => {
            if (abort !== undefined)
              expect(got.aborts[k], `call ${i}: attempt ${k}'s signal`).to.deep.equal(abort);
          });
        });
        const byTime = (a: string, b: string) => parseInt(a) - parseInt(b) || a.localeCompare(b);
        expect(actual.shared.events.sort(byTime), 'events').to.deep.equal(
          expected.shared.events.sort(byTime),
        );
        expect(
          actual.shared.withdrawals.sort((a, b) => a - b),
          'withdrawals',
        ).to.deep.equal(expected.shared.withdrawals.sort((a, b) => a - b));
        expect(actual.shared.deposits, 'deposits').to.equal(expected.shared.deposits);
        await Promise.resolve();
        expect(unhandled, 'unhandled rejections').to.deep.equal([]);
        expect(clock.countTimers(), 'timers left').to.equal(0);
      }),
      { numRuns: 300 },
    );
  });
});

/**
 * The estimator as documented, on a plain array: the nearest-rank quantile of the last 128 latencies, sorted
 * again at the first read after 16 new ones (so a read sees the window as it was at that sort).
 */
class QuantileModel {
  readonly history: number[] = [];
  private snapshot: number[] = [];
  private sinceSort = Infinity;

  constructor(private readonly quantile: number) {}

  record(ms: number): void {
    this.history.push(ms);
    this.sinceSort++;
  }

  value(): number {
    if (this.history.length === 0) return NaN;
    if (this.sinceSort >= 16) {
      this.snapshot = this.history.slice(-128).sort((a, b) => a - b);
      this.sinceSort = 0;
    }
    const rank = Math.ceil(this.quantile * this.snapshot.length) - 1;
    return this.snapshot[Math.min(this.snapshot.length - 1, Math.max(0, rank))];
  }
}

describe('hedge with a quantile delay (property)', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => (clock = sinon.useFakeTimers({ now: 0 })));
  afterEach(() => clock.restore());

  it('reads the quantile of the recent window, as a sorted array of it says', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 99 }),
        fc.array(fc.option(fc.integer({ min: 0, max: 5_000 }), { nil: undefined }), {
          maxLength: 400,
        }),
        (percent, ops) => {
          const estimator = new LatencyQuantile(percent / 100);
          const reference = new QuantileModel(percent / 100);
          for (const op of ops) {
            if (op === undefined) expect(estimator.value()).to.deep.equal(reference.value());
            else {
              estimator.record(op);
              reference.record(op);
            }
            expect(estimator.size).to.equal(Math.min(128, reference.history.length));
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('waits fallbackDelay until minSamples successes, then the quantile of the winners’ latencies', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<`p${number}`>('p50', 'p90', 'p95', 'p99'),
        fc.integer({ min: 1, max: 30 }),
        fc.option(fc.integer({ min: 1, max: 300 }), { nil: undefined }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 400 }), fc.integer({ min: 1, max: 400 })), {
          minLength: 1,
          maxLength: 60,
        }),
        async (delay, minSamples, fallbackDelay, calls) => {
          clock.reset();
          const policy = new HedgePolicy({ delay, minSamples, fallbackDelay, maxHedges: 1 });
          const events: string[] = [];
          policy.events.on('hedge', ({ delay: waited }) =>
            events.push(`${Date.now()} hedge ${waited}`),
          );
          const reference = new QuantileModel(Number(delay.slice(1)) / 100);
          for (const [first, second] of calls) {
            const start = Date.now();
            // The policy reads its delay when a call starts (a sort may happen then, not before).
            const expected =
              reference.history.length < minSamples
                ? (fallbackDelay ?? Infinity)
                : Math.ceil(reference.value());
            let attempts = 0;
            const result = observe(
              policy.execute(() => {
                const latency = attempts++ === 0 ? first : second;
                return new Promise<number>((resolve) =>
                  setTimeout(() => resolve(latency), latency),
                );
              }),
            );
            events.length = 0;
            // The first attempt's timer is older than the hedge's: at a tie the attempt answers first.
            const hedged = expected < first;
            const winner = hedged && expected + second < first ? second : first;
            await clock.tickAsync(hedged ? Math.min(first, expected + second) : first);
            expect(result.value, 'the winner').to.equal(winner);
            expect(events, 'the hedge').to.deep.equal(
              hedged ? [`${start + expected} hedge ${expected}`] : [],
            );
            reference.record(winner);
          }
          await clock.tickAsync(1_000);
          expect(clock.countTimers(), 'timers left').to.equal(0);
        },
      ),
      { numRuns: 100 },
    );
  });
});
