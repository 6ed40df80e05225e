import { expect } from 'chai';
import { TimeoutError, gatherWithLimit, runWithTimeout } from '../../../src/index.js';
import { observe, useFakeClock } from '../../support/fake-clock.js';
import { Probe, countAbortControllers } from './probe.js';

describe('gatherWithLimit cancellation', () => {
  const time = useFakeClock();

  it('stops on an outer abort: nothing more starts, tasks are aborted, the reason rejects', async () => {
    const probe = new Probe();
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const tasks = [50, 50, 50, 50].map((ms, id) => probe.taskWithSignal(id, ms));
    const result = observe(gatherWithLimit(tasks, { limit: 2, signal: controller.signal }));
    await time.clock.tickAsync(10);
    controller.abort(reason);
    await time.clock.tickAsync(0);
    expect(result.error).to.equal(reason);
    expect(probe.signals.get(0)!.reason).to.equal(reason);
    await time.clock.tickAsync(200);
    expect(probe.started).to.deep.equal([0, 1]);
  });

  it('stops settle mode on an outer abort too', async () => {
    const controller = new AbortController();
    const probe = new Probe();
    const result = observe(
      gatherWithLimit(
        [50, 50, 50].map((ms, id) => probe.task(id, ms)),
        { limit: 1, settle: true, signal: controller.signal },
      ),
    );
    await time.clock.tickAsync(60);
    controller.abort(new Error('stop'));
    await time.clock.tickAsync(0);
    expect((result.error as Error).message).to.equal('stop');
    expect(probe.started).to.deep.equal([0, 1]);
  });

  it('rejects at once, starting nothing, when the signal is already aborted', async () => {
    const probe = new Probe();
    const result = observe(
      gatherWithLimit([probe.task(0, 10)], { limit: 1, signal: AbortSignal.abort() }),
    );
    await time.clock.tickAsync(0);
    expect(result.error).to.be.instanceOf(Error);
    expect(probe.started).to.deep.equal([]);
  });

  it('links the tasks’ signal to an enclosing timeout', async () => {
    const probe = new Probe();
    const result = observe(
      runWithTimeout(
        () =>
          gatherWithLimit(
            [1000, 1000].map((ms, id) => probe.taskWithSignal(id, ms)),
            { limit: 1 },
          ),
        '100ms',
      ),
    );
    await time.clock.tickAsync(100);
    expect(result.error).to.be.instanceOf(TimeoutError);
    expect(probe.signals.get(0)!.reason).to.be.instanceOf(TimeoutError);
    await time.clock.tickAsync(2000);
    expect(probe.started).to.deep.equal([0]);
  });

  it('creates no AbortController when no task declares a parameter or reads currentSignal()', async () => {
    const counter = countAbortControllers();
    try {
      await gatherWithLimit(
        Array.from({ length: 50 }, (_, i) => async () => i),
        { limit: 5 },
      );
      expect(counter.count).to.equal(0);
      await gatherWithLimit([(signal: AbortSignal) => signal.aborted, () => 1], { limit: 2 });
      expect(counter.count).to.equal(1);
    } finally {
      counter.restore();
    }
  });
});
