import { expect } from 'chai';
import { RetryPolicy } from '../../src/index.js';
import { observe, useFakeClock } from '../support/fake-clock.js';
import { bothWays, expectBoth } from './both-ways.js';

class NetworkError extends Error {}
class NotFound extends Error {}

describe('events: retry', () => {
  const time = useFakeClock();
  const error = new NetworkError('reset');

  // Fails `failures` times with `error`, then resolves 'ok'.
  function flaky(failures: number): () => Promise<string> {
    let calls = 0;
    return () => (++calls <= failures ? Promise.reject(error) : Promise.resolve('ok'));
  }

  it('emits retry with the failed attempt, the delay and the error before each wait', async () => {
    const seen = await bothWays<RetryPolicy>(
      'retry',
      'retry',
      { maxAttempts: 3, baseDelay: 100 },
      async (policy) => {
        observe(policy.execute(flaky(2)));
        await time.clock.tickAsync(300);
      },
    );
    expectBoth(seen, 'retry', [
      { attempt: 1, delay: 100, error },
      { attempt: 2, delay: 200, error },
    ]);
  });

  it('emits retry with error undefined when retryOnResult refused the value', async () => {
    const seen = await bothWays<RetryPolicy>(
      'retry',
      'retry',
      { maxAttempts: 2, baseDelay: 50, retryOnResult: (value: number) => value < 2 },
      async (policy) => {
        let calls = 0;
        observe(policy.execute(() => ++calls));
        await time.clock.tickAsync(50);
      },
    );
    expectBoth(seen, 'retry', [{ attempt: 1, delay: 50, error: undefined }]);
  });

  it('emits giveUp with the attempts made and the last error when tries run out', async () => {
    const seen = await bothWays<RetryPolicy>(
      'retry',
      'giveUp',
      { maxAttempts: 3, baseDelay: 10 },
      async (policy) => {
        observe(policy.execute(flaky(5)));
        await time.clock.tickAsync(100);
      },
    );
    expectBoth(seen, 'retry', [{ attempts: 3, error }]);
  });

  it('emits giveUp after one attempt for an error that is not retryable', async () => {
    const notFound = new NotFound('404');
    const seen = await bothWays<RetryPolicy>(
      'retry',
      'giveUp',
      { retryIf: (e: unknown) => !(e instanceof NotFound) },
      async (policy) => {
        observe(policy.execute(() => Promise.reject(notFound)));
        await time.clock.tickAsync(0);
      },
    );
    expectBoth(seen, 'retry', [{ attempts: 1, error: notFound }]);
  });

  it('emits giveUp with the last value when retryOnResult still refuses it', async () => {
    const unavailable = { status: 503 };
    const seen = await bothWays<RetryPolicy>(
      'retry',
      'giveUp',
      {
        maxAttempts: 2,
        baseDelay: 10,
        retryOnResult: (value: typeof unavailable) => value.status === 503,
      },
      async (policy) => {
        const result = observe(policy.execute(() => unavailable));
        await time.clock.tickAsync(10);
        expect(result.value).to.equal(unavailable);
      },
    );
    expectBoth(seen, 'retry', [{ attempts: 2, error: undefined, value: unavailable }]);
  });

  it('emits success with attempts 1 for a call that succeeds at once', async () => {
    const seen = await bothWays<RetryPolicy>('retry', 'success', {}, async (policy) => {
      await policy.execute(flaky(0));
    });
    expectBoth(seen, 'retry', [{ attempts: 1 }]);
  });

  it('emits success with the number of tries for a call that succeeds after retries', async () => {
    const seen = await bothWays<RetryPolicy>(
      'retry',
      'success',
      { maxAttempts: 5, baseDelay: 10, strategy: 'constant' },
      async (policy) => {
        observe(policy.execute(flaky(3)));
        await time.clock.tickAsync(30);
      },
    );
    expectBoth(seen, 'retry', [{ attempts: 4 }]);
  });

  it('emits callbackError with the error an onRetry callback threw', async () => {
    const broken = new Error('logger down');
    const onRetry = () => {
      throw broken;
    };
    const seen = await bothWays<RetryPolicy>(
      'retry',
      'callbackError',
      { baseDelay: 10, onRetry },
      async (policy) => {
        const result = observe(policy.execute(flaky(1)));
        await time.clock.tickAsync(10);
        expect(result.value).to.equal('ok');
      },
    );
    expectBoth(seen, 'retry', [{ error: broken }]);
  });
});
