// A work function may return any thenable, not only a native promise. One whose then() throws must reject the
// call with that error at once, and leave nothing behind that rejects later unobserved.
import { expect } from 'chai';
import {
  CircuitBreaker,
  ConcurrencyLimiter,
  RateLimiter,
  RetryPolicy,
  Timeout,
  runWithTimeout,
} from '../../src/index.js';
import { useFakeClock } from '../support/fake-clock.js';

const brokenThenable = (): PromiseLike<never> => ({
  then() {
    throw new Error('then() threw');
  },
});

describe('reliability: thenables whose then() throws', () => {
  const time = useFakeClock();
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);
  beforeEach(() => {
    unhandled.length = 0;
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(() => void process.off('unhandledRejection', onUnhandled));

  const entries: [string, () => Promise<unknown>][] = [
    ['runWithTimeout given the thenable', () => runWithTimeout(brokenThenable(), 20)],
    ['runWithTimeout given a function', () => runWithTimeout(() => brokenThenable(), 20)],
    ['Timeout.run', () => new Timeout(20).run(() => brokenThenable())],
    ['CircuitBreaker.protect', () => new CircuitBreaker().protect(brokenThenable)],
    ['RetryPolicy.execute', () => new RetryPolicy({ maxAttempts: 1 }).execute(brokenThenable)],
    ['RateLimiter.run', () => new RateLimiter({ rate: 1 }).run(brokenThenable)],
    ['ConcurrencyLimiter.run', () => new ConcurrencyLimiter(1).run(brokenThenable)],
  ];
  for (const [name, call] of entries) {
    it(`${name}: rejects with the error of then(), and nothing rejects later`, async () => {
      let error: unknown;
      expect(() => {
        call().catch((e: unknown) => (error = e));
      }).not.to.throw();
      await time.clock.tickAsync(100);
      expect((error as Error | undefined)?.message).to.equal('then() threw');
      expect(unhandled).to.deep.equal([]);
    });
  }
});
