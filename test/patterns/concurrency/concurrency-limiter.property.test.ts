// ConcurrencyLimiter against a reference model written from its promise: at most `limit` calls hold a permit,
// waiters start in arrival order as soon as a permit is free, a call beyond `maxQueue` waiters or past `maxWait`
// is refused with ConcurrencyLimitError, and a waiter whose signal aborts leaves at once with the reason.
//
// Times are chosen so that no two different kinds of event share a millisecond (ties would leave the order
// to the timer implementation): arrivals fall on whole seconds, a permit is freed at a residue of at most 325
// ms (each call's duration adds its own small offset), maxWait expiries at residue 500 and aborts at 700.
import { expect } from 'chai';
import fc from 'fast-check';
import { ConcurrencyLimitError, ConcurrencyLimiter } from '../../../src/index.js';
import { useFakeClock } from '../../support/fake-clock.js';

interface CallSpec {
  readonly arrival: number;
  readonly duration: number;
  readonly fails: boolean;
  /** 'before': the signal is aborted before the call; a number: ms after arrival; undefined: never. */
  readonly abort: 'before' | number | undefined;
  /** Taken through acquire() and released by hand, rather than run(). */
  readonly viaAcquire: boolean;
}

interface Settings {
  readonly limit: number;
  readonly maxQueue: number;
  readonly maxWait: number;
}

type Outcome =
  | { kind: 'ran'; start: number; end: number; failed: boolean }
  | { kind: 'refused' | 'aborted'; at: number };

/** The promise as a discrete-event simulation. */
function model(calls: readonly CallSpec[], { limit, maxQueue, maxWait }: Settings): Outcome[] {
  const outcomes: Outcome[] = [];
  type Event = { at: number; kind: 'arrive' | 'free' | 'expire' | 'abort'; id: number };
  const events: Event[] = calls.map((call, id) => ({ at: call.arrival, kind: 'arrive', id }));
  const queue: number[] = [];
  let active = 0;
  const start = (id: number, at: number) => {
    active++;
    const call = calls[id];
    outcomes[id] = { kind: 'ran', start: at, end: at + call.duration, failed: call.fails };
    events.push({ at: at + call.duration, kind: 'free', id });
  };
  const leave = (id: number, at: number, kind: 'refused' | 'aborted') => {
    const index = queue.indexOf(id);
    if (index === -1) return;
    queue.splice(index, 1);
    outcomes[id] = { kind, at };
  };
  while (events.length > 0) {
    events.sort((a, b) => a.at - b.at);
    const { at, kind, id } = events.shift()!;
    const call = calls[id];
    if (kind === 'arrive') {
      if (call.abort === 'before') outcomes[id] = { kind: 'aborted', at };
      else if (queue.length === 0 && active < limit) start(id, at);
      else if (queue.length >= maxQueue || maxWait === 0) outcomes[id] = { kind: 'refused', at };
      else {
        queue.push(id);
        if (maxWait !== Infinity) events.push({ at: at + maxWait, kind: 'expire', id });
        if (call.abort !== undefined) events.push({ at: at + call.abort, kind: 'abort', id });
      }
    } else if (kind === 'free') {
      active--;
      while (queue.length > 0 && active < limit) start(queue.shift()!, at);
    } else leave(id, at, kind === 'expire' ? 'refused' : 'aborted');
  }
  return outcomes;
}

const callSpecs = fc
  .array(
    fc.record({
      gap: fc.integer({ min: 0, max: 3 }),
      seconds: fc.integer({ min: 0, max: 4 }),
      fails: fc.boolean(),
      abort: fc.oneof(
        fc.constant(undefined),
        fc.constant('before' as const),
        fc.integer({ min: 0, max: 5 }).map((s) => s * 1000 + 700),
      ),
      viaAcquire: fc.boolean(),
    }),
    { maxLength: 25 },
  )
  .map((raw) => {
    let arrival = 0;
    return raw.map(({ gap, seconds, fails, abort, viaAcquire }, id): CallSpec => ({
      arrival: (arrival += (id === 0 ? 0 : 1 + gap) * 1000),
      duration: seconds * 1000 + id + 1,
      fails,
      abort,
      viaAcquire,
    }));
  });

const settings = fc.record({
  limit: fc.integer({ min: 1, max: 4 }),
  maxQueue: fc.oneof(fc.constant(Infinity), fc.integer({ min: 0, max: 5 })),
  maxWait: fc.oneof(
    fc.constant(Infinity),
    fc.constant(0),
    fc.integer({ min: 0, max: 6 }).map((s) => s * 1000 + 500),
  ),
});

describe('ConcurrencyLimiter (model)', () => {
  const time = useFakeClock();

  it('starts, refuses and drops each call exactly when the model does, under random timing and aborts', async () => {
    await fc.assert(
      fc.asyncProperty(callSpecs, settings, async (calls, options) => {
        const { limit, maxQueue, maxWait } = options;
        const limiter = new ConcurrencyLimiter(
          maxWait === Infinity ? { limit, maxQueue } : { limit, maxQueue, maxWait },
        );
        const seen: Outcome[] = [];
        const origin = Date.now();
        const clock = () => Date.now() - origin;
        const reasons = calls.map((_, id) => new Error(`call ${id} aborted`));
        calls.forEach((call, id) => {
          setTimeout(() => {
            const controller = new AbortController();
            if (call.abort === 'before') controller.abort(reasons[id]);
            else if (call.abort !== undefined)
              setTimeout(() => controller.abort(reasons[id]), call.abort);
            const work = () =>
              new Promise<void>((resolve, reject) => {
                const start = clock();
                setTimeout(() => {
                  seen[id] = { kind: 'ran', start, end: clock(), failed: call.fails };
                  if (call.fails) reject(new Error(`call ${id} failed`));
                  else resolve();
                }, call.duration);
              });
            const done = call.viaAcquire
              ? limiter.acquire({ signal: controller.signal }).then(async (permit) => {
                  try {
                    await work();
                  } finally {
                    permit.release();
                  }
                })
              : limiter.run(work, { signal: controller.signal });
            done.catch((error: unknown) => {
              if (seen[id] !== undefined) return; // the work's own failure
              if (error instanceof ConcurrencyLimitError)
                seen[id] = { kind: 'refused', at: clock() };
              else if (error === reasons[id]) seen[id] = { kind: 'aborted', at: clock() };
              else seen[id] = { kind: 'refused', at: -1 }; // anything else is wrong
            });
          }, call.arrival);
        });
        await time.clock.tickAsync(200_000);
        expect(seen).to.deep.equal(model(calls, options));
        expect(limiter.active + limiter.pending).to.equal(0);
      }),
      { numRuns: 300 },
    );
  });
});
