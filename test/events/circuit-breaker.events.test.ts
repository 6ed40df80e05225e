import { CircuitBreaker } from '../../src/index.js';
import { useFakeClock } from '../support/fake-clock.js';
import { bothWays, expectBoth } from './both-ways.js';

class NetworkError extends Error {}
class NotFound extends Error {}

const fail = (error: Error) => () => Promise.reject(error);
const succeed = () => Promise.resolve('ok');

// Runs `fn` through the breaker and swallows the outcome: these tests look at events only.
async function settle(breaker: CircuitBreaker, fn: () => Promise<unknown>): Promise<void> {
  await breaker.protect(fn).catch(() => undefined);
}

describe('events: circuit breaker', () => {
  const time = useFakeClock();
  const error = new NetworkError('reset');

  it('emits stateChange with from and to on every transition', async () => {
    const seen = await bothWays<CircuitBreaker>(
      'circuitBreaker',
      'stateChange',
      { failureThreshold: 1, timeout: 100, successThreshold: 1 },
      async (breaker) => {
        await settle(breaker, fail(error));
        await time.clock.tickAsync(100);
        await settle(breaker, succeed);
      },
    );
    expectBoth(seen, 'circuitBreaker', [
      { from: 'closed', to: 'open' },
      { from: 'open', to: 'half_open' },
      { from: 'half_open', to: 'closed' },
    ]);
  });

  it('emits rejected with state open and the time left before a trial', async () => {
    const seen = await bothWays<CircuitBreaker>(
      'circuitBreaker',
      'rejected',
      { failureThreshold: 1, timeout: 100 },
      async (breaker) => {
        await settle(breaker, fail(error));
        await time.clock.tickAsync(40);
        await settle(breaker, succeed);
      },
    );
    expectBoth(seen, 'circuitBreaker', [{ state: 'open', retryAfter: 60 }]);
  });

  it('emits rejected with state half_open when every trial slot is taken', async () => {
    const seen = await bothWays<CircuitBreaker>(
      'circuitBreaker',
      'rejected',
      { initialState: 'half_open' },
      async (breaker) => {
        const trial = breaker.protect(() => new Promise((resolve) => setTimeout(resolve, 10)));
        await settle(breaker, succeed);
        await time.clock.tickAsync(10);
        await trial;
      },
    );
    expectBoth(seen, 'circuitBreaker', [{ state: 'half_open', retryAfter: 0 }]);
  });

  it('emits success with the state that counted it', async () => {
    const seen = await bothWays<CircuitBreaker>(
      'circuitBreaker',
      'success',
      { initialState: 'half_open', successThreshold: 1 },
      async (breaker) => {
        await settle(breaker, succeed);
        await settle(breaker, succeed);
      },
    );
    expectBoth(seen, 'circuitBreaker', [{ state: 'half_open' }, { state: 'closed' }]);
  });

  it('emits failure with the state and the error of a counted failure', async () => {
    const seen = await bothWays<CircuitBreaker>('circuitBreaker', 'failure', {}, async (breaker) =>
      settle(breaker, fail(error)),
    );
    expectBoth(seen, 'circuitBreaker', [{ state: 'closed', error }]);
  });

  it('emits failure with the value isFailureResult refused', async () => {
    const unavailable = { status: 503 };
    const seen = await bothWays<CircuitBreaker>(
      'circuitBreaker',
      'failure',
      { isFailureResult: (value: typeof unavailable) => value.status >= 500 },
      async (breaker) => settle(breaker, () => Promise.resolve(unavailable)),
    );
    expectBoth(seen, 'circuitBreaker', [{ state: 'closed', error: undefined, value: unavailable }]);
  });

  it('emits ignored with the state and the error outside exceptions', async () => {
    const notFound = new NotFound('404');
    const seen = await bothWays<CircuitBreaker>(
      'circuitBreaker',
      'ignored',
      { exceptions: [NetworkError] },
      async (breaker) => settle(breaker, fail(notFound)),
    );
    expectBoth(seen, 'circuitBreaker', [{ state: 'closed', error: notFound }]);
  });

  it('emits callbackError with the error onStateChange threw', async () => {
    const broken = new Error('pager down');
    const onStateChange = () => {
      throw broken;
    };
    const seen = await bothWays<CircuitBreaker>(
      'circuitBreaker',
      'callbackError',
      { failureThreshold: 1, onStateChange },
      async (breaker) => settle(breaker, fail(error)),
    );
    expectBoth(seen, 'circuitBreaker', [{ error: broken }]);
  });
});
