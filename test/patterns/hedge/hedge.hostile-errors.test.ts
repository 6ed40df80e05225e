// An attempt that fails with an error refusing to be inspected (a revoked Proxy), or returns a value that cannot be
// awaited (a `then` getter that throws), is a failure like any other: the other attempts and calls go on, and
// nothing escapes as an unhandled rejection or from the hedge timer.
import { expect } from 'chai';
import sinon from 'sinon';
import { HedgePolicy } from '../../../src/index.js';
import { observe, useFakeClock } from '../../support/fake-clock.js';

// Captured before fake timers replace it: only a real turn of the event loop reveals unhandled rejections.
const realSetImmediate = globalThis.setImmediate;

const unawaitable = () =>
  Object.defineProperty({}, 'then', {
    get() {
      throw new Error('then refused');
    },
  });

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

  it('fails an attempt whose value cannot be awaited, even one sent by the hedge timer', async () => {
    const policy = new HedgePolicy({ delay: 5, maxHedges: 2 });
    const attempts = [0, 0];
    const call = (n: number) =>
      observe(
        policy.execute(() =>
          attempts[n]++ === 1
            ? unawaitable()
            : new Promise((resolve) => setTimeout(() => resolve(`call ${n}`), 50)),
        ),
      );
    const calls = [call(0), call(1)]; // both wait in the same queue for their hedges
    await time.clock.tickAsync(50);
    expect(attempts).to.deep.equal([3, 3]); // every hedge sent, the queue's timer unbroken
    expect(calls.map((c) => c.value)).to.deep.equal(['call 0', 'call 1']);
    const first = observe(policy.execute(unawaitable)); // the first attempt, sent by execute itself
    await time.clock.tickAsync(0);
    expect((first.error as Error).message).to.equal('then refused');
  });

  it('sends the call when a budget of your own cannot count it (its deposit throws)', async () => {
    const budget = {
      deposit() {
        throw new Error('budget broken');
      },
      withdraw: () => true,
    };
    const policy = new HedgePolicy({ delay: 5, budget });
    let result: ReturnType<typeof observe> | undefined;
    expect(() => (result = observe(policy.execute(() => 'sent')))).to.not.throw();
    await time.clock.tickAsync(0);
    expect(result!.value).to.equal('sent');
  });
});
