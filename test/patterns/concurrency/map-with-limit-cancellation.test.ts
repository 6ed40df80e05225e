import { expect } from 'chai';
import { TimeoutError, mapWithLimit, runWithTimeout, withSignal } from '../../../src/index.js';
import { observe, sleep, useFakeClock } from '../../support/fake-clock.js';
import { Probe } from './probe.js';

/** A mapper that ends only when its signal aborts, as cooperative work does. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
}

/** An async source of `count` items that records when it is closed, after `closeMs` of cleanup. */
function closingSource(
  count: number,
  log: { closed: boolean },
  closeMs = 0,
): AsyncGenerator<number, void, undefined> {
  return (async function* () {
    try {
      for (let i = 0; i < count; i++) yield i;
    } finally {
      if (closeMs > 0) await sleep(closeMs);
      log.closed = true;
    }
  })();
}

describe('mapWithLimit cancellation', () => {
  const time = useFakeClock();

  it('hands no result to the loop after an enclosing timeout expires', async () => {
    const probe = new Probe();
    const delivered: number[] = [];
    let loopError: unknown;
    const call = observe(
      runWithTimeout(async () => {
        try {
          for await (const n of mapWithLimit([1, 2, 3, 4, 5, 6], (n) => probe.work(n, 100), {
            limit: 3,
          }))
            delivered.push(n);
        } catch (error) {
          loopError = error;
        }
      }, '50ms'),
    );
    await time.clock.tickAsync(50);
    expect(call.error).to.be.instanceOf(TimeoutError);
    expect(loopError, 'the loop ends at the deadline').to.be.instanceOf(TimeoutError);
    await time.clock.tickAsync(500);
    expect(delivered).to.deep.equal([]);
    expect(probe.started).to.deep.equal([1, 2, 3]);
  });

  it('hands no buffered result to a slow consumer after an enclosing timeout expires', async () => {
    const delivered: { n: number; at: number }[] = [];
    const call = observe(
      runWithTimeout(async () => {
        for await (const n of mapWithLimit([1, 2, 3, 4, 5, 6], async (n) => n, { limit: 3 })) {
          delivered.push({ n, at: Date.now() });
          await sleep(40);
        }
      }, '50ms'),
    );
    await time.clock.tickAsync(500);
    expect(call.error).to.be.instanceOf(TimeoutError);
    expect(delivered.filter(({ at }) => at >= 50)).to.deep.equal([]);
  });

  it('ends at once, aborting the mappers, when the signal of an enclosing withSignal aborts', async () => {
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const signals: AbortSignal[] = [];
    let inner: Promise<IteratorResult<never, void>> | undefined;
    const call = observe(
      withSignal(controller.signal, () => {
        const stream = mapWithLimit(
          [1, 2, 3],
          (_, signal) => {
            signals.push(signal);
            return untilAborted(signal);
          },
          { limit: 2 },
        );
        inner = stream.next();
        return inner;
      }),
    );
    const first = observe(inner!);
    await time.clock.tickAsync(10);
    controller.abort(reason);
    await time.clock.tickAsync(0);
    expect(call.error).to.equal(reason);
    expect(first.error, 'the pending next() rejects with the reason').to.equal(reason);
    expect(signals).to.have.length(2);
    for (const signal of signals) expect(signal.reason).to.equal(reason);
  });

  it('starts nothing when the enclosing call has already aborted at the first read', async () => {
    const controller = new AbortController();
    const probe = new Probe();
    let stream: AsyncGenerator<number, void, undefined> | undefined;
    const call = observe(
      withSignal(controller.signal, async () => {
        stream = mapWithLimit([1, 2], (n) => probe.work(n, 10), { limit: 2 });
        await sleep(10);
      }),
    );
    controller.abort(new Error('gone'));
    await time.clock.tickAsync(10);
    expect(call.error).to.be.instanceOf(Error);
    const first = observe(stream!.next());
    await time.clock.tickAsync(50);
    expect((first.error as Error).message).to.equal('gone');
    expect(probe.started).to.deep.equal([]);
  });

  it('return() while next() is pending stops the work, settles that next() as done and closes the source', async () => {
    const log = { closed: false };
    const signals: AbortSignal[] = [];
    const stream = mapWithLimit(
      closingSource(2, log),
      (_, signal) => {
        signals.push(signal);
        return untilAborted(signal);
      },
      { limit: 2 },
    );
    const pending = observe(stream.next());
    await time.clock.tickAsync(20);
    expect(pending.settled).to.equal(false);
    const closing = observe(stream.return());
    await time.clock.tickAsync(0);
    expect(closing.value).to.deep.equal({ value: undefined, done: true });
    expect(pending.value).to.deep.equal({ value: undefined, done: true });
    expect(signals).to.have.length(2);
    for (const signal of signals) expect((signal.reason as Error).name).to.equal('AbortError');
    expect(log.closed).to.equal(true);
    const after = observe(stream.next());
    await time.clock.tickAsync(0);
    expect(after.value).to.deep.equal({ value: undefined, done: true });
  });

  it('return() before the first read starts nothing and leaves the source untouched', async () => {
    const probe = new Probe();
    let pulled = false;
    const source = {
      [Symbol.asyncIterator]: () => {
        pulled = true;
        return closingSource(2, { closed: false });
      },
    };
    const stream = mapWithLimit(source, (n) => probe.work(n, 10), { limit: 2 });
    expect(await stream.return()).to.deep.equal({ value: undefined, done: true });
    expect(await stream.next()).to.deep.equal({ value: undefined, done: true });
    expect(pulled).to.equal(false);
    expect(probe.started).to.deep.equal([]);
  });

  it('leaves the source closed, its cleanup done, when a loop that broke out exits', async () => {
    const log = { closed: false };
    let closedAtExit: boolean | undefined;
    const loop = observe(
      (async () => {
        const stream = mapWithLimit(
          closingSource(5, log, 10),
          (n, signal) => (n === 0 ? n : untilAborted(signal)),
          { limit: 1 },
        );
        for await (const _ of stream) {
          await sleep(5);
          break;
        }
        closedAtExit = log.closed;
      })(),
    );
    await time.clock.tickAsync(100);
    expect(loop.settled).to.equal(true);
    expect(closedAtExit).to.equal(true);
  });

  it('does not wait, on leaving the loop, for an item the source is still producing', async () => {
    const log = { closed: false };
    // The second item never comes: a queue consumer waiting for messages, say.
    const source = (async function* () {
      try {
        yield 0;
        await new Promise(() => undefined);
      } finally {
        log.closed = true;
      }
    })();
    const loop = observe(
      (async () => {
        for await (const _ of mapWithLimit(source, async (n) => n, { limit: 2 })) break;
      })(),
    );
    await time.clock.tickAsync(100);
    expect(loop.settled, 'the loop exits').to.equal(true);
    expect(log.closed).to.equal(false);
  });

  it('throw() stops the work like return() and rejects with the given error', async () => {
    const log = { closed: false };
    const signals: AbortSignal[] = [];
    const stream = mapWithLimit(
      closingSource(3, log),
      (_, signal) => {
        signals.push(signal);
        return untilAborted(signal);
      },
      { limit: 1 },
    );
    const pending = observe(stream.next());
    await time.clock.tickAsync(1);
    const boom = new Error('consumer failed');
    const thrown = observe(stream.throw(boom));
    await time.clock.tickAsync(0);
    expect(thrown.error).to.equal(boom);
    expect(pending.value).to.deep.equal({ value: undefined, done: true });
    expect(signals[0].aborted).to.equal(true);
    expect(log.closed).to.equal(true);
  });
});
