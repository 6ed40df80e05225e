// An attempt that fails with an error refusing to be inspected (a revoked Proxy) is a failure like any other: the
// other attempts go on, and nothing escapes as an unhandled rejection.
import { expect } from 'chai';
import sinon from 'sinon';
import { HedgePolicy } from '../../../src/index.js';
import { observe, useFakeClock } from '../../support/fake-clock.js';

// Captured before fake timers replace it: only a real turn of the event loop reveals unhandled rejections.
const realSetImmediate = globalThis.setImmediate;

function revokedError(): Error {
  const { proxy, revoke } = Proxy.revocable(new Error('revoked'), {});
  revoke();
  return proxy;
}

describe('hedge: errors that cannot be inspected', () => {
  const time = useFakeClock();

  it('lets the other attempt win when one fails with a revoked Proxy, with no unhandled rejection', async () => {
    const unhandled = sinon.fake();
    process.on('unhandledRejection', unhandled);
    try {
      const policy = new HedgePolicy({ delay: 5, maxHedges: 1 });
      let attempts = 0;
      const result = observe(
        policy.execute(() =>
          attempts++ === 0
            ? new Promise((_, reject) => setTimeout(() => reject(revokedError()), 10))
            : new Promise((resolve) => setTimeout(() => resolve('second'), 10)),
        ),
      );
      await time.clock.tickAsync(15);
      expect(result.value).to.equal('second');
      await new Promise((resolve) => realSetImmediate(resolve)); // unhandled rejections surface here
      expect(unhandled.callCount).to.equal(0);
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });
});
