// An error that refuses to be inspected (a revoked Proxy) is still the caller's error: the breaker counts it or
// lets it through uncounted, and passes it on unchanged, never the TypeError of looking at its class.
import { expect } from 'chai';
import { CircuitBreaker } from '../../../src/index.js';

class NetworkError extends Error {}

function revokedError(): Error {
  const { proxy, revoke } = Proxy.revocable(new NetworkError('revoked'), {});
  revoke();
  return proxy;
}

// Whether the call rejected with `error` itself (returned as a boolean: a revoked Proxy cannot be a promise's value,
// whose `then` is looked up).
async function failWith(breaker: CircuitBreaker, error: unknown): Promise<boolean> {
  return breaker
    .protect(() => Promise.reject(error))
    .then(
      () => false,
      (e: unknown) => e === error,
    );
}

describe('CircuitBreaker: errors that cannot be inspected', () => {
  it('counts a revoked Proxy as a failure when no exceptions are given, and passes it on', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    const error = revokedError();
    expect(await failWith(breaker, error)).to.equal(true);
    expect(breaker.state).to.equal('open');
  });

  it('lets a revoked Proxy through uncounted when exceptions name classes', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, exceptions: [NetworkError] });
    const error = revokedError();
    expect(await failWith(breaker, error)).to.equal(true);
    expect(breaker.state).to.equal('closed');
  });

  it('does the same for a call that throws synchronously, and for a trial', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, timeout: 0 });
    const error = revokedError();
    const same = await breaker
      .protect(() => {
        throw error;
      })
      .then(
        () => false,
        (e: unknown) => e === error,
      );
    expect(same).to.equal(true);
    expect(breaker.state).to.equal('half_open'); // opened, for 0 ms
    expect(await failWith(breaker, error)).to.equal(true);
    expect(breaker.toJSON().state).to.equal('open');
  });

  it('rejects, never throws, when the call returns a revoked Proxy (a value that cannot be awaited)', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    const returned = revokedError();
    let call: Promise<unknown> | undefined;
    expect(() => (call = breaker.protect(() => returned))).to.not.throw();
    const error = await call!.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(TypeError); // what awaiting it gives
    expect(breaker.state).to.equal('open'); // a failed call, counted
  });
});
