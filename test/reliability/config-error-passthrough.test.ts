import { expect } from 'chai';
import {
  CircuitBreaker,
  ConfigError,
  FallbackPolicy,
  HedgePolicy,
  RetryPolicy,
} from '../../src/index.js';
import { observe, useFakeClock } from '../support/fake-clock.js';

class NamedConfigError extends ConfigError {}

const mistake = () => Promise.reject(new ConfigError('options: a mistake in the code'));

/*
 * A ConfigError thrown inside a call (a nested engine's bad per-call option, a decorated method that returns an
 * Observable) is a mistake in the code, not a failure of the dependency: no policy retries, counts or answers it,
 * unless its `exceptions` name ConfigError (or a subclass of it).
 */
describe('a ConfigError inside a call reaches the caller untouched', () => {
  const time = useFakeClock(1_000_000);

  it('is not counted by a circuit breaker, even one that counts every error', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    for (let i = 0; i < 3; i++)
      expect(await breaker.protect(mistake).catch((e: unknown) => e)).to.be.instanceOf(ConfigError);
    expect(breaker.state).to.equal('closed');
    const counting = new CircuitBreaker({ failureThreshold: 1, exceptions: [NamedConfigError] });
    await counting
      .protect(() => Promise.reject(new NamedConfigError('named')))
      .catch(() => undefined);
    expect(counting.state).to.equal('open');
  });

  it('is not answered by a fallback', async () => {
    const fallback = new FallbackPolicy(() => 'cached');
    expect(await fallback.execute(mistake).catch((e: unknown) => e)).to.be.instanceOf(ConfigError);
    const named = new FallbackPolicy(() => 'cached', { exceptions: [ConfigError] });
    expect(await named.execute(mistake)).to.equal('cached');
  });

  it('is not retried', async () => {
    let tries = 0;
    const policy = new RetryPolicy({ maxAttempts: 3, baseDelay: 0 });
    const call = observe(policy.execute(() => (tries++, mistake())));
    await time.clock.tickAsync(100);
    expect(call.error).to.be.instanceOf(ConfigError);
    expect(tries).to.equal(1);
  });

  it('ends a hedged call at once, without waiting for the other attempts', async () => {
    const policy = new HedgePolicy({ delay: 10, maxHedges: 1 });
    let attempts = 0;
    const call = observe(
      policy.execute((signal) => {
        attempts++;
        if (attempts === 2) return mistake();
        return new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason)),
        );
      }),
    );
    await time.clock.tickAsync(10);
    expect(attempts).to.equal(2);
    expect(call.error).to.be.instanceOf(ConfigError);
  });
});
