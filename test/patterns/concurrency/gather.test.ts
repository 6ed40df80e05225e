import { expect } from 'chai';
import {
  currentAttempt,
  currentSignal,
  gatherWithLimit,
  retry,
  type Task,
} from '../../../src/index.js';
import { observe, useFakeClock } from '../../support/fake-clock.js';
import { Probe, countedAsyncTasks } from './probe.js';

const durations = [50, 10, 40, 20, 30, 5, 25, 15];

describe('gatherWithLimit', () => {
  const time = useFakeClock();

  it('never runs more than `limit` tasks at once', async () => {
    const probe = new Probe();
    const result = observe(
      gatherWithLimit(
        durations.map((ms, id) => probe.task(id, ms)),
        { limit: 3 },
      ),
    );
    await time.clock.tickAsync(1000);
    expect(result.value).to.have.length(durations.length);
    expect(probe.peak).to.equal(3);
  });

  it('resolves with the results in input order, whatever the order of completion', async () => {
    const probe = new Probe();
    const result = observe(
      gatherWithLimit(
        durations.map((ms, id) => probe.task(id, ms)),
        { limit: 4 },
      ),
    );
    await time.clock.tickAsync(1000);
    expect(result.value).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(probe.settled).to.not.deep.equal([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('starts tasks in input order, each as soon as a slot frees up', async () => {
    const probe = new Probe();
    void gatherWithLimit(
      [100, 10, 10, 10].map((ms, id) => probe.task(id, ms)),
      { limit: 2 },
    );
    await time.clock.tickAsync(0);
    expect(probe.started).to.deep.equal([0, 1]);
    await time.clock.tickAsync(10);
    expect(probe.started).to.deep.equal([0, 1, 2]);
    await time.clock.tickAsync(10);
    expect(probe.started).to.deep.equal([0, 1, 2, 3]);
  });

  it('resolves with an empty array for no tasks', async () => {
    expect(await gatherWithLimit([], { limit: 2 })).to.deep.equal([]);
  });

  it('accepts tasks that return plain values or throw synchronously', async () => {
    const results = await gatherWithLimit([() => 1, () => Promise.resolve(2)], { limit: 1 });
    expect(results).to.deep.equal([1, 2]);
    const error = new Error('sync');
    const failed = observe(
      gatherWithLimit(
        [
          () => {
            throw error;
          },
        ],
        { limit: 1 },
      ),
    );
    await time.clock.tickAsync(0);
    expect(failed.error).to.equal(error);
  });

  it('accepts a sync iterable (a Set) and an async iterable', async () => {
    const fromSet = await gatherWithLimit(new Set([() => 'a', () => 'b']), { limit: 1 });
    expect(fromSet).to.deep.equal(['a', 'b']);
    const counter = { pulled: 0 };
    const fromAsync = observe(
      gatherWithLimit(
        countedAsyncTasks(
          [3, 1, 2].map((n) => async () => n * 10),
          counter,
        ),
        { limit: 2 },
      ),
    );
    await time.clock.tickAsync(0);
    expect(fromAsync.value).to.deep.equal([30, 10, 20]);
  });

  it('pulls a generator lazily: never more than `limit` tasks ahead of finished ones', async () => {
    const probe = new Probe();
    const tasks = Array.from({ length: 20 }, (_, id) => probe.task(id, 10 + (id % 3) * 7));
    let pulled = 0;
    let maxAhead = 0;
    function* source(): Generator<Task<number>> {
      for (const task of tasks) {
        pulled++;
        maxAhead = Math.max(maxAhead, pulled - probe.settled.length);
        yield task;
      }
    }
    const result = observe(gatherWithLimit(source(), { limit: 3 }));
    await time.clock.tickAsync(0);
    expect(pulled).to.equal(3);
    await time.clock.tickAsync(500);
    expect(result.value).to.have.length(20);
    expect(maxAhead).to.equal(3);
  });

  it('pulls an async generator lazily, counting a pending pull as a running task', async () => {
    const probe = new Probe();
    const tasks = Array.from({ length: 12 }, (_, id) => probe.task(id, 5 + (id % 4) * 3));
    let pulled = 0;
    let maxAhead = 0;
    async function* source(): AsyncGenerator<Task<number>> {
      for (const task of tasks) {
        await Promise.resolve();
        pulled++;
        maxAhead = Math.max(maxAhead, pulled - probe.settled.length);
        yield task;
      }
    }
    const result = observe(gatherWithLimit(source(), { limit: 4 }));
    await time.clock.tickAsync(0);
    expect(pulled).to.equal(4);
    await time.clock.tickAsync(500);
    expect(result.value).to.deep.equal(tasks.map((_, id) => id));
    expect(maxAhead).to.equal(4);
    expect(probe.peak).to.equal(4);
  });

  it('copes with a limit far above the number of tasks', async () => {
    const sync = await gatherWithLimit([() => 1, () => 2], { limit: 1_000_000 });
    const counter = { pulled: 0 };
    const lazy = observe(
      gatherWithLimit(countedAsyncTasks([() => 3, () => 4], counter), { limit: 1_000_000 }),
    );
    await time.clock.tickAsync(0);
    expect(sync).to.deep.equal([1, 2]);
    expect(lazy.value).to.deep.equal([3, 4]);
  });

  it('gives currentAttempt() of an enclosing retry to its tasks', async () => {
    const attempts: number[] = [];
    let calls = 0;
    const retried = retry(
      () => {
        calls++;
        return gatherWithLimit(
          [
            () => {
              attempts.push(currentAttempt());
              if (calls === 1) throw new Error('first try fails');
            },
          ],
          { limit: 1 },
        );
      },
      { baseDelay: 1 },
    );
    const result = observe(retried());
    await time.clock.tickAsync(10);
    expect(result.settled).to.equal(true);
    expect(attempts).to.deep.equal([1, 2]);
  });

  describe('fail-fast', () => {
    it('rejects with the first error and starts no task after it', async () => {
      const probe = new Probe();
      const boom = new Error('boom');
      const tasks = [30, 10, 30, 30, 30, 30].map((ms, id) =>
        probe.task(id, ms, id === 1 ? boom : undefined),
      );
      const result = observe(gatherWithLimit(tasks, { limit: 2 }));
      await time.clock.tickAsync(10);
      expect(result.error).to.equal(boom);
      await time.clock.tickAsync(1000);
      expect(probe.started).to.deep.equal([0, 1]);
    });

    it('aborts the signal handed to running tasks, with the error as its reason', async () => {
      const probe = new Probe();
      const boom = new Error('boom');
      const tasks = [
        probe.taskWithSignal(0, 100),
        probe.taskWithSignal(1, 10, boom),
        probe.taskWithSignal(2, 100),
      ];
      const result = observe(gatherWithLimit(tasks, { limit: 3 }));
      await time.clock.tickAsync(0);
      expect(probe.signals.get(0)!.aborted).to.equal(false);
      await time.clock.tickAsync(10);
      expect(result.error).to.equal(boom);
      expect(probe.signals.get(0)!.aborted).to.equal(true);
      expect(probe.signals.get(0)!.reason).to.equal(boom);
      expect(probe.signals.get(2)!.reason).to.equal(boom);
    });

    it('aborts the signal running tasks read with currentSignal()', async () => {
      const boom = new Error('boom');
      let seen: AbortSignal | undefined;
      const result = observe(
        gatherWithLimit(
          [
            async () => {
              seen = currentSignal();
              await new Promise((resolve) => setTimeout(resolve, 100));
            },
            async () => {
              await new Promise((resolve) => setTimeout(resolve, 10));
              throw boom;
            },
          ],
          { limit: 2 },
        ),
      );
      await time.clock.tickAsync(10);
      expect(result.error).to.equal(boom);
      expect(seen!.aborted).to.equal(true);
      expect(seen!.reason).to.equal(boom);
    });

    it('absorbs the late rejections of tasks still running', async () => {
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        const probe = new Probe();
        const tasks = [10, 20, 30].map((ms, id) => probe.task(id, ms, new Error(`e${id}`)));
        const result = observe(gatherWithLimit(tasks, { limit: 3 }));
        await time.clock.tickAsync(100);
        expect((result.error as Error).message).to.equal('e0');
        expect(probe.settled).to.deep.equal([0, 1, 2]);
        time.clock.restore();
        await new Promise((resolve) => setImmediate(resolve));
        expect(unhandled).to.deep.equal([]);
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
    });

    it('closes a generator source so its finally blocks run', async () => {
      const counter = { pulled: 0, closed: false };
      const boom = new Error('boom');
      const tasks = [
        () => Promise.reject(boom),
        ...Array.from({ length: 10 }, () => () => Promise.resolve(1)),
      ];
      const result = observe(gatherWithLimit(countedAsyncTasks(tasks, counter), { limit: 2 }));
      await time.clock.tickAsync(0);
      expect(result.error).to.equal(boom);
      expect(counter.closed).to.equal(true);
      expect(counter.pulled).to.be.at.most(2);
    });

    it('rejects with the error a source throws', async () => {
      const broken = new Error('source broke');
      function* source(): Generator<Task<number>> {
        yield () => 1;
        throw broken;
      }
      const result = observe(gatherWithLimit(source(), { limit: 2 }));
      await time.clock.tickAsync(0);
      expect(result.error).to.equal(broken);
    });
  });

  describe('settle mode', () => {
    it('runs every task and reports each outcome in input order', async () => {
      const probe = new Probe();
      const boom = new Error('boom');
      const tasks = [30, 10, 20].map((ms, id) => probe.task(id, ms, id === 1 ? boom : undefined));
      const result = observe(gatherWithLimit(tasks, { limit: 2, settle: true }));
      await time.clock.tickAsync(100);
      expect(result.value).to.deep.equal([
        { status: 'fulfilled', value: 0 },
        { status: 'rejected', reason: boom },
        { status: 'fulfilled', value: 2 },
      ]);
      expect(probe.peak).to.equal(2);
    });

    it('survives many tasks that throw synchronously without growing the stack', async () => {
      const tasks = Array.from({ length: 20_000 }, () => () => {
        throw new Error('sync');
      });
      const results = await gatherWithLimit(tasks, { limit: 5, settle: true });
      expect(results.every((r) => r.status === 'rejected')).to.equal(true);
    });
  });
});
