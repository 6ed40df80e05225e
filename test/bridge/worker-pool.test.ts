import { expect } from 'chai';
import { availableParallelism } from 'node:os';
import { BridgeError, ConfigError, WorkerPool } from '../../src/index.js';
import { rejection } from '../support/rejection.js';

const threadId = async (): Promise<number> => (await import('node:worker_threads')).threadId;

const sleepThen = async (ms: number, value: number): Promise<number> => {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return value;
};

describe('WorkerPool', () => {
  const pools: WorkerPool[] = [];
  const pool = (size: number, options: object = {}): WorkerPool => {
    const created = new WorkerPool({ size, ...options });
    pools.push(created);
    return created;
  };
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.close()));
  });

  it('sizes itself to the available parallelism minus one, at least 1, by default', () => {
    expect(new WorkerPool().size).to.equal(Math.max(1, availableParallelism() - 1));
  });

  it('starts no thread before the first call', () => {
    expect(pool(2).threads).to.equal(0);
  });

  it('reuses its worker for later calls', async () => {
    const single = pool(1);
    const ids = [
      await single.run(threadId),
      await single.run(threadId),
      await single.run(threadId),
    ];
    expect(new Set(ids).size).to.equal(1);
    expect(single.threads).to.equal(1);
  });

  it('never runs more threads than its size, queueing the rest', async () => {
    const two = pool(2);
    const calls = [1, 2, 3, 4, 5].map((n) => two.run(sleepThen, 30, n));
    expect(two.active).to.equal(2);
    expect(two.pending).to.equal(3);
    expect(await Promise.all(calls)).to.deep.equal([1, 2, 3, 4, 5]);
    expect(two.threads).to.equal(2);
    expect(two.pending).to.equal(0);
  });

  it('starts queued calls in arrival order', async () => {
    const single = pool(1);
    const finished: number[] = [];
    await Promise.all(
      [1, 2, 3, 4].map((n) => single.run(sleepThen, 5, n).then((value) => finished.push(value))),
    );
    expect(finished).to.deep.equal([1, 2, 3, 4]);
  });

  it('rejects a queued call whose arguments cannot be copied and goes on with the next one', async () => {
    const single = pool(1);
    const first = single.run(sleepThen, 30, 1);
    const uncopyable = rejection(
      single.run(
        (_f: unknown) => 0,
        () => 0,
      ),
    );
    const third = single.run(sleepThen, 0, 3);
    expect(await first).to.equal(1);
    expect((await uncopyable).message).to.match(/^Argument 0 of/);
    expect(await third).to.equal(3);
  });

  it('rejects the call of a worker that exits, and runs later and queued calls on a new one', async () => {
    const single = pool(1);
    const first = await single.run(threadId);
    const crashed = single.run(() => process.exit(7));
    const queued = single.run(threadId);
    const error = await rejection(crashed);
    expect(error).to.be.instanceOf(BridgeError);
    expect(error.message).to.include('exited with code 7');
    const replacement = await queued;
    expect(replacement).to.not.equal(first);
    expect(await single.run(sleepThen, 0, 9)).to.equal(9);
  });

  it('rejects the call of a worker killed by an uncaught error, with that error as the cause', async () => {
    const single = pool(1);
    const error = await rejection(
      single.run(
        () =>
          new Promise(() => {
            setTimeout(() => {
              throw new Error('late failure');
            }, 5);
          }),
      ),
    );
    expect(error).to.be.instanceOf(BridgeError);
    expect(error.message).to.include('late failure');
    expect((error.cause as Error).message).to.equal('late failure');
    expect(await single.run(sleepThen, 0, 1)).to.equal(1);
  });

  it('names what a worker threw uncaught when it is not an Error', async () => {
    const single = pool(1);
    const error = await rejection(
      single.run(
        () =>
          new Promise(() => {
            setTimeout(() => {
              throw 42;
            }, 5);
          }),
      ),
    );
    expect(error).to.be.instanceOf(BridgeError);
    expect(error.message).to.include('crashed (42)');
    expect(error.cause).to.equal(42);
  });

  it('gives each call its own answer when the function posts messages of its own to the parent port', async () => {
    const single = pool(1);
    const chatty = async (value: string): Promise<string> => {
      const { parentPort } = await import('node:worker_threads');
      parentPort!.postMessage('progress');
      parentPort!.postMessage({ ok: true, value: 'forged', loaded: true });
      return value;
    };
    expect(await single.run(chatty, 'first')).to.equal('first');
    expect(await single.run(sleepThen, 5, 2)).to.equal(2);
    expect(await single.run(chatty, 'third')).to.equal('third');
  });

  it('rejects the call of a worker that runs out of memory, and replaces it', async () => {
    const limited = pool(1, { resourceLimits: { maxOldGenerationSizeMb: 16 } });
    const error = await rejection(
      limited.run(() => {
        const hoard: number[][] = [];
        for (;;) hoard.push(new Array<number>(100_000).fill(1));
      }),
    );
    expect(error).to.be.instanceOf(BridgeError);
    expect(error.message).to.match(/memory/i);
    expect(await limited.run(sleepThen, 0, 2)).to.equal(2);
  });

  it('gives every worker the resource limits it checked, each read once, whatever the object does later', async () => {
    let reads = 0;
    const flipping = Object.defineProperty({}, 'maxOldGenerationSizeMb', {
      enumerable: true,
      get: () => (++reads === 1 ? 64 : -5),
    });
    const mutated = { maxOldGenerationSizeMb: 64, stackSizeMb: 4 };
    const pools = [pool(1, { resourceLimits: flipping }), pool(1, { resourceLimits: mutated })];
    mutated.maxOldGenerationSizeMb = -5;
    mutated.stackSizeMb = 8;
    const limitsInWorker = () =>
      process.getBuiltinModule('node:worker_threads').resourceLimits.maxOldGenerationSizeMb;
    for (const limited of pools) expect(await limited.run(limitsInWorker)).to.equal(64);
    const stackInWorker = () =>
      process.getBuiltinModule('node:worker_threads').resourceLimits.stackSizeMb;
    expect(await pools[1].run(stackInWorker)).to.equal(4);
    expect(reads).to.equal(1);
  });

  it('rejects running, queued and later calls once closed', async () => {
    const single = pool(1);
    const running = rejection(single.run(sleepThen, 1000, 1));
    const queued = rejection(single.run(sleepThen, 0, 2));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await single.close();
    expect((await running).message).to.include('stopped because the pool was closed');
    expect((await queued).message).to.include('closed before');
    expect((await rejection(single.run(sleepThen, 0, 3))).message).to.include('closed');
    expect(single.threads).to.equal(0);
  });

  it('refuses a size that is not a positive integer, and unknown options', () => {
    expect(() => new WorkerPool({ size: 0 })).to.throw(ConfigError, /size: expected an integer/);
    expect(() => new WorkerPool({ size: 1.5 })).to.throw(ConfigError);
    expect(() => new WorkerPool({ sise: 2 } as never)).to.throw(ConfigError, /unknown option/);
  });

  it('refuses resource limits that would end the process or every worker at its start', () => {
    // A stack of 1e-9 MB overflowed as the first worker started and ended the process (exit code 6).
    for (const [key, value, rule] of [
      ['stackSizeMb', 1e-9, 'from 2 to 1024'],
      ['stackSizeMb', 0.5, 'from 2 to 1024'],
      ['stackSizeMb', 1e300, 'from 2 to 1024'],
      ['stackSizeMb', Infinity, 'from 2 to 1024'],
      ['maxOldGenerationSizeMb', 4, 'from 8 to 1048576'],
      ['maxOldGenerationSizeMb', 1e300, 'from 8 to 1048576'],
      ['maxYoungGenerationSizeMb', Infinity, 'from 1 to 1048576'],
      ['codeRangeSizeMb', 0, 'from 1 to 1048576'],
    ] as const)
      expect(
        () => new WorkerPool({ resourceLimits: { [key]: value } }),
        `${key} ${value}`,
      ).to.throw(ConfigError, `resourceLimits.${key}: expected a number ${rule}, got ${value}`);
  });
});
