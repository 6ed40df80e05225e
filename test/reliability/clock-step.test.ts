import { expect } from 'chai';
import {
  CircuitBreaker,
  ConcurrencyLimiter,
  HedgePolicy,
  RateLimiter,
  RetryBudget,
  runWithTimeout,
} from '../../src/index.js';
import { observe, useFakeClock } from '../support/fake-clock.js';

/*
 * The wall clock steps back (an NTP correction, a test's setSystemTime into the past). No engine may stand still
 * until the clock catches up with where it was: from the first time it reads the clock after the step, each goes
 * on from the time it reads, gaining nothing by the step.
 */
describe('a wall clock that steps back an hour', () => {
  const time = useFakeClock(1_700_000_000_000);
  const stepBack = () => time.clock.setSystemTime(Date.now() - 3_600_000);

  it('leaves an open circuit open for its own timeout, not for the hour', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, timeout: '1s' });
    await breaker.protect(() => Promise.reject(new Error('down'))).catch(() => undefined);
    stepBack();
    expect(breaker.state).to.equal('open');
    await time.clock.tickAsync(1_000);
    expect(await breaker.protect(async () => 'trial')).to.equal('trial');
  });

  it('goes on refilling a rate limiter’s bucket', async () => {
    const limiter = new RateLimiter({ rate: 10, per: '1s' });
    for (let i = 0; i < 10; i++) await limiter.acquire();
    stepBack();
    expect(limiter.available).to.equal(0);
    await time.clock.tickAsync(500);
    expect(limiter.available).to.equal(5);
    const waiting = observe(limiter.acquire(6));
    await time.clock.tickAsync(100);
    expect(waiting.settled).to.equal(true);
  });

  it('goes on sliding a retry budget’s window', async () => {
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 1, window: '10s' });
    while (budget.withdraw()) {
      /* spend the 10 retries of the window */
    }
    stepBack();
    expect(budget.withdraw()).to.equal(false);
    await time.clock.tickAsync(11_000);
    expect(budget.withdraw()).to.equal(true);
  });

  const hang = () => new Promise<never>(() => {});

  it('times out a call in flight, and one started after the step, after their own timeout', async () => {
    const before = observe(runWithTimeout(hang, 5_000));
    await time.clock.tickAsync(1_000);
    stepBack();
    const after = observe(runWithTimeout(hang, 5_000));
    // The queue of deadlines notices the step the next time it reads the clock, at most 100 ms later.
    await time.clock.tickAsync(4_100);
    expect(before.error).to.have.property('name', 'TimeoutError');
    expect(after.settled).to.equal(false);
    await time.clock.tickAsync(900);
    expect(after.error).to.have.property('name', 'TimeoutError');
  });

  it('ends a concurrency limiter’s waits after its maxWait', async () => {
    const limiter = new ConcurrencyLimiter({ limit: 1, maxWait: '2s' });
    void limiter.run(hang);
    const before = observe(limiter.run(async () => 'served'));
    await time.clock.tickAsync(1_000);
    stepBack();
    const after = observe(limiter.run(async () => 'served'));
    await time.clock.tickAsync(1_100);
    expect(before.error).to.have.property('name', 'ConcurrencyLimitError');
    expect(after.settled).to.equal(false);
    await time.clock.tickAsync(900);
    expect(after.error).to.have.property('name', 'ConcurrencyLimitError');
  });

  it('sends hedges after their delay, for calls in flight and calls started after the step', async () => {
    const hedged = new HedgePolicy({ delay: '1s', maxHedges: 1 });
    let attempts = 0;
    const slow = () => {
      attempts++;
      return hang();
    };
    void hedged.execute(slow).catch(() => undefined);
    await time.clock.tickAsync(500);
    stepBack();
    void hedged.execute(slow).catch(() => undefined);
    await time.clock.tickAsync(600);
    expect(attempts).to.equal(3); // both first attempts, and the hedge of the call in flight
    await time.clock.tickAsync(500);
    expect(attempts).to.equal(4);
  });
});

describe('a wall clock that steps back less than a timeout', () => {
  const time = useFakeClock(1_700_000_000_000);
  const hang = () => new Promise<never>(() => {});

  it('gives a call started just after the step its whole timeout', async () => {
    const before = observe(runWithTimeout(hang, 5_000));
    await time.clock.tickAsync(1_000);
    time.clock.setSystemTime(Date.now() - 500);
    const after = observe(runWithTimeout(hang, 5_000));
    await time.clock.tickAsync(4_100);
    expect(before.error).to.have.property('name', 'TimeoutError');
    await time.clock.tickAsync(899);
    expect(after.settled).to.equal(false);
    await time.clock.tickAsync(1);
    expect(after.error).to.have.property('name', 'TimeoutError');
  });

  it('gives a call started after the step its whole timeout when the calls before it have ended', async () => {
    await runWithTimeout(async () => 'done', 1_000);
    time.clock.setSystemTime(Date.now() - 500);
    const after = observe(runWithTimeout(hang, 1_000));
    await time.clock.tickAsync(999);
    expect(after.settled).to.equal(false);
    await time.clock.tickAsync(1);
    expect(after.error).to.have.property('name', 'TimeoutError');
  });
});
