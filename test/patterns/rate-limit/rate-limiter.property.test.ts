import { expect } from 'chai';
import fc from 'fast-check';
import sinon from 'sinon';
import {
  MemoryTokenBucketStore,
  RateLimitExceededError,
  RateLimiter,
  Timeout,
  TimeoutError,
  type TokenBucketStore,
} from '../../../src/index.js';

interface Grant {
  at: number;
  tokens: number;
}

/** The most tokens granted inside any window [a, b] of the grants, compared with what the bucket allows. */
function worstExcess(grants: Grant[], capacity: number, rate: number, per: number): number {
  const sorted = [...grants].sort((x, y) => x.at - y.at);
  let worst = -Infinity;
  for (let i = 0; i < sorted.length; i++) {
    let sum = 0;
    for (let j = i; j < sorted.length; j++) {
      sum += sorted[j].tokens;
      const window = sorted[j].at - sorted[i].at;
      worst = Math.max(worst, sum - (capacity + (rate * window) / per));
    }
  }
  return worst;
}

const operation = fc.record({
  kind: fc.constantFrom('acquire', 'tryAcquire', 'run', 'abortedAcquire', 'maxWaitAcquire'),
  tokens: fc.integer({ min: 1, max: 1_000 }),
  // Clock advance after the operation, as a fraction of `per`.
  advance: fc.double({ min: 0, max: 1.5, noNaN: true }),
});

describe('RateLimiter (properties)', () => {
  it('never grants more than capacity + rate × T / per tokens in any window of length T', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constantFrom(0.5, 2.5, 1 / 3)),
        fc.constantFrom(100, 1_000, 60_000),
        fc.integer({ min: 0, max: 20 }),
        fc.array(operation, { maxLength: 40 }),
        async (rate, per, extraCapacity, operations) => {
          const clock = sinon.useFakeTimers({ now: 0 });
          try {
            const capacity = Math.max(1, rate) + extraCapacity;
            const limiter = new RateLimiter({ rate, per, capacity });
            const grants: Grant[] = [];
            const record = (tokens: number) => () => void grants.push({ at: Date.now(), tokens });
            let queued = 0;
            for (const op of operations) {
              const tokens = 1 + (op.tokens % Math.floor(capacity));
              queued += tokens;
              if (op.kind === 'tryAcquire') {
                if (await limiter.tryAcquire(tokens)) record(tokens)();
              } else if (op.kind === 'run') {
                void limiter.run(record(tokens), { tokens });
              } else if (op.kind === 'abortedAcquire') {
                const controller = new AbortController();
                limiter
                  .acquire(tokens, { signal: controller.signal })
                  .then(record(tokens), () => undefined);
                setTimeout(() => controller.abort(new Error('gone')), (op.advance * per) / 2);
              } else if (op.kind === 'maxWaitAcquire') {
                limiter.acquire(tokens, { maxWait: per / 2 }).then(record(tokens), () => undefined);
              } else {
                void limiter.acquire(tokens).then(record(tokens));
              }
              await clock.tickAsync(Math.floor(op.advance * per));
            }
            await clock.tickAsync(Math.ceil((queued * per) / rate) + per);
            expect(limiter.pending).to.equal(0);
            expect(worstExcess(grants, capacity, rate, per)).to.be.at.most(1e-6);
          } finally {
            clock.restore();
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// The limiter against a reference model of its promise: a bucket that starts full and refills continuously;
// waiters served first come, first served as soon as the head's tokens are there; tryAcquire never waits, is
// refused while anyone waits, and consumes nothing when refused; a call whose wait would exceed maxWait is
// refused at once; a waiter whose signal aborts, or whose enclosing timeout expires, leaves at once.
//
// With `per` 1000 ms and a rate that divides it into a multiple of 4 ms per token, and arrivals 4 ms apart,
// every grant falls on a multiple of 4 ms. Aborts fall 1 ms past one, enclosing timeouts 3 ms past one, and
// maxWait is odd: no two kinds of event share a millisecond, and no wait ties with a maxWait.

interface LimiterOp {
  readonly arrival: number;
  readonly kind: 'acquire' | 'run' | 'tryAcquire';
  readonly tokens: number;
  readonly maxWait: number | undefined;
  readonly abort: 'before' | number | undefined;
  readonly within: number | undefined;
}

type LimiterOutcome =
  | { kind: 'granted' | 'refused' | 'aborted' | 'timeout'; at: number }
  | { kind: 'try'; answer: boolean };

function modelLimiter(ops: readonly LimiterOp[], capacity: number, msPerToken: number) {
  const outcomes: (LimiterOutcome | undefined)[] = ops.map(() => undefined);
  // The bucket in token-milliseconds, so that every quantity is an integer.
  const full = capacity * msPerToken;
  let level = full;
  let levelAt = 0;
  const held = (t: number) => Math.min(full, level + (t - levelAt));
  const take = (tokens: number, t: number): number => {
    const missing = tokens * msPerToken - held(t);
    if (missing > 0) return missing;
    level = held(t) - tokens * msPerToken;
    levelAt = t;
    return 0;
  };
  type Event = { at: number; kind: 'arrive' | 'abort' | 'deadline' | 'timer'; id: number };
  const events: Event[] = ops.map((op, id) => ({ at: op.arrival, kind: 'arrive', id }));
  const queue: number[] = [];
  let headReadyAt = 0;
  let timer: Event | undefined;
  const settle = (id: number, outcome: LimiterOutcome) => (outcomes[id] ??= outcome);
  const pump = (t: number) => {
    if (timer) events.splice(events.indexOf(timer), 1);
    timer = undefined;
    while (queue.length > 0) {
      const head = queue[0];
      const wait = take(ops[head].tokens, t);
      if (wait > 0) {
        headReadyAt = t + wait;
        timer = { at: headReadyAt, kind: 'timer', id: head };
        events.push(timer);
        return;
      }
      queue.shift();
      settle(head, { kind: 'granted', at: t });
    }
  };
  const leave = (id: number, t: number, outcome: LimiterOutcome) => {
    const index = queue.indexOf(id);
    if (index === -1) return;
    queue.splice(index, 1);
    settle(id, outcome);
    if (index === 0) pump(t);
  };
  while (events.length > 0) {
    events.sort((a, b) => a.at - b.at);
    const event = events.shift()!;
    const { at: t, id } = event;
    const op = ops[id];
    if (event.kind === 'timer') {
      timer = undefined;
      pump(t);
    } else if (event.kind === 'abort') leave(id, t, { kind: 'aborted', at: t });
    else if (event.kind === 'deadline') {
      leave(id, t, { kind: 'timeout', at: t });
    } else if (op.kind === 'tryAcquire') {
      settle(id, { kind: 'try', answer: queue.length === 0 && take(op.tokens, t) === 0 });
    } else if (op.abort === 'before') {
      settle(id, { kind: 'aborted', at: t });
    } else {
      let wait: number;
      if (queue.length > 0) {
        const behindHead = queue.slice(1).reduce((sum, q) => sum + ops[q].tokens, 0);
        wait = Math.max(0, headReadyAt - t) + (behindHead + op.tokens) * msPerToken;
      } else {
        wait = take(op.tokens, t);
        if (wait === 0) {
          settle(id, { kind: 'granted', at: t });
          continue;
        }
      }
      if (op.maxWait !== undefined && wait > op.maxWait) {
        settle(id, { kind: 'refused', at: t });
        continue;
      }
      queue.push(id);
      if (queue.length === 1) {
        headReadyAt = t + wait;
        timer = { at: headReadyAt, kind: 'timer', id };
        events.push(timer);
      }
      if (op.abort !== undefined) events.push({ at: t + op.abort, kind: 'abort', id });
      if (op.within !== undefined) events.push({ at: t + op.within, kind: 'deadline', id });
    }
  }
  return outcomes;
}

const limiterOps = fc
  .array(
    fc.record({
      gap: fc.integer({ min: 1, max: 200 }),
      kind: fc.constantFrom<LimiterOp['kind']>('acquire', 'run', 'tryAcquire'),
      tokens: fc.integer({ min: 1, max: 1_000 }),
      maxWait: fc.option(
        fc.integer({ min: 0, max: 3_000 }).map((n) => 2 * n + 1),
        { nil: undefined },
      ),
      abort: fc.oneof(
        { arbitrary: fc.constant(undefined), weight: 4 },
        { arbitrary: fc.constant('before' as const), weight: 1 },
        { arbitrary: fc.integer({ min: 0, max: 1_000 }).map((n) => 4 * n + 1), weight: 2 },
      ),
      within: fc.option(
        fc.integer({ min: 0, max: 1_000 }).map((n) => 4 * n + 3),
        { nil: undefined },
      ),
    }),
    { maxLength: 30 },
  )
  .map((raw) => {
    let arrival = 0;
    return raw.map(({ gap, ...op }) => ({ ...op, arrival: (arrival += 4 * gap) }));
  });

describe('RateLimiter (model)', () => {
  it('grants, refuses and drops every call exactly when the model does', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(1, 2, 5, 10, 25, 50),
        fc.integer({ min: 0, max: 5 }),
        fc.boolean(),
        limiterOps,
        async (rate, extra, belowRate, rawOps) => {
          const clock = sinon.useFakeTimers({ now: 0 });
          try {
            const capacity = belowRate ? Math.max(1, Math.floor(rate / 2)) : rate + extra;
            const ops = rawOps.map((op) => ({ ...op, tokens: 1 + (op.tokens % capacity) }));
            const limiter = new RateLimiter({ rate, per: 1000, capacity });
            const seen: (LimiterOutcome | undefined)[] = ops.map(() => undefined);
            ops.forEach((op, id) => {
              setTimeout(() => {
                const at = () => Date.now();
                if (op.kind === 'tryAcquire') {
                  void limiter.tryAcquire(op.tokens).then((answer) => {
                    seen[id] = { kind: 'try', answer };
                  });
                  return;
                }
                const reason = new Error(`call ${id} aborted`);
                const controller = new AbortController();
                if (op.abort === 'before') controller.abort(reason);
                else if (op.abort !== undefined)
                  setTimeout(() => controller.abort(reason), op.abort);
                const options = {
                  signal: controller.signal,
                  ...(op.maxWait === undefined ? {} : { maxWait: op.maxWait }),
                };
                const call = (): Promise<unknown> =>
                  op.kind === 'run'
                    ? limiter.run(() => (seen[id] = { kind: 'granted', at: at() }), {
                        ...options,
                        tokens: op.tokens,
                      })
                    : limiter
                        .acquire(op.tokens, options)
                        .then(() => (seen[id] = { kind: 'granted', at: at() }));
                const done = op.within === undefined ? call() : new Timeout(op.within).run(call);
                done.catch((error: unknown) => {
                  seen[id] ??= {
                    kind:
                      error === reason
                        ? 'aborted'
                        : error instanceof RateLimitExceededError
                          ? 'refused'
                          : error instanceof TimeoutError
                            ? 'timeout'
                            : ('unexpected' as 'refused'),
                    at: at(),
                  };
                });
              }, op.arrival);
            });
            await clock.tickAsync((ops.at(-1)?.arrival ?? 0) + 40 * 1000 * 30);
            expect(seen).to.deep.equal(modelLimiter(ops, capacity, 1000 / rate));
            expect(limiter.pending).to.equal(0);
          } finally {
            clock.restore();
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('RateLimiter over a store that answers later (properties)', () => {
  it('never runs a call after its caller gave up, and leaves nobody queued', async () => {
    const call = fc.record({
      gap: fc.integer({ min: 0, max: 50 }),
      tokens: fc.integer({ min: 1, max: 3 }),
      abortAfter: fc.option(fc.integer({ min: 0, max: 400 }), { nil: undefined }),
      kind: fc.constantFrom('run', 'acquire', 'inTimeout'),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 8 }),
        fc.array(call, { maxLength: 25 }),
        async (latencies, calls) => {
          const clock = sinon.useFakeTimers({ now: 0 });
          try {
            // A shared store's answers come after a round trip of varying length.
            const inner = new MemoryTokenBucketStore();
            let taken = 0;
            const store: TokenBucketStore = {
              take: (tokens, _now, bucket) =>
                new Promise((resolve) =>
                  setTimeout(
                    () => resolve(inner.take(tokens, Date.now(), bucket)),
                    latencies[taken++ % latencies.length],
                  ),
                ),
            };
            const limiter = new RateLimiter({ rate: 5, per: 100, capacity: 3, store });
            const late: number[] = [];
            let arrival = 0;
            calls.forEach((c, id) => {
              arrival += c.gap;
              setTimeout(() => {
                const controller = new AbortController();
                let gaveUp = Infinity;
                if (c.abortAfter !== undefined)
                  setTimeout(() => {
                    gaveUp = Date.now();
                    controller.abort(new Error('gone'));
                  }, c.abortAfter);
                const ran = () => {
                  if (Date.now() >= gaveUp) late.push(id);
                };
                const work =
                  c.kind === 'run'
                    ? limiter.run(ran, { tokens: c.tokens, signal: controller.signal })
                    : c.kind === 'acquire'
                      ? limiter.acquire(c.tokens, { signal: controller.signal }).then(ran)
                      : new Timeout(c.abortAfter ?? 10_000).run(() =>
                          limiter.run(ran, { tokens: c.tokens }),
                        );
                work.catch(() => undefined);
              }, arrival);
            });
            await clock.tickAsync(arrival + 60_000);
            expect(late).to.deep.equal([]);
            expect(limiter.pending).to.equal(0);
          } finally {
            clock.restore();
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
