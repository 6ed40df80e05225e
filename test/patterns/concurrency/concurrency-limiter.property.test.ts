// ConcurrencyLimiter against a reference model written from its promise: at most `limit` calls hold a permit,
// waiters start in arrival order as soon as a permit is free, a call beyond `maxQueue` waiters or past `maxWait`
// (the limiter's, or the call's own when shorter) is refused with ConcurrencyLimitError, a waiter whose signal
// aborts leaves at once with the reason, and so does
// a waiter whose enclosing timeout gives up. A running call whose caller's signal aborts ends at once for its
// caller too, but keeps its permit until its work ends (an acquired permit is the caller's to release).
//
// Times are chosen so that no two different kinds of event share a millisecond (ties would leave the order
// to the timer implementation): arrivals fall on whole seconds, a permit is freed at a residue of at most 325
// ms (each call's duration adds its own small offset), maxWait expiries at residue 500 (a call's own at 600),
// aborts at 700 and enclosing timeouts at 850.
import { expect } from 'chai';
import fc from 'fast-check';
import {
  ConcurrencyLimitError,
  ConcurrencyLimiter,
  TimeoutError,
  runWithTimeout,
} from '../../../src/index.js';
import { useFakeClock } from '../../support/fake-clock.js';

interface CallSpec {
  readonly arrival: number;
  readonly duration: number;
  readonly fails: boolean;
  /** 'before': the signal is aborted before the call; a number: ms after arrival; undefined: never. */
  readonly abort: 'before' | number | undefined;
  /** Taken through acquire() and released by hand, rather than run(). */
  readonly viaAcquire: boolean;
  /** The call runs inside runWithTimeout with this budget. */
  readonly within: number | undefined;
  /** The call's own maxWait. */
  readonly maxWait: number | undefined;
}

interface Settings {
  readonly limit: number;
  readonly maxQueue: number;
  readonly maxWait: number;
}

/** What happened to a call: when its work ran (if it did), and how and when its caller's promise settled. */
interface Outcome {
  work?: { start: number; end: number };
  caller: { kind: 'ok' | 'failed' | 'refused' | 'aborted' | 'timeout'; at: number };
}

/** The promise as a discrete-event simulation. */
function model(calls: readonly CallSpec[], { limit, maxQueue, maxWait }: Settings): Outcome[] {
  const outcomes: Partial<Outcome>[] = calls.map(() => ({}));
  type Kind = 'arrive' | 'free' | 'expire' | 'abort' | 'deadline';
  const events: { at: number; kind: Kind; id: number }[] = calls.map((call, id) => ({
    at: call.arrival,
    kind: 'arrive',
    id,
  }));
  const queue: number[] = [];
  let active = 0;
  const settle = (id: number, kind: Outcome['caller']['kind'], at: number) => {
    outcomes[id].caller ??= { kind, at };
  };
  const start = (id: number, at: number) => {
    active++;
    const call = calls[id];
    outcomes[id].work = { start: at, end: at + call.duration };
    events.push({ at: at + call.duration, kind: 'free', id });
  };
  const leave = (id: number, at: number, kind: 'refused' | 'aborted' | 'timeout') => {
    const index = queue.indexOf(id);
    if (index === -1) return;
    queue.splice(index, 1);
    settle(id, kind, at);
  };
  while (events.length > 0) {
    events.sort((a, b) => a.at - b.at);
    const { at, kind, id } = events.shift()!;
    const call = calls[id];
    if (kind === 'arrive') {
      const wait = Math.min(maxWait, call.maxWait ?? Infinity);
      if (call.abort === 'before') settle(id, 'aborted', at);
      else if (queue.length === 0 && active < limit) start(id, at);
      else if (queue.length >= maxQueue || wait === 0) settle(id, 'refused', at);
      else {
        queue.push(id);
        if (wait !== Infinity) events.push({ at: at + wait, kind: 'expire', id });
      }
      if (typeof call.abort === 'number') events.push({ at: at + call.abort, kind: 'abort', id });
      if (call.within !== undefined) events.push({ at: at + call.within, kind: 'deadline', id });
    } else if (kind === 'free') {
      active--;
      settle(id, call.fails ? 'failed' : 'ok', at);
      while (queue.length > 0 && active < limit) start(queue.shift()!, at);
    } else if (kind === 'deadline') {
      if (queue.includes(id)) leave(id, at, 'timeout');
      else if (outcomes[id].work !== undefined) settle(id, 'timeout', at); // the work runs on
    } else if (kind === 'abort' && !queue.includes(id)) {
      if (outcomes[id].work !== undefined && !call.viaAcquire) settle(id, 'aborted', at);
    } else leave(id, at, kind === 'expire' ? 'refused' : 'aborted');
  }
  return outcomes as Outcome[];
}

const callSpecs = fc
  .array(
    fc.record({
      gap: fc.integer({ min: 0, max: 3 }),
      seconds: fc.integer({ min: 0, max: 4 }),
      fails: fc.boolean(),
      abort: fc.oneof(
        { arbitrary: fc.constant(undefined), weight: 3 },
        { arbitrary: fc.constant('before' as const), weight: 1 },
        { arbitrary: fc.integer({ min: 0, max: 5 }).map((s) => s * 1000 + 700), weight: 2 },
      ),
      viaAcquire: fc.boolean(),
      within: fc.oneof(
        { arbitrary: fc.constant(undefined), weight: 1 },
        { arbitrary: fc.integer({ min: 0, max: 3 }).map((s) => s * 1000 + 850), weight: 1 },
      ),
      maxWait: fc.oneof(
        { arbitrary: fc.constant(undefined), weight: 3 },
        { arbitrary: fc.constant(0), weight: 1 },
        { arbitrary: fc.integer({ min: 0, max: 4 }).map((s) => s * 1000 + 600), weight: 1 },
      ),
    }),
    { maxLength: 25 },
  )
  .map((raw) => {
    let arrival = 0;
    return raw.map(({ gap, seconds, ...rest }, id): CallSpec => ({
      arrival: (arrival += (id === 0 ? 0 : 1 + gap) * 1000),
      duration: seconds * 1000 + id + 1,
      ...rest,
    }));
  });

const settings = fc.record({
  limit: fc.integer({ min: 1, max: 4 }),
  maxQueue: fc.oneof(
    { arbitrary: fc.constant(Infinity), weight: 1 },
    { arbitrary: fc.integer({ min: 0, max: 3 }), weight: 3 },
  ),
  maxWait: fc.oneof(
    fc.constant(Infinity),
    fc.constant(0),
    fc.integer({ min: 0, max: 6 }).map((s) => s * 1000 + 500),
  ),
});

describe('ConcurrencyLimiter (model)', () => {
  const time = useFakeClock();

  it('starts, refuses and drops each call exactly when the model does, under random timing, aborts and timeouts', async () => {
    await fc.assert(
      fc.asyncProperty(callSpecs, settings, async (calls, options) => {
        const { limit, maxQueue, maxWait } = options;
        const limiter = new ConcurrencyLimiter(
          maxWait === Infinity ? { limit, maxQueue } : { limit, maxQueue, maxWait },
        );
        const seen: Partial<Outcome>[] = calls.map(() => ({}));
        const origin = Date.now();
        const clock = () => Date.now() - origin;
        const reasons = calls.map((_, id) => new Error(`call ${id} aborted`));
        const failures = calls.map((_, id) => new Error(`call ${id} failed`));
        calls.forEach((call, id) => {
          setTimeout(() => {
            const controller = new AbortController();
            const options = {
              signal: controller.signal,
              ...(call.maxWait === undefined ? {} : { maxWait: call.maxWait }),
            };
            if (call.abort === 'before') controller.abort(reasons[id]);
            else if (call.abort !== undefined)
              setTimeout(() => controller.abort(reasons[id]), call.abort);
            const work = () =>
              new Promise<void>((resolve, reject) => {
                const start = clock();
                setTimeout(() => {
                  seen[id].work = { start, end: clock() };
                  if (call.fails) reject(failures[id]);
                  else resolve();
                }, call.duration);
              });
            const limited = () =>
              call.viaAcquire
                ? limiter.acquire(options).then(async (permit) => {
                    try {
                      await work();
                    } finally {
                      permit.release();
                    }
                  })
                : limiter.run(work, options);
            const done =
              call.within === undefined ? limited() : runWithTimeout(limited, call.within);
            done.then(
              () => (seen[id].caller = { kind: 'ok', at: clock() }),
              (error: unknown) => {
                const kind =
                  error === failures[id]
                    ? 'failed'
                    : error === reasons[id]
                      ? 'aborted'
                      : error instanceof ConcurrencyLimitError
                        ? 'refused'
                        : error instanceof TimeoutError
                          ? 'timeout'
                          : undefined;
                seen[id].caller = { kind: kind ?? ('unexpected' as 'ok'), at: clock() };
              },
            );
          }, call.arrival);
        });
        await time.clock.tickAsync(200_000);
        expect(seen).to.deep.equal(model(calls, options));
        expect(limiter.active + limiter.pending).to.equal(0);
      }),
      { numRuns: 1000 },
    );
  });
});
