import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import { LazyAbort } from '../../src/core/lazy-abort.js';
import { sleep } from '../../src/core/sleep.js';
import { observe, useFakeClock } from '../support/fake-clock.js';

describe('sleep', () => {
  const time = useFakeClock();

  it('resolves after the time given, not before', async () => {
    const waiting = observe(sleep(100));
    await time.clock.tickAsync(99);
    expect(waiting.settled).to.equal(false);
    await time.clock.tickAsync(1);
    expect(waiting).to.deep.equal({ settled: true, value: undefined });
  });

  it('with a signal that does not abort, resolves after the time and stops listening to it', async () => {
    const controller = new AbortController();
    const waiting = observe(sleep(100, controller.signal));
    await time.clock.tickAsync(100);
    expect(waiting.settled).to.equal(true);
    expect(waiting.error).to.equal(undefined);
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
  });

  it('rejects at once with the reason of a signal already aborted, and sets no timer', async () => {
    const reason = new Error('gave up');
    const waiting = observe(sleep(100, AbortSignal.abort(reason)));
    await time.clock.tickAsync(0);
    expect(waiting.error).to.equal(reason);
    expect(time.clock.countTimers()).to.equal(0);
  });

  it('rejects with the reason as soon as the signal aborts, and clears its timer', async () => {
    const reason = new Error('gave up');
    const controller = new AbortController();
    const waiting = observe(sleep(1_000, controller.signal));
    await time.clock.tickAsync(10);
    controller.abort(reason);
    await time.clock.tickAsync(0);
    expect(waiting.error).to.equal(reason);
    expect(time.clock.countTimers()).to.equal(0);
  });

  it('takes a LazyAbort, already aborted or aborting during the wait', async () => {
    const reason = new Error('gave up');
    const aborted = new LazyAbort();
    aborted.abort(reason);
    const early = observe(sleep(100, aborted));
    const lazy = new LazyAbort();
    const late = observe(sleep(100, lazy));
    await time.clock.tickAsync(10);
    lazy.abort(reason);
    await time.clock.tickAsync(0);
    expect(early.error).to.equal(reason);
    expect(late.error).to.equal(reason);
    expect(time.clock.countTimers()).to.equal(0);
  });
});
