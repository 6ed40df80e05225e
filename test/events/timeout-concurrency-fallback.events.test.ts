import { expect } from 'chai';
import {
  ConcurrencyLimitError,
  Fallback,
  FallbackPolicy,
  ResilienceRegistry,
  TimeoutError,
  bindRegistry,
  type ConcurrencyLimiter,
  type Timeout,
} from '../../src/index.js';
import { observe, useFakeClock } from '../support/fake-clock.js';
import { bothWays, expectBoth, sourced } from './both-ways.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('events: timeout, concurrency, fallback', () => {
  const time = useFakeClock();

  it('timeout: emits timeout with the budget in ms when a call exceeds it', async () => {
    const seen = await bothWays<Timeout>('timeout', 'timeout', '1s', async (budget) => {
      const call = observe(budget.run(() => pause(5000)));
      await time.clock.tickAsync(1000);
      expect(call.error).to.be.instanceOf(TimeoutError);
      await time.clock.tickAsync(4000);
    });
    expectBoth(seen, 'timeout', [{ timeout: 1000 }]);
  });

  it('concurrency: emits queued with the number waiting, this call included', async () => {
    const seen = await bothWays<ConcurrencyLimiter>(
      'concurrency',
      'queued',
      { limit: 1 },
      async (limiter) => {
        const calls = [1, 2, 3].map(() => observe(limiter.run(() => pause(10))));
        await time.clock.tickAsync(30);
        expect(calls.every((call) => call.settled)).to.equal(true);
      },
    );
    expectBoth(seen, 'concurrency', [{ pending: 1 }, { pending: 2 }]);
  });

  it('concurrency: emits rejected with reason queueFull and the queue length', async () => {
    const seen = await bothWays<ConcurrencyLimiter>(
      'concurrency',
      'rejected',
      { limit: 1, maxQueue: 1 },
      async (limiter) => {
        const calls = [1, 2, 3].map(() => observe(limiter.run(() => pause(10))));
        await time.clock.tickAsync(20);
        expect(calls[2].error).to.be.instanceOf(ConcurrencyLimitError);
      },
    );
    expectBoth(seen, 'concurrency', [{ reason: 'queueFull', pending: 1 }]);
  });

  it('concurrency: emits rejected with reason maxWait when a waiter gives up', async () => {
    const seen = await bothWays<ConcurrencyLimiter>(
      'concurrency',
      'rejected',
      { limit: 1, maxWait: 5 },
      async (limiter) => {
        const calls = [1, 2].map(() => observe(limiter.run(() => pause(10))));
        await time.clock.tickAsync(10);
        expect(calls[1].error).to.be.instanceOf(ConcurrencyLimitError);
      },
    );
    expectBoth(seen, 'concurrency', [{ reason: 'maxWait', pending: 0 }]);
  });

  it('fallback: emits fallback with the error that the handler answered', async () => {
    const policy = new FallbackPolicy(() => 'cached');
    const seen: unknown[] = [];
    policy.events.on('fallback', (event) => seen.push(event));
    const down = new Error('down');
    expect(await policy.execute(() => Promise.reject(down))).to.equal('cached');
    expect(seen).to.deep.equal([{ error: down }]);
  });

  it('fallback: is re-emitted by the registry under the decorated Class.method', async () => {
    const registry = new ResilienceRegistry();
    const seen: unknown[] = [];
    registry.on('fallback', (event) => seen.push(event));
    const down = new Error('down');
    class Quotes {
      @Fallback(() => 'cached')
      async quote() {
        throw down;
      }
    }
    expect(await bindRegistry(new Quotes(), registry).quote()).to.equal('cached');
    expect(seen).to.deep.equal([sourced('fallback', { error: down }, 'Quotes.quote')]);
  });
});
