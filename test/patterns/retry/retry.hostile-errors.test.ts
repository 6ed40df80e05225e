// What a call fails with is the caller's: a retry reads it (its class, its retryAfter) but an error that refuses to
// be read is still retried or rethrown unchanged, never replaced by the TypeError of reading it.
import { expect } from 'chai';
import { RetryPolicy } from '../../../src/index.js';
import { observe, useFakeClock } from '../../support/fake-clock.js';

class NetworkError extends Error {}

function revokedError(): Error {
  const { proxy, revoke } = Proxy.revocable(new NetworkError('revoked'), {});
  revoke();
  return proxy;
}

function withThrowingRetryAfter(): Error {
  return Object.defineProperty(new NetworkError('getter'), 'retryAfter', {
    get() {
      throw new Error('retryAfter refused');
    },
  });
}

describe('retry: errors that cannot be read', () => {
  const time = useFakeClock();

  async function run(policy: RetryPolicy, error: unknown) {
    let tries = 0;
    const result = observe(
      policy.execute(() => {
        tries++;
        return Promise.reject(error);
      }),
    );
    await time.clock.tickAsync(60_000);
    return { result, tries };
  }

  for (const [label, make] of [
    ['a revoked Proxy', revokedError],
    ['an error whose retryAfter getter throws', withThrowingRetryAfter],
  ] as const) {
    it(`retries ${label} and rethrows it unchanged`, async () => {
      const error = make();
      const { result, tries } = await run(
        new RetryPolicy({ maxAttempts: 3, baseDelay: 10 }),
        error,
      );
      expect(tries).to.equal(3);
      expect(result.error).to.equal(error);
    });
  }

  it('rethrows a revoked Proxy at once, unchanged, when exceptions name classes (none can match it)', async () => {
    const error = revokedError();
    const policy = new RetryPolicy({ maxAttempts: 3, baseDelay: 10, exceptions: [NetworkError] });
    const { result, tries } = await run(policy, error);
    expect(tries).to.equal(1);
    expect(result.error).to.equal(error);
  });

  it('leaves the wait to the strategy when retryAfter cannot be read', () => {
    const policy = new RetryPolicy({ baseDelay: 10 });
    expect(policy.delayFor(1, withThrowingRetryAfter())).to.equal(10);
    expect(policy.delayFor(1, revokedError())).to.equal(10);
  });
});
