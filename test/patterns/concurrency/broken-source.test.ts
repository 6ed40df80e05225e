// Sources that break the iterator protocol: each must end the gather or the stream with an error, as
// `for await` would, never with a wrong result, a hang or an unhandled rejection.
import { expect } from 'chai';
import { gatherWithLimit, mapWithLimit } from '../../../src/index.js';
import { observe, useFakeClock } from '../../support/fake-clock.js';

type Step = () => unknown;

function refusing(what: string): () => never {
  return () => {
    throw new Error(`${what} refused`);
  };
}

/** What next() answers, each a broken iterator result, with the error it must end the run with. */
const BROKEN_STEPS: { label: string; step: Step; error: RegExp }[] = [
  { label: 'null', step: () => null, error: /not an object/ },
  { label: 'a number', step: () => 5, error: /not an object/ },
  {
    label: 'a result whose done getter throws',
    step: () => Object.defineProperty({ value: () => 1 }, 'done', { get: refusing('done') }),
    error: /done refused/,
  },
  {
    label: 'a result whose value getter throws',
    step: () => Object.defineProperty({ done: false }, 'value', { get: refusing('value') }),
    error: /value refused/,
  },
];

function syncSource(step: Step): Iterable<never> {
  return { [Symbol.iterator]: () => ({ next: step }) } as never;
}

function asyncSource(step: Step): AsyncIterable<never> {
  return { [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve(step()) }) } as never;
}

describe('gatherWithLimit and mapWithLimit over a source that breaks the iterator protocol', () => {
  const time = useFakeClock();
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeEach(() => {
    unhandled.length = 0;
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled);
  });

  async function settle<T>(promise: Promise<T>) {
    const result = observe(promise);
    await time.clock.tickAsync(10);
    time.clock.restore(); // unhandled rejections are reported after a macrotask
    await new Promise((resolve) => setImmediate(resolve));
    return result;
  }

  for (const { label, step, error } of BROKEN_STEPS) {
    for (const [kind, source] of [
      ['sync', syncSource],
      ['async', asyncSource],
    ] as const) {
      it(`gatherWithLimit rejects when a ${kind} source's next() answers ${label}`, async () => {
        const result = await settle(gatherWithLimit(source(step), { limit: 2 }));
        expect(result.settled).to.equal(true);
        expect(result.error, String(result.value)).to.be.instanceOf(Error);
        expect((result.error as Error).message).to.match(error);
        expect(unhandled).to.deep.equal([]);
      });

      it(`mapWithLimit's loop throws when a ${kind} source's next() answers ${label}`, async () => {
        const loop = async () => {
          let items = 0;
          for await (const _ of mapWithLimit(source(step), (item) => item, { limit: 2 })) {
            if (++items > 3) return items;
          }
          return items;
        };
        const result = await settle(loop());
        expect(result.settled).to.equal(true);
        expect(result.error, String(result.value)).to.be.instanceOf(Error);
        expect((result.error as Error).message).to.match(error);
        expect(unhandled).to.deep.equal([]);
      });
    }
  }

  for (const kind of ['sync', 'async'] as const) {
    /** A source whose items are numbered thunks, the second failing, and whose `return` getter throws. */
    function unclosable(): { source: object } {
      let pulled = 0;
      const iterator = {
        next() {
          const index = pulled++;
          const step = {
            done: false,
            value: () => {
              if (index === 1) throw new Error('task failed');
              return index;
            },
          };
          return kind === 'async' ? Promise.resolve(step) : step;
        },
      };
      Object.defineProperty(iterator, 'return', { get: refusing('return') });
      const key = kind === 'async' ? Symbol.asyncIterator : Symbol.iterator;
      return { source: { [key]: () => iterator } };
    }

    it(`gatherWithLimit rejects with the task's error when a ${kind} source's return getter throws`, async () => {
      const { source } = unclosable();
      const result = await settle(gatherWithLimit(source as never, { limit: 1 }));
      expect((result.error as Error | undefined)?.message).to.equal('task failed');
      expect(unhandled).to.deep.equal([]);
    });

    it(`mapWithLimit ends a loop left by break when a ${kind} source's return getter throws`, async () => {
      const { source } = unclosable();
      let calls = 0; // the first result comes at once, the next never: the stream is left mid-read
      const stream = mapWithLimit(
        source as Iterable<() => number>,
        () => (calls++ === 0 ? 0 : new Promise<number>(() => {})),
        { limit: 1 },
      );
      const first = await stream.next();
      expect(first.done).to.equal(false);
      const pending = observe(stream.next());
      const closed = await settle(stream.return());
      expect(closed.value).to.deep.equal({ value: undefined, done: true });
      expect(pending.value).to.deep.equal({ value: undefined, done: true });
      expect(unhandled).to.deep.equal([]);
    });
  }
  for (const kind of ['sync', 'async'] as const) {
    /** A source of two thunks, the second failing after 5 ms, whose third next() `ends` or throws. */
    function closeCounting(ends: 'done' | 'throw') {
      const counts = { returned: 0 };
      let pulls = 0;
      const next = () => {
        pulls++;
        if (pulls === 1) return { done: false, value: () => 1 };
        if (pulls === 2)
          return {
            done: false,
            value: () => new Promise((_, reject) => setTimeout(() => reject(new Error('task')), 5)),
          };
        if (ends === 'throw') throw new Error('source broke');
        return { done: true, value: undefined };
      };
      const iterator = {
        next: kind === 'sync' ? next : async () => next(),
        return: () => {
          counts.returned++;
          return kind === 'sync' ? { done: true } : Promise.resolve({ done: true });
        },
      };
      const key = kind === 'sync' ? Symbol.iterator : Symbol.asyncIterator;
      return { source: { [key]: () => iterator } as never, counts };
    }

    it(`closes no ${kind} source that threw or ended, as for await does not`, async () => {
      for (const ends of ['done', 'throw'] as const) {
        const { source, counts } = closeCounting(ends);
        const result = observe(gatherWithLimit(source, { limit: 3 }));
        await time.clock.tickAsync(10);
        expect((result.error as Error).message, ends).to.equal(
          ends === 'throw' ? 'source broke' : 'task',
        );
        expect(counts.returned, ends).to.equal(0);
      }
    });
  }
});
