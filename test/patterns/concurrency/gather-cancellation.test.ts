import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import {
  TimeoutError,
  currentSignal,
  gatherWithLimit,
  mapWithLimit,
  runWithTimeout,
  withSignal,
} from '../../../src/index.js';
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

  it('rejects with an Error, gather and stream alike, when the signal aborts with a null-prototype reason', async () => {
    const probe = new Probe();
    const controller = new AbortController();
    const gather = observe(
      gatherWithLimit([probe.task(0, 50)], { limit: 1, signal: controller.signal }),
    );
    const stream = mapWithLimit([60], (ms) => probe.work(1, ms), {
      limit: 1,
      signal: controller.signal,
    });
    const read = observe(stream.next());
    await time.clock.tickAsync(10);
    const reason = Object.create(null) as object; // String(reason) throws
    controller.abort(reason);
    await time.clock.tickAsync(0);
    for (const result of [gather, read]) {
      expect(result.error).to.be.instanceOf(Error);
      expect((result.error as Error & { cause: unknown }).cause).to.equal(reason);
    }
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

  it('rejects at once when the signal of an enclosing withSignal aborts, starting nothing more', async () => {
    const probe = new Probe();
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    let gather: Promise<number[]> | undefined;
    const call = observe(
      withSignal(controller.signal, () => {
        gather = gatherWithLimit(
          [50, 50, 50].map((ms, id) => probe.task(id, ms)),
          { limit: 1 },
        );
        return gather;
      }),
    );
    const result = observe(gather!);
    await time.clock.tickAsync(10);
    controller.abort(reason);
    await time.clock.tickAsync(0);
    expect(call.error).to.equal(reason);
    expect(result.error, 'the gather itself rejects at once').to.equal(reason);
    await time.clock.tickAsync(200);
    expect(probe.started).to.deep.equal([0]);
  });

  it('rejects at once when an enclosing timeout expires, from an async source too', async () => {
    const probe = new Probe();
    let gather: Promise<number[]> | undefined;
    async function* tasks() {
      for (let id = 0; id < 3; id++) yield probe.task(id, 100);
    }
    const call = observe(
      runWithTimeout(() => {
        gather = gatherWithLimit(tasks(), { limit: 2 });
        return gather;
      }, '50ms'),
    );
    const result = observe(gather!);
    await time.clock.tickAsync(50);
    expect(call.error).to.be.instanceOf(TimeoutError);
    expect(result.error).to.be.instanceOf(TimeoutError);
    await time.clock.tickAsync(500);
    expect(probe.started).to.deep.equal([0, 1]);
  });

  it('stops listening to the enclosing call once done', async () => {
    const controller = new AbortController();
    const listeners = await withSignal(controller.signal, async () => {
      // Started before the first await: the call context travels synchronously.
      const callSignal = currentSignal(); // the enclosing call's signal, which every gather listens to
      const gathers = Array.from({ length: 20 }, (_, i) =>
        gatherWithLimit([async () => i], { limit: 1 }),
      );
      const failing = gatherWithLimit([() => Promise.reject(new Error('boom'))], { limit: 1 });
      const during = getEventListeners(callSignal, 'abort').length;
      await Promise.all(gathers);
      await failing.catch(() => undefined);
      expect(during, 'listening while they run').to.be.above(0);
      return getEventListeners(callSignal, 'abort').length;
    });
    expect(listeners).to.equal(0);
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
