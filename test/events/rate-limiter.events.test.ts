import { expect } from 'chai';
import { RateLimitExceededError, RateLimiter } from '../../src/index.js';
import { observe, useFakeClock } from '../support/fake-clock.js';
import { bothWays, expectBoth } from './both-ways.js';

describe('events: rate limiter', () => {
  const time = useFakeClock();

  it('emits throttled with the tokens and the estimated wait of each call that queues', async () => {
    const seen = await bothWays<RateLimiter>(
      'rateLimiter',
      'throttled',
      { rate: 10, per: '1s' },
      async (limiter) => {
        await limiter.acquire(10);
        const queued = [observe(limiter.acquire(2)), observe(limiter.acquire(1))];
        await time.clock.tickAsync(300);
        expect(queued.every((call) => call.settled)).to.equal(true);
      },
    );
    expectBoth(seen, 'rateLimiter', [
      { tokens: 2, waitMs: 200 },
      { tokens: 1, waitMs: 300 },
    ]);
  });

  it('emits rejected with the tokens and the wait that exceeded maxWait', async () => {
    const seen = await bothWays<RateLimiter>(
      'rateLimiter',
      'rejected',
      { rate: 10, per: '1s' },
      async (limiter) => {
        await limiter.acquire(10);
        const refused = observe(limiter.run(() => 'late', { tokens: 5, maxWait: 100 }));
        await time.clock.tickAsync(0);
        expect(refused.error).to.be.instanceOf(RateLimitExceededError);
      },
    );
    expectBoth(seen, 'rateLimiter', [{ tokens: 5, retryAfter: 500 }]);
  });

  it('emits rejected when tryAcquire finds too few tokens', async () => {
    const seen = await bothWays<RateLimiter>(
      'rateLimiter',
      'rejected',
      { rate: 10, per: '1s' },
      async (limiter) => {
        await limiter.acquire(10);
        expect(await limiter.tryAcquire()).to.equal(false);
      },
    );
    expectBoth(seen, 'rateLimiter', [{ tokens: 1, retryAfter: 100 }]);
  });
});
