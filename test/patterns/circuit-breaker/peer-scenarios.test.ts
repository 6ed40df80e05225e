// Scenarios the window breakers of peer libraries are known for (cockatiel's sampling breaker, opossum's rolling
// percentage and volume threshold, resilience4j's slow calls and minimum calls), restated for dspu's rate mode.
import { expect } from 'chai';
import { CircuitBreaker, CircuitBreakerError } from '../../../src/index.js';
import { observe, useFakeClock } from '../../support/fake-clock.js';

class Down extends Error {}

async function call(breaker: CircuitBreaker, fails: boolean): Promise<'ok' | 'error' | 'rejected'> {
  return breaker
    .protect(() => (fails ? Promise.reject(new Down()) : Promise.resolve(1)))
    .then(
      () => 'ok',
      (error: unknown) => (error instanceof CircuitBreakerError ? 'rejected' : 'error'),
    );
}

describe('CircuitBreaker: peer scenarios for rate mode', () => {
  const time = useFakeClock(5_000_000);

  describe('a sampling breaker over a duration', () => {
    it('opens when the share of failures over the sampling duration reaches the threshold', async () => {
      const breaker = new CircuitBreaker({
        failureRateThreshold: 20,
        slidingWindow: { time: '10s' },
        minimumCalls: 5,
      });
      for (let i = 0; i < 8; i++) {
        await call(breaker, false);
        await time.clock.tickAsync(1_000);
      }
      await call(breaker, true); // 1 of 9
      expect(breaker.state).to.equal('closed');
      await call(breaker, true); // 2 of 10: 20 %
      expect(breaker.state).to.equal('open');
    });

    it('lets failures of earlier buckets roll off as time passes', async () => {
      const breaker = new CircuitBreaker({
        failureRateThreshold: 50,
        slidingWindow: { time: '10s', buckets: 5 },
        minimumCalls: 4,
      });
      for (let i = 0; i < 3; i++) await call(breaker, true);
      await time.clock.tickAsync(10_000);
      for (let i = 0; i < 3; i++) await call(breaker, false);
      await call(breaker, true); // 1 of 4 in the window
      expect(breaker.state).to.equal('closed');
    });

    it('does not open under low traffic: fewer calls than the minimum give no verdict', async () => {
      const breaker = new CircuitBreaker({
        failureRateThreshold: 10,
        slidingWindow: { time: '1m' },
        minimumCalls: 20,
      });
      for (let i = 0; i < 19; i++) expect(await call(breaker, true)).to.equal('error');
      expect(breaker.state).to.equal('closed');
      expect(await call(breaker, true)).to.equal('error');
      expect(breaker.state).to.equal('open');
    });
  });

  describe('a rolling percentage with a volume threshold', () => {
    it('fails fast once open, without calling the action', async () => {
      const breaker = new CircuitBreaker({
        failureRateThreshold: 50,
        slidingWindow: { time: '10s', buckets: 10 },
        minimumCalls: 2,
      });
      await call(breaker, true);
      await call(breaker, true);
      let called = false;
      const rejected = await breaker
        .protect(async () => {
          called = true;
        })
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      expect(rejected).to.be.instanceOf(CircuitBreakerError);
      expect(called).to.equal(false);
    });

    it('counts only calls inside the rolling window toward the volume threshold', async () => {
      const breaker = new CircuitBreaker({
        failureRateThreshold: 50,
        slidingWindow: { time: '1s', buckets: 10 },
        minimumCalls: 3,
      });
      await call(breaker, true);
      await call(breaker, true);
      await time.clock.tickAsync(1_500);
      await call(breaker, true); // the first two have rolled off: 1 call, below the volume
      expect(breaker.state).to.equal('closed');
    });

    it('closes after the half-open trials succeed, and judges the new period from an empty window', async () => {
      const breaker = new CircuitBreaker({
        failureRateThreshold: 50,
        slidingWindow: { calls: 10 },
        minimumCalls: 4,
        timeout: '1s',
        successThreshold: 2,
        halfOpenMaxCalls: 2,
      });
      for (let i = 0; i < 4; i++) await call(breaker, true);
      expect(breaker.state).to.equal('open');
      await time.clock.tickAsync(1_000);
      expect(await call(breaker, false)).to.equal('ok');
      expect(await call(breaker, false)).to.equal('ok');
      expect(breaker.state).to.equal('closed');
      for (let i = 0; i < 3; i++) await call(breaker, true);
      expect(breaker.state).to.equal('closed');
    });
  });

  describe('slow calls with a minimum number of calls', () => {
    const slowCall = (breaker: CircuitBreaker, ms: number, fails = false) => {
      const result = observe(
        breaker.protect(
          () =>
            new Promise((resolve, reject) =>
              setTimeout(() => (fails ? reject(new Down()) : resolve(1)), ms),
            ),
        ),
      );
      return time.clock.tickAsync(ms).then(() => result);
    };

    it('opens on the slow-call rate while every call succeeds', async () => {
      const breaker = new CircuitBreaker({
        slowCallDuration: '1s',
        slowCallRateThreshold: 50,
        slidingWindow: { calls: 4 },
        minimumCalls: 4,
      });
      await slowCall(breaker, 1_001);
      await slowCall(breaker, 10);
      await slowCall(breaker, 1_200);
      expect(breaker.state).to.equal('closed');
      await slowCall(breaker, 10);
      expect(breaker.state).to.equal('open');
      expect(breaker.metrics().calls).to.equal(0); // opening clears the window
    });

    it('does not count a call of exactly slowCallDuration as slow', async () => {
      const breaker = new CircuitBreaker({
        slowCallDuration: 500,
        slowCallRateThreshold: 100,
        slidingWindow: { calls: 2 },
        minimumCalls: 2,
      });
      await slowCall(breaker, 500);
      await slowCall(breaker, 500);
      expect(breaker.state).to.equal('closed');
      expect(breaker.metrics().slowCalls).to.equal(0);
    });

    it('counts a slow failure both as failed and as slow', async () => {
      const breaker = new CircuitBreaker({
        slowCallDuration: 100,
        failureRateThreshold: 100,
        slowCallRateThreshold: 100,
        slidingWindow: { calls: 10 },
        minimumCalls: 10,
      });
      await slowCall(breaker, 200, true);
      expect(breaker.metrics()).to.deep.include({ calls: 1, failedCalls: 1, slowCalls: 1 });
    });
  });
});
