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
});
