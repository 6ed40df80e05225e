import { expect } from 'chai';
import fc from 'fast-check';
import {
  AdaptiveConcurrencyLimiter,
  ConcurrencyLimitError,
  withSignal,
  type AdaptiveAlgorithm,
} from '../../../../src/index.js';
import { useFakeClock } from '../../../support/fake-clock.js';

/** A call of a random stream: when it arrives, how long its work takes, whether it fails, when its caller quits. */
const call = fc.record({
  gap: fc.nat({ max: 20 }),
  ms: fc.integer({ min: 0, max: 60 }),
  fails: fc.boolean(),
  abortAfter: fc.option(fc.nat({ max: 80 }), { nil: undefined }),
});

const setup = fc.record({
  algorithm: fc.constantFrom<AdaptiveAlgorithm>('gradient', 'aimd', 'vegas'),
  initialLimit: fc.integer({ min: 1, max: 6 }),
  maxQueue: fc.oneof(fc.constant(Infinity), fc.nat({ max: 8 })),
  maxWait: fc.oneof(fc.constant(undefined), fc.integer({ min: 1, max: 100 })),
});

interface Record {
  readonly id: number;
  readonly arrived: number;
  started?: number;
  settled?: number;
  error?: unknown;
}

describe('AdaptiveConcurrencyLimiter properties', () => {
  const time = useFakeClock();

  it('never runs more than its limit, starts calls in arrival order, honours maxQueue, maxWait and signals, and settles every call', async () => {
    await fc.assert(
      fc.asyncProperty(setup, fc.array(call, { maxLength: 40 }), async (options, stream) => {
        const limiter = new AdaptiveConcurrencyLimiter({
          algorithm: options.algorithm,
          initialLimit: options.initialLimit,
          minLimit: 1,
          maxLimit: 8,
          maxQueue: options.maxQueue,
          ...(options.maxWait === undefined ? {} : { maxWait: options.maxWait }),
          ...(options.algorithm === 'aimd' ? { latencyThreshold: 30 } : {}),
        });
        const records: Record[] = [];
        const reasons = new Map<number, Error>();
        let running = 0;
        const problems: string[] = [];
        for (const [id, { gap, ms, fails, abortAfter }] of stream.entries()) {
          await time.clock.tickAsync(gap);
          const record: Record = { id, arrived: Date.now() };
          records.push(record);
          const controller = new AbortController();
          const work = async () => {
            record.started = Date.now();
            if (++running > limiter.limit) problems.push(`call ${id} ran beyond the limit`);
            await new Promise((resolve) => setTimeout(resolve, ms));
            running--;
            if (fails) throw new Error(`call ${id} failed`);
          };
          withSignal(controller.signal, () => limiter.run(work)).then(
            () => (record.settled = Date.now()),
            (error: unknown) => {
              record.settled = Date.now();
              record.error = error;
            },
          );
          if (limiter.pending > options.maxQueue) problems.push(`queue beyond maxQueue at ${id}`);
          if (abortAfter !== undefined)
            setTimeout(() => {
              const reason = new Error(`caller of ${id} left`);
              reasons.set(id, reason);
              controller.abort(reason);
            }, abortAfter);
        }
        await time.clock.tickAsync(10_000);
        expect(problems).to.deep.equal([]);
        expect(records.every((r) => r.settled !== undefined)).to.equal(true);
        expect(limiter.active).to.equal(0);
        expect(limiter.pending).to.equal(0);
        const starts = records.filter((r) => r.started !== undefined);
        expect(starts.map((r) => r.id)).to.deep.equal(
          [...starts].sort((a, b) => a.started! - b.started! || a.id - b.id).map((r) => r.id),
        );
        for (const r of records) {
          const waited = (r.started ?? r.settled!) - r.arrived;
          if (options.maxWait !== undefined) expect(waited).to.be.at.most(options.maxWait);
          if (
            r.error instanceof ConcurrencyLimitError &&
            r.started === undefined &&
            /No permit within/.test(r.error.message)
          )
            expect(waited).to.equal(options.maxWait);
          // A caller who left while its call waited got its reason at once, and the work never ran.
          const reason = reasons.get(r.id);
          if (reason === undefined) continue;
          const leftAt = r.arrived + stream[r.id].abortAfter!;
          if (r.started === undefined || r.started > leftAt) {
            expect(r.started).to.equal(undefined);
            expect(r.settled).to.be.at.most(leftAt);
          }
        }
      }),
      { numRuns: 150 },
    );
  });
});
