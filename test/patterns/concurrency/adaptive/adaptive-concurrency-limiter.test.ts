import { expect } from 'chai';
import {
  AdaptiveConcurrencyLimiter,
  ConcurrencyLimitError,
  ConcurrencyLimiter,
  ConfigError,
  TimeoutError,
  runWithTimeout,
  withSignal,
  type AdaptiveConcurrencyOptions,
} from '../../../../src/index.js';
import { limiterFromOptions } from '../../../../src/patterns/concurrency/adaptive/adaptive-concurrency-limiter.js';
import { observe, useFakeClock, sleep } from '../../../support/fake-clock.js';

/** Runs `count` calls of `ms` each, one after another, through `limiter`; `fail` says which throw. */
async function calls(
  limiter: ConcurrencyLimiter,
  count: number,
  ms: number,
  fail: (i: number) => unknown = () => undefined,
): Promise<void> {
  for (let i = 0; i < count; i++) {
    await limiter
      .run(async () => {
        await sleep(ms);
        const error = fail(i);
        if (error !== undefined) throw error;
      })
      .catch(() => undefined);
  }
}

/** Makes `performance.now()` read `ms` less from now on, as a clock that steps back; returns the undo. */
function stepMonotonicClockBack(ms: number): () => void {
  const read = performance.now;
  performance.now = () => read.call(performance) - ms;
  return () => {
    performance.now = read;
  };
}

function aimd(options: AdaptiveConcurrencyOptions = {}): AdaptiveConcurrencyLimiter {
  return new AdaptiveConcurrencyLimiter({
    algorithm: 'aimd',
    initialLimit: 10,
    backoffRatio: 0.5,
    ...options,
  });
}

describe('AdaptiveConcurrencyLimiter', () => {
  const time = useFakeClock();

  it('is a ConcurrencyLimiter starting at its initial limit', () => {
    const limiter = new AdaptiveConcurrencyLimiter({ initialLimit: 7 });
    expect(limiter).to.be.instanceOf(ConcurrencyLimiter);
    expect(limiter.kind).to.equal('concurrency');
    expect(limiter.limit).to.equal(7);
  });

  it('defaults to gradient, limits 20 within [1, 200], no queue bound and a probe every 30 s', () => {
    expect(new AdaptiveConcurrencyLimiter().adaptiveOptions).to.deep.equal({
      algorithm: 'gradient',
      initialLimit: 20,
      minLimit: 1,
      maxLimit: 200,
      maxQueue: Infinity,
      maxWait: Infinity,
      latencyThreshold: Infinity,
      backoffRatio: 0.9,
      smoothing: 0.2,
      probeIntervalMs: 30_000,
      exceptions: undefined,
    });
  });

  it('starts within its bounds when they exclude the default initial limit', () => {
    expect(new AdaptiveConcurrencyLimiter({ maxLimit: 5 }).limit).to.equal(5);
    expect(new AdaptiveConcurrencyLimiter({ minLimit: 50 }).limit).to.equal(50);
  });

  it('never runs more than its limit at once, and queues the rest in arrival order', async () => {
    const limiter = new AdaptiveConcurrencyLimiter({ initialLimit: 2 });
    const started: number[] = [];
    let running = 0;
    let peak = 0;
    const results = [0, 1, 2, 3, 4].map((id) =>
      observe(
        limiter.run(async () => {
          started.push(id);
          peak = Math.max(peak, ++running);
          await sleep(10);
          running--;
          return id;
        }),
      ),
    );
    await time.clock.tickAsync(100);
    expect(results.map((r) => r.value)).to.deep.equal([0, 1, 2, 3, 4]);
    expect(started).to.deep.equal([0, 1, 2, 3, 4]);
    expect(peak).to.equal(2);
  });

  it('emits limitChange with the old and the new limit', async () => {
    const limiter = aimd();
    const changes: unknown[] = [];
    limiter.events.on('limitChange', (event) => changes.push(event));
    const done = calls(limiter, 10, 5, () => new Error('down'));
    await time.clock.tickAsync(1_000);
    await done;
    expect(changes).to.deep.equal([{ from: 10, to: 5 }]);
    expect(limiter.limit).to.equal(5);
  });

  it('measures latency from each call’s own start: calls within latencyThreshold leave an AIMD limit', async () => {
    const limiter = aimd({ latencyThreshold: 50 });
    await time.clock.tickAsync(10_000);
    const done = calls(limiter, 10, 40);
    await time.clock.tickAsync(1_000);
    await done;
    expect(limiter.limit).to.equal(10);
  });

  it('measures each call where it runs: successes slower than latencyThreshold lower an AIMD limit', async () => {
    const limiter = aimd({ latencyThreshold: 50 });
    const done = calls(limiter, 10, 60);
    await time.clock.tickAsync(1_000);
    await done;
    expect(limiter.limit).to.equal(5);
  });

  it('counts timeouts and a downstream ConcurrencyLimitError as drops whatever `exceptions` says', async () => {
    for (const error of [new TimeoutError(5), new ConcurrencyLimitError('downstream full')]) {
      const limiter = aimd({ exceptions: [RangeError] });
      const done = calls(limiter, 10, 1, () => error);
      await time.clock.tickAsync(100);
      await done;
      expect(limiter.limit, error.name).to.equal(5);
    }
  });

  it('counts only the errors `exceptions` names as drops', async () => {
    const limiter = aimd({ exceptions: [RangeError] });
    const done = calls(limiter, 10, 1, () => new TypeError('bad request'));
    await time.clock.tickAsync(100);
    await done;
    expect(limiter.limit).to.equal(10);
    const dropped = calls(limiter, 10, 1, () => new RangeError('overloaded'));
    await time.clock.tickAsync(100);
    await dropped;
    expect(limiter.limit).to.equal(5);
  });

  it('counts a timeout of an enclosing Timeout as a drop', async () => {
    const limiter = aimd();
    for (let i = 0; i < 10; i++) {
      const call = observe(runWithTimeout(() => limiter.run(() => sleep(100)), 10));
      await time.clock.tickAsync(100);
      expect(call.error).to.be.instanceOf(TimeoutError);
    }
    expect(limiter.limit).to.equal(5);
  });

  it('learns nothing from a call its caller gave up on', async () => {
    const limiter = aimd();
    for (let i = 0; i < 10; i++) {
      const controller = new AbortController();
      const call = observe(
        withSignal(controller.signal, () =>
          limiter.run(() => sleep(10).then(() => Promise.reject(new Error('aborted')))),
        ),
      );
      controller.abort();
      await time.clock.tickAsync(20);
      expect(call.settled).to.equal(true);
    }
    expect(limiter.limit).to.equal(10);
  });

  it('learns nothing from a permit taken with acquire()', async () => {
    const limiter = aimd({ latencyThreshold: 5 });
    for (let i = 0; i < 20; i++) {
      const permit = await limiter.acquire();
      await time.clock.tickAsync(10);
      permit.release();
    }
    expect(limiter.limit).to.equal(10);
  });

  it('ignores calls that started before the limit last changed', async () => {
    const limiter = aimd();
    // 20 slow failing calls at once: the first 10 to end lower the limit; the other 10 started before that.
    const all = Array.from({ length: 10 }, () =>
      observe(limiter.run(() => sleep(10).then(() => Promise.reject(new Error('down'))))),
    );
    await time.clock.tickAsync(20);
    expect(limiter.limit).to.equal(5);
    const late = Array.from({ length: 5 }, () =>
      observe(limiter.run(() => sleep(10).then(() => Promise.reject(new Error('down'))))),
    );
    await time.clock.tickAsync(20);
    expect([...all, ...late].every((c) => c.settled)).to.equal(true);
    expect(limiter.limit).to.equal(5);
  });

  it('starts queued calls at once when the limit grows', async () => {
    const limiter = aimd({ initialLimit: 1 });
    let running = 0;
    let peak = 0;
    const work = () =>
      limiter.run(async () => {
        peak = Math.max(peak, ++running);
        await sleep(1);
        running--;
      });
    // Ten calls at the limit of 1 make one window; the limit grows to 2 and two queued calls run together.
    const first = Array.from({ length: 10 }, work);
    await time.clock.tickAsync(50);
    await Promise.all(first);
    expect(limiter.limit).to.equal(2);
    const second = Array.from({ length: 4 }, work);
    await time.clock.tickAsync(50);
    await Promise.all(second);
    expect(peak).to.equal(2);
  });

  it('reads sub-millisecond latencies from the monotonic clock', async () => {
    const limiter = aimd({ latencyThreshold: 0.5 });
    for (let i = 0; i < 10; i++)
      await limiter.run(async () => {
        time.clock.tick(0.7);
      });
    expect(limiter.limit).to.equal(5);
  });

  it('goes on learning from the calls that start after the monotonic clock went back', async () => {
    const limiter = aimd({ latencyThreshold: 50 });
    const restore = stepMonotonicClockBack(60_000);
    try {
      const done = calls(limiter, 10, 60);
      await time.clock.tickAsync(1_000);
      await done;
    } finally {
      restore();
    }
    expect(limiter.limit).to.equal(5);
  });

  it('learns nothing from a call whose latency spans a step back of the clock', async () => {
    const limiter = new AdaptiveConcurrencyLimiter({ algorithm: 'vegas', initialLimit: 10 });
    const spanning = Array.from({ length: 10 }, () => limiter.run(() => sleep(10)));
    await time.clock.tickAsync(5);
    const restore = stepMonotonicClockBack(60_000);
    try {
      await time.clock.tickAsync(5);
      await Promise.all(spanning);
      // Windows of calls at the dependency's no-load latency: nothing queues, so the limit may only grow.
      for (let i = 0; i < 5; i++) {
        const window = Promise.all(Array.from({ length: 10 }, () => limiter.run(() => sleep(10))));
        await time.clock.tickAsync(1_000);
        await window;
      }
    } finally {
      restore();
    }
    expect(limiter.limit).to.be.at.least(10);
  });

  it('rejects beyond maxQueue and after maxWait, as a ConcurrencyLimiter does', async () => {
    const limiter = new AdaptiveConcurrencyLimiter({
      initialLimit: 1,
      maxQueue: 1,
      maxWait: '50ms',
    });
    void limiter.run(() => sleep(1_000));
    const waiting = observe(limiter.run(async () => 'late'));
    const refused = observe(limiter.run(async () => 'refused'));
    await time.clock.tickAsync(0);
    expect(refused.error).to.be.instanceOf(ConcurrencyLimitError);
    await time.clock.tickAsync(50);
    expect(waiting.error)
      .to.be.instanceOf(ConcurrencyLimitError)
      .with.property('message')
      .that.matches(/concurrency limit 1/);
  });

  it('accepts bounds that meet: minLimit = maxLimit = initialLimit, and smoothing 1', () => {
    const pinned = new AdaptiveConcurrencyLimiter({ minLimit: 5, maxLimit: 5, initialLimit: 5 });
    expect(pinned.limit).to.equal(5);
    expect(new AdaptiveConcurrencyLimiter({ smoothing: 1 }).adaptiveOptions.smoothing).to.equal(1);
  });

  it('takes probeInterval for vegas as for gradient, and says which algorithms read it', () => {
    const limiter = new AdaptiveConcurrencyLimiter({ algorithm: 'vegas', probeInterval: '10s' });
    expect(limiter.adaptiveOptions.probeIntervalMs).to.equal(10_000);
    expect(() => new AdaptiveConcurrencyLimiter({ algorithm: 'aimd', probeInterval: '10s' }))
      .to.throw(ConfigError)
      .with.property('problems')
      .that.deep.equals([
        'probeInterval: expected no probeInterval for algorithm \'aimd\' (only gradient, vegas use it), got "10s"',
      ]);
  });

  it('runs no more than its limit at once after a reset, once the calls from before it settle', async () => {
    const limiter = new AdaptiveConcurrencyLimiter({ initialLimit: 2 });
    const before = [limiter.run(() => sleep(10)), limiter.run(() => sleep(10))];
    limiter.reset();
    await time.clock.tickAsync(10);
    await Promise.all(before);
    let running = 0;
    let peak = 0;
    const after = Array.from({ length: 6 }, () =>
      limiter.run(async () => {
        peak = Math.max(peak, ++running);
        await sleep(10);
        running--;
      }),
    );
    await time.clock.tickAsync(100);
    await Promise.all(after);
    expect(peak).to.equal(2);
  });

  it('counts a failure that cannot be matched against `exceptions` as a drop', async () => {
    const limiter = aimd({ exceptions: [RangeError] });
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke(); // instanceof on a revoked Proxy throws
    const done = calls(limiter, 10, 1, () => proxy);
    await time.clock.tickAsync(100);
    await done;
    expect(limiter.limit).to.equal(5);
  });

  it('rejects a call with the revoked Proxy it threw, and hands its permit to the next call', async () => {
    const limiter = new AdaptiveConcurrencyLimiter({ initialLimit: 1 });
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const failing = observe(limiter.run(() => sleep(1).then(() => Promise.reject(proxy))));
    const next = observe(limiter.run(async () => 'next'));
    await time.clock.tickAsync(10);
    expect(failing.error === proxy, 'rejected with the proxy').to.equal(true);
    expect(next.value).to.equal('next');
  });

  it('takes maxQueue and maxWait beside `adaptive`, those inside it winning', () => {
    const beside = limiterFromOptions({
      adaptive: { algorithm: 'aimd' },
      maxQueue: 5,
      maxWait: 50,
    });
    expect(beside).to.be.instanceOf(AdaptiveConcurrencyLimiter);
    expect([beside.options.maxQueue, beside.options.maxWait]).to.deep.equal([5, 50]);
    const inside = limiterFromOptions({ adaptive: { maxQueue: 3 }, maxQueue: 5 });
    expect(inside.options.maxQueue).to.equal(3);
  });

  it('reports adaptive options it cannot read as a ConfigError, with queue options beside them', () => {
    const unreadable = {
      get algorithm(): never {
        throw new Error('unreadable');
      },
    };
    expect(() => limiterFromOptions({ adaptive: unreadable, maxQueue: 5 })).to.throw(ConfigError);
  });

  it('refuses options another algorithm reads, and limits out of order, naming each', () => {
    expect(
      () =>
        new AdaptiveConcurrencyLimiter({
          algorithm: 'gradient',
          latencyThreshold: '1s',
          minLimit: 10,
          maxLimit: 5,
          initialLimit: 50,
        }),
    )
      .to.throw(ConfigError)
      .with.property('problems')
      .that.deep.equals([
        'latencyThreshold: expected no latencyThreshold for algorithm \'gradient\' (only aimd use it), got "1s"',
        'maxLimit: expected at least minLimit (10), got 5',
        'initialLimit: expected an integer from minLimit (10) to maxLimit (5), got 50',
      ]);
  });
});
