import { expect } from 'chai';
import fc from 'fast-check';
import sinon from 'sinon';
import { RateLimiter } from '../../../src/index.js';

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
