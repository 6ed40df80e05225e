import { expect } from 'chai';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import sinon from 'sinon';
import {
  BridgeError,
  ConfigError,
  WorkerPool,
  runInExecutor,
  shutdownExecutor,
  syncToAsync,
} from '../../src/index.js';
import { rejection } from '../support/rejection.js';
import { HOSTILE_THROWS } from './hostile-throws.js';

const math = new URL('../fixtures/bridge/math.js', import.meta.url);

/** Keeps a worker's CPU busy for `ms` of wall time. Self-contained, so it can be sent as source. */
const spin = (ms: number): number => {
  const end = Date.now() + ms;
  while (Date.now() < end);
  return ms;
};

/** A fixed amount of CPU work, so that time measures how much CPU a run actually got. */
const work = (n: number): number => {
  let x = 0;
  for (let i = 0; i < n; i++) x = (x + i * i) % 1_000_003;
  return x;
};

/** The same work, reporting when it ran (`Date.now()` is one clock for every thread). */
const timedWork = (n: number): { start: number; end: number; x: number } => {
  const start = Date.now();
  let x = 0;
  for (let i = 0; i < n; i++) x = (x + i * i) % 1_000_003;
  return { start, end: Date.now(), x };
};

describe('syncToAsync and runInExecutor', () => {
  after(() => shutdownExecutor());

  it('returns the result of the function, computed on a worker thread', async () => {
    const calc = syncToAsync((n: number) => {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += i * i;
      return sum;
    });
    expect(await calc(1000)).to.equal(332_833_500);
    expect(await runInExecutor(async (a: number, b: string) => `${b}${a}`, 7, 'x')).to.equal('x7');
  });

  it('works while sinon fake timers are installed', async () => {
    const clock = sinon.useFakeTimers();
    try {
      expect(await runInExecutor((n: number) => n + 1, 1)).to.equal(2);
    } finally {
      clock.restore();
    }
  });

  it('keeps the event loop responsive while a 400 ms computation runs', async () => {
    let ticks = 0;
    const interval = setInterval(() => ticks++, 20);
    const started = performance.now();
    try {
      expect(await runInExecutor(spin, 400)).to.equal(400);
    } finally {
      clearInterval(interval);
    }
    expect(performance.now() - started).to.be.at.least(390);
    // 20 ticks if the loop were idle; a blocked loop would get none until the end.
    expect(ticks).to.be.at.least(10);
  });

  it('runs 4 CPU tasks on 2 workers at least 1.3 times faster than on one, in sequence', async function () {
    if (availableParallelism() < 2) {
      this.test!.title += ' (skipped: this machine has a single core)';
      this.skip();
    }
    this.timeout(15_000);
    // About 200 ms of work per task on this machine.
    const started = performance.now();
    work(2_000_000);
    const n = Math.round((2_000_000 * 200) / Math.max(1, performance.now() - started));
    const one = new WorkerPool({ size: 1 });
    const two = new WorkerPool({ size: 2 });
    try {
      await Promise.all([
        one.run(timedWork, 1000),
        two.run(timedWork, 1000),
        two.run(timedWork, 1000),
      ]);
      const measure = async (): Promise<{ ratio: number; cores: number; overlap: number }> => {
        let start = performance.now();
        for (let i = 0; i < 4; i++) await one.run(timedWork, n);
        const sequential = performance.now() - start;
        const cpu = process.cpuUsage();
        start = performance.now();
        const runs = await Promise.all([1, 2, 3, 4].map(() => two.run(timedWork, n)));
        const parallel = performance.now() - start;
        const used = process.cpuUsage(cpu);
        runs.sort((a, b) => a.start - b.start);
        return {
          ratio: sequential / parallel,
          // CPU this process was granted while the 4 tasks ran, in cores: other load on the machine lowers it.
          cores: (used.user + used.system) / 1000 / parallel,
          overlap: Math.min(runs[0].end, runs[1].end) - Math.max(runs[0].start, runs[1].start),
        };
      };
      // The machine may be shared: one retry absorbs a burst of someone else's load.
      let result = await measure();
      if (result.ratio <= 1.3) {
        const again = await measure();
        if (again.ratio > result.ratio) result = again;
      }
      // Whatever the load, the two workers ran tasks at the same time.
      expect(result.overlap).to.be.above(0);
      if (result.ratio <= 1.3 && result.cores < 1.5) {
        const { ratio, cores } = result;
        this.test!.title += ` (skipped: the machine is busy; this process got ${cores.toFixed(2)} cores, speed-up ${ratio.toFixed(2)})`;
        this.skip();
      }
      expect(result.ratio).to.be.above(1.3);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  it('rethrows an error with its built-in class, its message and the worker stack after the caller stack', async () => {
    const check = syncToAsync((n: number) => {
      if (n > 10) throw new RangeError(`${n} is too big`);
      return n;
    });
    async function callerOfCheck(): Promise<number> {
      return await check(11);
    }
    const error = await rejection(callerOfCheck());
    expect(error).to.be.instanceOf(RangeError);
    expect(error.message).to.equal('11 is too big');
    const [caller, worker] = error.stack!.split('--- on the worker thread ---');
    expect(caller).to.match(/^RangeError: 11 is too big\n/);
    expect(caller).to.include('callerOfCheck');
    expect(worker).to.match(/\n {4}at .*dspu-bridge\/function-\d+/);
  });

  for (const { label, fn, expected } of HOSTILE_THROWS) {
    it(`rethrows ${label} without losing its worker`, async () => {
      const error = await rejection(runInExecutor(fn));
      expect(error.message).not.to.include('crashed');
      expected(error);
    });
  }

  it('rethrows a subclass of a built-in error as that built-in, keeping its name and own properties', async () => {
    const error = await rejection(
      runInExecutor(() => {
        class ValidationError extends TypeError {
          override readonly name = 'ValidationError';
          readonly field = 'email';
        }
        throw new ValidationError('invalid', { cause: new Error('inner') });
      }),
    );
    expect(error).to.be.instanceOf(TypeError);
    expect(error.name).to.equal('ValidationError');
    expect(error).to.include({ field: 'email' });
    expect((error.cause as Error).message).to.equal('inner');
  });

  it('rejects with a BridgeError saying the function must be self-contained when it uses a captured variable', async () => {
    const factor = 3;
    const times = syncToAsync((n: number) => n * factor);
    const error = await rejection(times(2));
    expect(error).to.be.instanceOf(BridgeError);
    expect(error.message).to.include('must be self-contained');
    expect(error.message).to.include('"factor"');
    expect(error.message).to.include(
      "{ module: new URL('./math.js', import.meta.url), export: 'heavy' }",
    );
    expect(error.cause).to.be.instanceOf(ReferenceError);
  });

  it('stops a call that runs past its timeout, freeing the thread for later calls', async () => {
    const pool = new WorkerPool({ size: 1 });
    try {
      const limited = syncToAsync(spin, { pool, timeout: 200 });
      const started = performance.now();
      const error = await rejection(limited(10_000));
      expect(error).to.be.instanceOf(BridgeError);
      expect(error.message).to.include('ran past its 200 ms timeout');
      expect(performance.now() - started).to.be.below(2000);
      expect(await limited(10)).to.equal(10);
    } finally {
      await pool.close();
    }
  });

  it('refuses a timeout that is not a positive duration, and a pool that is not a WorkerPool', () => {
    expect(() => syncToAsync(spin, { timeout: 0 })).to.throw(ConfigError, /greater than 0/);
    expect(() => syncToAsync(spin, { pool: {} as never })).to.throw(ConfigError, /a WorkerPool/);
  });

  it('points at the compiler when the missing name looks like an inserted helper', async () => {
    const __awaiter = (n: number): number => n;
    const error = await rejection(runInExecutor((n: number) => __awaiter(n), 1));
    expect(error).to.be.instanceOf(BridgeError);
    expect(error.message).to.include(
      'looks like a helper that a compiler or coverage tool inserted',
    );
  });

  it('runs methods written in shorthand, async ones included', async () => {
    const calculator = {
      double(n: number) {
        return n * 2;
      },
      async triple(n: number) {
        return n * 3;
      },
    };
    expect(await runInExecutor(calculator.double, 21)).to.equal(42);
    expect(await runInExecutor(calculator.triple, 5)).to.equal(15);
  });

  it('refuses native and bound functions at once with a BridgeError', () => {
    expect(() => syncToAsync(Math.max)).to.throw(BridgeError, /native or bound/);
    expect(() => syncToAsync(spin.bind(null))).to.throw(BridgeError, /native or bound/);
  });

  it('refuses a class at once with a BridgeError', () => {
    class Calculator {}
    expect(() => syncToAsync(Calculator as never)).to.throw(BridgeError, /class Calculator/);
  });

  it('refuses anything that is neither a function nor a module reference with a ConfigError', () => {
    expect(() => syncToAsync(42 as never)).to.throw(ConfigError, /fn: expected/);
    expect(() => syncToAsync({ module: './math.js', export: 'heavy' })).to.throw(
      ConfigError,
      /relative path/,
    );
  });

  it('rejects with a BridgeError naming the argument that cannot be copied', async () => {
    const error = await rejection(
      runInExecutor(
        (_a: number, _b: unknown) => 0,
        1,
        () => 2,
      ),
    );
    expect(error).to.be.instanceOf(BridgeError);
    expect(error.message).to.match(/^Argument 1 of/);
  });

  it('rejects with a BridgeError when the result cannot be copied back', async () => {
    const error = await rejection(runInExecutor(() => Symbol('result')));
    expect(error).to.be.instanceOf(BridgeError);
    expect(error.message).to.include('cannot be sent back');
  });

  describe('module form', () => {
    it('runs an exported function that uses its module scope and imports', async () => {
      const heavy = syncToAsync<[number], number>({ module: math, export: 'heavy' });
      expect(await heavy(1000)).to.equal(665_667_000);
      expect(await runInExecutor({ module: math, export: 'slowDouble' }, 21, 5)).to.equal(42);
    });

    it('accepts an absolute path and defaults to the default export', async () => {
      expect(await runInExecutor({ module: fileURLToPath(math) }, 5)).to.equal(15);
    });

    it('rethrows the error of an exported function', async () => {
      const error = await rejection(runInExecutor({ module: math, export: 'fails' }, 'no'));
      expect(error).to.be.instanceOf(RangeError);
      expect(error.message).to.equal('no');
    });

    it('rejects with a BridgeError listing the exports when the name is not an exported function', async () => {
      const error = await rejection(runInExecutor({ module: math, export: 'answer' }));
      expect(error).to.be.instanceOf(BridgeError);
      expect(error.message).to.include('has no exported function "answer"');
      expect(error.message).to.include('heavy');
    });
  });
});
