import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import sinon from 'sinon';
import {
  ConfigError,
  Timeout,
  TimeoutError,
  currentSignal,
  runWithTimeout,
} from '../../../src/index.js';
import { observe, useFakeClock } from '../../support/fake-clock.js';

function never<T>(): Promise<T> {
  return new Promise<T>(() => undefined);
}

describe('runWithTimeout', () => {
  const time = useFakeClock();

  it('resolves with the value of work that finishes in time', async () => {
    const result = observe(runWithTimeout(async () => 'fast', '5s'));
    await time.clock.tickAsync(0);
    expect(result.value).to.equal('fast');
  });

  it('accepts an already running promise', async () => {
    const result = observe(runWithTimeout(Promise.resolve(7), 5000));
    await time.clock.tickAsync(0);
    expect(result.value).to.equal(7);
  });

  it('passes on the error of work that fails in time, unchanged', async () => {
    const error = new Error('boom');
    const result = observe(runWithTimeout(() => Promise.reject(error), 1000));
    await time.clock.tickAsync(0);
    expect(result.error).to.equal(error);
  });

  it('rejects with TimeoutError carrying the timeout in ms at the deadline, not before', async () => {
    const result = observe(runWithTimeout(never, '1.5s'));
    await time.clock.tickAsync(1499);
    expect(result.settled).to.equal(false);
    await time.clock.tickAsync(1);
    expect(result.error).to.be.instanceOf(TimeoutError);
    expect((result.error as TimeoutError).timeout).to.equal(1500);
    expect((result.error as TimeoutError).code).to.equal('ERR_TIMEOUT');
  });

  it('aborts the signal handed to the work with the TimeoutError as its reason', async () => {
    let signal: AbortSignal | undefined;
    const result = observe(
      runWithTimeout((s) => {
        signal = s;
        return never();
      }, 100),
    );
    expect(signal!.aborted).to.equal(false);
    await time.clock.tickAsync(100);
    expect(signal!.aborted).to.equal(true);
    expect(signal!.reason).to.equal(result.error);
  });

  it('makes the signal available through currentSignal() before the first await', async () => {
    let signal: AbortSignal | undefined;
    observe(
      runWithTimeout(async () => {
        signal = currentSignal();
        await never();
      }, 100),
    );
    await time.clock.tickAsync(100);
    expect(signal!.aborted).to.equal(true);
    expect(signal!.reason).to.be.instanceOf(TimeoutError);
  });

  it('absorbs a late failure after the timeout: no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const result = observe(
        runWithTimeout(async () => {
          await new Promise((resolve) => setTimeout(resolve, 500));
          throw new Error('late');
        }, 100),
      );
      await time.clock.tickAsync(1000);
      expect(result.error).to.be.instanceOf(TimeoutError);
      time.clock.restore();
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).to.deep.equal([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('absorbs the failure of a promise given as the work when the call ends before it starts', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const failing = () =>
        new Promise((_, reject) => setTimeout(() => reject(new Error('late')), 500));
      const aborted = observe(runWithTimeout(failing(), 100, { signal: AbortSignal.abort() }));
      const misconfigured = observe(runWithTimeout(failing(), 100, { sigal: 1 } as never));
      await time.clock.tickAsync(1000);
      expect(aborted.error).to.be.instanceOf(Error);
      expect(misconfigured.error).to.be.instanceOf(ConfigError);
      time.clock.restore();
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).to.deep.equal([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('ignores a late result after the timeout', async () => {
    const result = observe(
      runWithTimeout(() => new Promise((resolve) => setTimeout(() => resolve('late'), 500)), 100),
    );
    await time.clock.tickAsync(1000);
    expect(result.error).to.be.instanceOf(TimeoutError);
  });

  it('links nested timeouts: the inner signal aborts when the outer one does', async () => {
    let inner: AbortSignal | undefined;
    const outer = observe(
      runWithTimeout(
        () =>
          runWithTimeout((signal) => {
            inner = signal;
            return never();
          }, '10s'),
        '1s',
      ),
    );
    await time.clock.tickAsync(1000);
    expect(outer.error).to.be.instanceOf(TimeoutError);
    expect(inner!.aborted).to.equal(true);
    expect((inner!.reason as TimeoutError).timeout).to.equal(1000);
  });

  it('links nested timeouts even when the inner call passes its own signal', async () => {
    const own = new AbortController();
    let inner: AbortSignal | undefined;
    const outer = observe(
      runWithTimeout(
        () =>
          runWithTimeout(
            (signal) => {
              inner = signal;
              return never();
            },
            '10s',
            { signal: own.signal },
          ),
        '1s',
      ),
    );
    await time.clock.tickAsync(1000);
    expect(outer.error).to.be.instanceOf(TimeoutError);
    expect(inner!.aborted).to.equal(true);
    expect((inner!.reason as TimeoutError).timeout).to.equal(1000);
  });

  it('aborts and rejects at once when the caller’s own signal aborts', async () => {
    const controller = new AbortController();
    let signal: AbortSignal | undefined;
    const result = observe(
      runWithTimeout(
        (s) => {
          signal = s;
          return never();
        },
        '10s',
        { signal: controller.signal },
      ),
    );
    const reason = new Error('caller gave up');
    controller.abort(reason);
    await time.clock.tickAsync(0);
    expect(result.error).to.equal(reason);
    expect(signal!.reason).to.equal(reason);
  });

  it('rejects at once, without starting the work, when the caller’s signal is already aborted', async () => {
    const reason = new Error('gave up before starting');
    const work = sinon.spy(async () => 'ran');
    const result = observe(runWithTimeout(work, '10s', { signal: AbortSignal.abort(reason) }));
    await time.clock.tickAsync(0);
    expect(result.error).to.equal(reason);
    expect(work.called).to.equal(false);
  });

  it('stops listening to the caller’s signal once the call is over', async () => {
    const controller = new AbortController();
    await runWithTimeout(async () => 'done', '10s', { signal: controller.signal });
    const timedOut = observe(runWithTimeout(never, 100, { signal: controller.signal }));
    await time.clock.tickAsync(100);
    expect(timedOut.error).to.be.instanceOf(TimeoutError);
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
  });

  it('resolves with a plain value returned by the work', async () => {
    const result = observe(runWithTimeout(() => 42, 100));
    await time.clock.tickAsync(0);
    expect(result.value).to.equal(42);
  });

  it('resolves with a plain value inside another policy and with a caller’s signal', async () => {
    const nested = observe(runWithTimeout(() => runWithTimeout(() => 'inner', 100), 1000));
    const withSignal = observe(
      runWithTimeout(() => 'signalled', 100, { signal: new AbortController().signal }),
    );
    await time.clock.tickAsync(0);
    expect(nested.value).to.equal('inner');
    expect(withSignal.value).to.equal('signalled');
  });

  it('shares one timer per duration when calls of two durations alternate', async () => {
    const results = Array.from({ length: 20 }, (_, i) =>
      observe(runWithTimeout(never, i % 2 === 0 ? 1000 : '2s')),
    );
    expect(time.clock.countTimers()).to.equal(2);
    await time.clock.tickAsync(1000);
    expect(results.filter((r) => r.error instanceof TimeoutError)).to.have.length(10);
    await time.clock.tickAsync(1000);
    expect(results.every((r) => r.error instanceof TimeoutError)).to.equal(true);
  });

  it('creates no AbortController for work that takes no signal', async () => {
    const spy = sinon.spy(globalThis, 'AbortController');
    try {
      for (let i = 0; i < 10; i++) await runWithTimeout(async () => i, 1000);
      // Inside another policy too, where the call takes the general path.
      await runWithTimeout(() => runWithTimeout(async () => 'inner', 1000), 5000);
      expect(spy.callCount).to.equal(0);
    } finally {
      spy.restore();
    }
  });

  it('shares one timer among every in-flight call of the same duration', async () => {
    const results = Array.from({ length: 100 }, () => observe(runWithTimeout(never, 1000)));
    expect(time.clock.countTimers()).to.equal(1);
    await time.clock.tickAsync(1000);
    expect(results.every((r) => r.error instanceof TimeoutError)).to.equal(true);
  });

  it('expires calls of the same duration in arrival order, each at its own deadline', async () => {
    const first = observe(runWithTimeout(never, 1000));
    await time.clock.tickAsync(400);
    const second = observe(runWithTimeout(never, 1000));
    await time.clock.tickAsync(600);
    expect(first.error).to.be.instanceOf(TimeoutError);
    expect(second.settled).to.equal(false);
    await time.clock.tickAsync(399);
    expect(second.settled).to.equal(false);
    await time.clock.tickAsync(1);
    expect(second.error).to.be.instanceOf(TimeoutError);
  });

  it('leaves no timer holding the process once every call has settled', async () => {
    for (let i = 0; i < 5; i++) await runWithTimeout(async () => i, 1000);
    const timers = time.clock.countTimers();
    await time.clock.tickAsync(1000);
    expect(time.clock.countTimers()).to.be.at.most(timers);
    expect(time.clock.countTimers()).to.equal(0);
  });

  it('rejects a synchronous throw of the work as a rejection, not a throw', async () => {
    const error = new Error('sync');
    const result = observe(
      runWithTimeout(() => {
        throw error;
      }, 100),
    );
    await time.clock.tickAsync(0);
    expect(result.error).to.equal(error);
  });

  it('rejects invalid durations with a ConfigError naming the option', () => {
    for (const bad of [
      -1,
      NaN,
      Infinity,
      2 ** 31,
      '5',
      '1 s',
      '1d',
      '',
      'ms',
      null,
      {},
      '9'.repeat(10_000),
    ]) {
      expect(
        () => runWithTimeout(async () => 1, bad as never),
        JSON.stringify(bad)?.slice(0, 20),
      ).to.throw(ConfigError, /^timeout: expected a duration/);
    }
  });
});

describe('Timeout', () => {
  const time = useFakeClock();

  it('runs work under its budget, given as a duration or an options object', async () => {
    const budget = new Timeout('10s');
    expect(budget.timeout).to.equal(10_000);
    expect(new Timeout({ timeout: '2m' }).timeout).to.equal(120_000);
    const result = observe(budget.run(never));
    await time.clock.tickAsync(10_000);
    expect((result.error as TimeoutError).timeout).to.equal(10_000);
  });

  it('emits a timeout event when a call exceeds its budget', async () => {
    const budget = new Timeout(50);
    const events: unknown[] = [];
    budget.events.on('timeout', (event) => events.push(event));
    observe(budget.run(never));
    await time.clock.tickAsync(50);
    expect(events).to.deep.equal([{ timeout: 50 }]);
  });

  it('rejects unknown options and missing durations at construction', () => {
    expect(() => new Timeout({} as never)).to.throw(
      ConfigError,
      /timeout: expected a duration, got undefined/,
    );
    expect(() => new Timeout({ timeout: 1, tiemout: 2 } as never)).to.throw(
      ConfigError,
      /tiemout: unknown option/,
    );
  });
});
