// An error that refuses to be inspected (a revoked Proxy) is still the caller's error: a fallback answers it or
// passes it on unchanged, never the TypeError of looking at its class.
import { expect } from 'chai';
import { fallback } from '../../../src/index.js';

class NetworkError extends Error {}

function revokedError(): Error {
  const { proxy, revoke } = Proxy.revocable(new NetworkError('revoked'), {});
  revoke();
  return proxy;
}

describe('fallback: errors that cannot be inspected', () => {
  it('answers a revoked Proxy when no exceptions are given (every error is answered)', async () => {
    const error = revokedError();
    let seen: unknown;
    const answer = await fallback(
      () => Promise.reject(error),
      (e: unknown) => ((seen = e), 'cached'),
    )();
    expect(answer).to.equal('cached');
    expect(seen === error).to.equal(true);
  });

  it('passes a revoked Proxy on unchanged when exceptions name classes (none can match it)', async () => {
    const error = revokedError();
    const guarded = fallback(
      () => Promise.reject(error),
      () => 'cached',
      {
        exceptions: [NetworkError],
      },
    );
    // Compared in the handler: a revoked Proxy cannot be a promise's value, whose `then` is looked up.
    const same = await guarded().then(
      () => false,
      (e: unknown) => e === error,
    );
    expect(same).to.equal(true);
  });
});
