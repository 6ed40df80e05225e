import { expect } from 'chai';
import { ConfigError, currentSignal, mapWithLimit } from '../../../src/index.js';
import { observe, useFakeClock } from '../../support/fake-clock.js';
import { Probe, countAbortControllers, countedAsyncTasks } from './probe.js';
import { collectGarbage } from '../../support/gc.js';

/** Collects what an async iterable yields. */
async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const value of iterable) out.push(value);
  return out;
}

describe('mapWithLimit', () => {
  const time = useFakeClock();

  it('yields results in input order while at most `limit` calls run', async () => {
    const probe = new Probe();
    const durations = [40, 10, 30, 5, 20, 15, 25];
    const result = observe(
      collect(
        mapWithLimit(
          durations.map((ms, id) => ({ ms, id })),
          ({ ms, id }) => probe.work(id, ms),
          { limit: 3 },
        ),
      ),
    );
    await time.clock.tickAsync(500);
    expect(result.value).to.deep.equal([0, 1, 2, 3, 4, 5, 6]);
    expect(probe.peak).to.equal(3);
  });

  it('maps sync iterables and async generators alike', async () => {
    const double = async (n: number) => n * 2;
    const fromSet = observe(collect(mapWithLimit(new Set([1, 2, 3]), double, { limit: 2 })));
    const counter = { pulled: 0 };
    const fromAsync = observe(
      collect(mapWithLimit(countedAsyncTasks([4, 5], counter), double, { limit: 2 })),
    );
    await time.clock.tickAsync(0);
    expect(fromSet.value).to.deep.equal([2, 4, 6]);
    expect(fromAsync.value).to.deep.equal([8, 10]);
  });

  it('copes with a limit far above the number of items', async () => {
    const result = observe(
      collect(mapWithLimit([1, 2, 3], async (n) => n * 2, { limit: 2 ** 30 })),
    );
    await time.clock.tickAsync(0);
    expect(result.value).to.deep.equal([2, 4, 6]);
  });

  it('streams an async source in memory bounded by the results in flight, however large the limit', async () => {
    const count = 100_000;
    async function* source(): AsyncGenerator<number> {
      for (let i = 0; i < count; i++) yield i;
    }
    collectGarbage();
    const before = process.memoryUsage().heapUsed;
    let peak = before;
    let seen = 0;
    // The consumer keeps up: one result at a time is in flight, whatever the limit allows.
    for await (const _ of mapWithLimit(source(), (n) => n, { limit: 2 ** 30 })) {
      if (++seen % 20_000 === 0) {
        collectGarbage();
        peak = Math.max(peak, process.memoryUsage().heapUsed);
      }
    }
    expect(seen).to.equal(count);
    expect(peak - before, 'heap growth in bytes').to.be.below(4 * 2 ** 20);
  });

  it('starts nothing before the consumer asks for the first result', async () => {
    const probe = new Probe();
    const stream = mapWithLimit([1, 2, 3], (n) => probe.work(n, 10), { limit: 2 });
    await time.clock.tickAsync(50);
    expect(probe.started).to.deep.equal([]);
    const first = observe(stream.next());
    await time.clock.tickAsync(10);
    expect(first.value).to.deep.equal({ value: 1, done: false });
  });

  it('keeps at most `limit` results started but not yet consumed (bounded memory)', async () => {
    let pulled = 0;
    let consumed = 0;
    let maxAhead = 0;
    function* source(): Generator<number> {
      for (let i = 0; i < 100; i++) {
        pulled++;
        maxAhead = Math.max(maxAhead, pulled - consumed);
        yield i;
      }
    }
    const stream = mapWithLimit(source(), async (n) => n, { limit: 4 });
    const first = observe(stream.next());
    await time.clock.tickAsync(100); // the consumer is slow: nothing more is taken meanwhile
    expect(first.value).to.deep.equal({ value: 0, done: false });
    expect(pulled).to.equal(5);
    consumed = 1;
    const rest = observe(
      (async () => {
        for await (const _ of stream) {
          consumed++;
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      })(),
    );
    await time.clock.tickAsync(1000);
    expect(rest.settled).to.equal(true);
    expect(consumed).to.equal(100);
    expect(maxAhead).to.be.at.most(5);
  });

  it('keeps input order over an async source when the consumer awaits between results', async () => {
    async function* source(): AsyncGenerator<number> {
      yield 0;
      yield 1;
      yield 2;
      yield 3;
    }
    const result = observe(
      (async () => {
        const out: number[] = [];
        for await (const value of mapWithLimit(source(), (i) => i * 10, { limit: 2 })) {
          out.push(value);
          await new Promise((resolve) => setTimeout(resolve, 0));
        }
        return out;
      })(),
    );
    await time.clock.tickAsync(100);
    expect(result.value).to.deep.equal([0, 10, 20, 30]);
  });

  it('loses no result when an async source pauses while a slow head task holds the window', async () => {
    async function* source(): AsyncGenerator<number> {
      yield* [0, 1, 2, 3, 4];
      await new Promise((resolve) => setTimeout(resolve, 0));
      yield 5;
    }
    const result = observe(
      (async () => {
        const out: number[] = [];
        const stream = mapWithLimit(
          source(),
          async (i) => {
            if (i === 0) await new Promise((resolve) => setTimeout(resolve, 2));
            return i;
          },
          { limit: 4 },
        );
        for await (const value of stream) {
          out.push(value);
          await new Promise((resolve) => setTimeout(resolve, 0));
        }
        return out;
      })(),
    );
    await time.clock.tickAsync(100);
    expect(result.value).to.deep.equal([0, 1, 2, 3, 4, 5]);
  });

  it('passes the run’s signal to a mapper that declares it, and to currentSignal()', async () => {
    const boom = new Error('boom');
    const signals: AbortSignal[] = [];
    const stream = mapWithLimit(
      [100, 10],
      async (ms, signal) => {
        signals.push(signal, currentSignal());
        await new Promise((resolve) => setTimeout(resolve, ms));
        if (ms === 10) throw boom;
        return ms;
      },
      { limit: 2 },
    );
    const result = observe(collect(stream));
    await time.clock.tickAsync(10);
    expect(result.error).to.equal(boom);
    expect(signals).to.have.length(4);
    for (const signal of signals) expect(signal.reason).to.equal(boom);
  });

  it('fails fast: throws the first error and starts nothing after it', async () => {
    const probe = new Probe();
    const boom = new Error('boom');
    const stream = mapWithLimit(
      [0, 1, 2, 3, 4, 5],
      (id) => probe.work(id, id === 1 ? 5 : 20, id === 1 ? boom : undefined),
      { limit: 2 },
    );
    const result = observe(collect(stream));
    await time.clock.tickAsync(200);
    expect(result.error).to.equal(boom);
    expect(probe.started).to.deep.equal([0, 1]);
  });

  it('throws the error to one read only: the reads after it find the stream done', async () => {
    const boom = new Error('boom');
    const stream = mapWithLimit([0, 1], async (id) => Promise.reject(id === 0 ? boom : 1), {
      limit: 1,
    });
    const first = observe(stream.next());
    await time.clock.tickAsync(0);
    expect(first.error).to.equal(boom);
    expect(await stream.next()).to.deep.equal({ value: undefined, done: true });
  });

  it('throws the error that stopped it, not one the source raises afterwards', async () => {
    const boom = new Error('boom');
    let breakSource: (error: Error) => void = () => undefined;
    let pulls = 0;
    const source: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({
        next: () =>
          ++pulls <= 2
            ? Promise.resolve({ value: pulls - 1, done: false })
            : new Promise<IteratorResult<number>>((_, reject) => (breakSource = reject)),
        return: async () => ({ value: undefined, done: true }),
      }),
    };
    const stream = mapWithLimit(
      source,
      (n) => (n === 0 ? n : new Promise((_, reject) => setTimeout(() => reject(boom), 10))),
      { limit: 2 },
    );
    const first = observe(stream.next());
    await time.clock.tickAsync(0);
    expect(first.value).to.deep.equal({ value: 0, done: false });
    // While the consumer holds its result, the second call fails, then the source's pending pull breaks.
    await time.clock.tickAsync(10);
    breakSource(new Error('source broke'));
    await time.clock.tickAsync(0);
    const second = observe(stream.next());
    await time.clock.tickAsync(0);
    expect(second.error).to.equal(boom);
  });

  it('answers reads made ahead of the results in order, each when its own result arrives', async () => {
    const probe = new Probe();
    const stream = mapWithLimit([10, 30], (ms) => probe.work(ms, ms), { limit: 2 });
    const reads = [stream.next(), stream.next(), stream.next()].map(observe);
    await time.clock.tickAsync(10);
    expect(reads.map((read) => read.settled)).to.deep.equal([true, false, false]);
    expect(reads[0].value).to.deep.equal({ value: 10, done: false });
    await time.clock.tickAsync(20);
    expect(reads.map((read) => read.value)).to.deep.equal([
      { value: 10, done: false },
      { value: 30, done: false },
      { value: undefined, done: true },
    ]);
  });

  it('stops the work and closes the source when the consumer breaks out', async () => {
    const counter = { pulled: 0, closed: false };
    const signals: AbortSignal[] = [];
    const stream = mapWithLimit(
      countedAsyncTasks([1, 2, 3, 4, 5, 6, 7, 8], counter),
      async (n, signal) => {
        signals.push(signal);
        await new Promise((resolve) => setTimeout(resolve, n === 1 ? 1 : 100));
        return n;
      },
      { limit: 3 },
    );
    const seen: number[] = [];
    const loop = observe(
      (async () => {
        for await (const n of stream) {
          seen.push(n);
          break;
        }
      })(),
    );
    await time.clock.tickAsync(1);
    expect(loop.settled).to.equal(true);
    expect(seen).to.deep.equal([1]);
    expect(counter.closed).to.equal(true);
    expect(signals.at(-1)!.aborted).to.equal(true);
    expect((signals.at(-1)!.reason as Error).name).to.equal('AbortError');
    expect((signals.at(-1)!.reason as Error).message).to.equal(
      'mapWithLimit: the consumer stopped iterating',
    );
  });

  it('creates no AbortController for a mapper that declares no signal and reads no currentSignal()', async () => {
    const counter = countAbortControllers();
    try {
      const plain = observe(collect(mapWithLimit([1, 2, 3], async (n) => n, { limit: 2 })));
      await time.clock.tickAsync(0);
      expect(plain.value).to.deep.equal([1, 2, 3]);
      expect(counter.count).to.equal(0);
      const reading = observe(
        collect(mapWithLimit([1, 2], async (_n, signal) => signal.aborted, { limit: 2 })),
      );
      await time.clock.tickAsync(0);
      expect(reading.value).to.deep.equal([false, false]);
      expect(counter.count).to.equal(1);
    } finally {
      counter.restore();
    }
  });

  it('ends with the outer signal’s reason when it aborts', async () => {
    const controller = new AbortController();
    const probe = new Probe();
    const result = observe(
      collect(
        mapWithLimit([1, 2, 3], (n) => probe.work(n, 50), {
          limit: 1,
          signal: controller.signal,
        }),
      ),
    );
    await time.clock.tickAsync(10);
    controller.abort(new Error('stop'));
    await time.clock.tickAsync(100);
    expect((result.error as Error).message).to.equal('stop');
    expect(probe.started).to.deep.equal([1]);
  });

  it('leaves no listener on the outer signal when closed before its first read', async () => {
    const controller = new AbortController();
    let listeners = 0;
    const add = controller.signal.addEventListener.bind(controller.signal);
    controller.signal.addEventListener = (...args: Parameters<typeof add>) => {
      listeners++;
      add(...args);
    };
    const stream = mapWithLimit([1, 2], async (n) => n, { limit: 1, signal: controller.signal });
    await stream.return();
    expect(listeners).to.equal(0);
  });

  it('throws ConfigError at the call, not at the first iteration', () => {
    expect(() => mapWithLimit([1], async (n) => n, { limit: 0 })).to.throw(ConfigError, /limit/);
    expect(() => mapWithLimit([1], 'f' as never, { limit: 1 })).to.throw(ConfigError, /fn/);
    expect(() => mapWithLimit({} as never, async (n) => n, { limit: 1 })).to.throw(
      ConfigError,
      /source/,
    );
  });
});
