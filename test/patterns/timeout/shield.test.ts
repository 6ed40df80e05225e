import { expect } from 'chai';
import {
  TimeoutError,
  currentSignal,
  drainShielded,
  runWithShield,
  runWithTimeout,
  shieldedCount,
} from '../../../src/index.js';
import { observe, useFakeClock } from '../../support/fake-clock.js';

describe('runWithShield', () => {
  const time = useFakeClock();

  it('runs work to completion even when the enclosing timeout fires', async () => {
    let cleanupSignal: AbortSignal | undefined;
    let cleanedUp = false;
    let shielded: Promise<void> | undefined;
    const outer = observe(
      runWithTimeout(async () => {
        shielded = runWithShield(async () => {
          cleanupSignal = currentSignal();
          await new Promise((resolve) => setTimeout(resolve, 5000));
          cleanedUp = true;
        });
        await shielded;
      }, '1s'),
    );
    await time.clock.tickAsync(1000);
    expect(outer.error).to.be.instanceOf(TimeoutError);
    expect(cleanupSignal!.aborted).to.equal(false);
    await time.clock.tickAsync(4000);
    expect(cleanedUp).to.equal(true);
  });

  it('delivers the work’s error to its awaiter', async () => {
    const error = new Error('cleanup failed');
    const result = observe(runWithShield(() => Promise.reject(error)));
    await time.clock.tickAsync(0);
    expect(result.error).to.equal(error);
  });

  it('never surfaces a failure nobody awaits as an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      void runWithShield(async () => {
        throw new Error('ignored');
      });
      time.clock.restore();
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).to.deep.equal([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('tracks running work so drainShielded() waits for all of it, including work started meanwhile', async () => {
    const finished: string[] = [];
    void runWithShield(async () => {
      await new Promise((resolve) => setTimeout(resolve, 100));
      finished.push('a');
      void runWithShield(async () => {
        await new Promise((resolve) => setTimeout(resolve, 100));
        finished.push('b');
      });
    });
    expect(shieldedCount()).to.equal(1);
    const drained = observe(drainShielded());
    await time.clock.tickAsync(150);
    expect(drained.settled).to.equal(false);
    await time.clock.tickAsync(100);
    expect(drained.settled).to.equal(true);
    expect(finished).to.deep.equal(['a', 'b']);
    expect(shieldedCount()).to.equal(0);
  });

  it('drainShielded() with a timeout rejects with TimeoutError when work outlives it', async () => {
    void runWithShield(() => new Promise((resolve) => setTimeout(resolve, 10_000)));
    const drained = observe(drainShielded({ timeout: '1s' }));
    await time.clock.tickAsync(1000);
    expect(drained.error).to.be.instanceOf(TimeoutError);
    await time.clock.tickAsync(9000);
  });

  it('drainShielded() with a timeout leaves no timer behind once the work is done', async () => {
    void runWithShield(() => new Promise((resolve) => setTimeout(resolve, 100)));
    const drained = observe(drainShielded({ timeout: '1h' }));
    await time.clock.tickAsync(100);
    expect(drained.settled && drained.error === undefined).to.equal(true);
    expect(time.clock.countTimers()).to.equal(0);
  });

  it('accepts an already running promise', async () => {
    const result = observe(runWithShield(Promise.resolve('done')));
    await time.clock.tickAsync(0);
    expect(result.value).to.equal('done');
  });
});
