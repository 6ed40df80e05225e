// Sources that break, at a random item and in a random way, and callers that abort with reasons of any type,
// under random task timing: a gather and a stream must end as a small model says, and always settle, with no
// unhandled rejection.
import { expect } from 'chai';
import fc from 'fast-check';
import { gatherWithLimit, mapWithLimit } from '../../../src/index.js';
import { useFakeClock } from '../../support/fake-clock.js';

/** How the source breaks at its item `at`. */
type Breakage =
  | 'next throws'
  | 'next rejects'
  | 'result is null'
  | 'result is a number'
  | 'done getter throws'
  | 'value getter throws';
const breakages = fc.constantFrom<Breakage>(
  'next throws',
  'next rejects',
  'result is null',
  'result is a number',
  'done getter throws',
  'value getter throws',
);

/** What the caller aborts with, if it aborts. */
type ReasonKind = 'Error' | 'string' | 'symbol' | 'BigInt' | 'null-prototype object' | 'undefined';
const reasonKinds = fc.constantFrom<ReasonKind>(
  'Error',
  'string',
  'symbol',
  'BigInt',
  'null-prototype object',
  'undefined',
);

function reasonOf(kind: ReasonKind): unknown {
  switch (kind) {
    case 'Error':
      return new Error('caller left');
    case 'string':
      return 'caller left';
    case 'symbol':
      return Symbol('caller left');
    case 'BigInt':
      return 42n;
    case 'null-prototype object':
      return Object.create(null) as object;
    case 'undefined':
      return undefined;
  }
}

const scenario = fc.record({
  durations: fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 8 }),
  /** The item at which the source breaks; past the end, it never does. */
  breakAt: fc.nat({ max: 10 }),
  breakage: breakages,
  async: fc.boolean(),
  /** Whether the iterator has a return(), and whether reading it throws. */
  closing: fc.constantFrom('none', 'return()', 'return getter throws'),
  limit: fc.integer({ min: 1, max: 4 }),
  /** When the caller aborts (ms), if it does. */
  abortAt: fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }),
  reason: reasonKinds,
});
type Scenario = typeof scenario extends fc.Arbitrary<infer S> ? S : never;

const BROKEN = /broke|not an object/;

// Taken before the fake clock replaces it.
const realSetImmediate = setImmediate;

/** The source: item i is a thunk that resolves with i after `durations[i]` ms; it breaks at `breakAt`. */
function brokenSource(
  s: Scenario,
): Iterable<() => Promise<number>> | AsyncIterable<() => Promise<number>> {
  let index = 0;
  const stepAt = (i: number): unknown => {
    if (i >= s.durations.length) return { done: true, value: undefined };
    const item = () =>
      new Promise<number>((resolve) => setTimeout(() => resolve(i), s.durations[i]));
    if (i !== s.breakAt) return { done: false, value: item };
    const broke = () => {
      throw new Error(`source broke at ${i}`);
    };
    switch (s.breakage) {
      case 'next throws':
        return broke();
      case 'next rejects':
        return s.async ? Promise.reject(new Error(`source broke at ${i}`)) : broke();
      case 'result is null':
        return null;
      case 'result is a number':
        return 5;
      case 'done getter throws':
        return Object.defineProperty({ value: item }, 'done', { get: broke });
      case 'value getter throws':
        return Object.defineProperty({ done: false }, 'value', { get: broke });
    }
  };
  const iterator: Record<string, unknown> = {
    next: () => {
      const i = index++;
      if (!s.async) return stepAt(i);
      try {
        return Promise.resolve(stepAt(i));
      } catch (error) {
        return Promise.reject(error);
      }
    },
  };
  if (s.closing === 'return()') iterator.return = () => ({ done: true, value: undefined });
  if (s.closing === 'return getter throws')
    Object.defineProperty(iterator, 'return', {
      get() {
        throw new Error('return refused');
      },
    });
  const key = s.async ? Symbol.asyncIterator : Symbol.iterator;
  return { [key]: () => iterator } as never;
}

/** What the model says the run ends with: the items' results, or a failure matching the check. */
type Ending = { values: number[] } | { fails: (error: unknown) => boolean };

function modelEnding(s: Scenario, signal: AbortSignal): Ending {
  const count = s.durations.length;
  const breaks = s.breakAt < count;
  if (s.abortAt === undefined) {
    if (!breaks) return { values: Array.from({ length: count }, (_, i) => i) };
    return { fails: (error) => error instanceof Error && BROKEN.test(error.message) };
  }
  // Racing an abort: either may end the run first, but whatever ends it is one of them, as an Error: the
  // signal's reason itself when it is one (abort() with no reason gives a DOMException), else an AbortError
  // that carries it as its cause.
  return {
    fails: (error) =>
      error instanceof Error &&
      ((breaks && BROKEN.test(error.message)) ||
        (signal.reason instanceof Error
          ? error === signal.reason
          : error.name === 'AbortError' && (error as { cause?: unknown }).cause === signal.reason)),
  };
}

describe('gatherWithLimit and mapWithLimit properties: broken sources, aborts of any reason', () => {
  const time = useFakeClock();
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeEach(() => process.on('unhandledRejection', onUnhandled));
  afterEach(() => process.off('unhandledRejection', onUnhandled));

  async function check(
    s: Scenario,
    run: (signal: AbortSignal) => Promise<number[]>,
  ): Promise<void> {
    unhandled.length = 0;
    const controller = new AbortController();
    if (s.abortAt !== undefined) {
      const reason = reasonOf(s.reason);
      setTimeout(() => controller.abort(reason), s.abortAt);
    }
    let outcome: { values: number[] } | { error: unknown } | undefined;
    run(controller.signal).then(
      (values) => (outcome = { values }),
      (error: unknown) => (outcome = { error }),
    );
    await time.clock.tickAsync(1_000);
    expect(outcome, 'settled').not.to.equal(undefined);
    const ending = modelEnding(s, controller.signal);
    if ('values' in ending) {
      if (s.abortAt !== undefined) return; // the abort may come after completion
      expect(outcome).to.deep.equal(ending);
    } else if ('error' in outcome!) {
      expect(ending.fails(outcome.error), String(outcome.error)).to.equal(true);
    } else {
      // Completed before the abort: only possible when the source does not break.
      expect(s.breakAt).to.be.at.least(s.durations.length);
    }
    // Unhandled rejections are reported once the microtasks of a real turn have run.
    await new Promise((resolve) => realSetImmediate(resolve));
    expect(unhandled).to.deep.equal([]);
  }

  it('gatherWithLimit settles as the model says, with an Error, and leaves no unhandled rejection', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, (s) =>
        check(s, (signal) => gatherWithLimit(brokenSource(s), { limit: s.limit, signal })),
      ),
      { numRuns: 150 },
    );
  });

  it('mapWithLimit yields results in order, then ends as the model says, and leaves no unhandled rejection', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, (s) =>
        check(s, async (signal) => {
          const values: number[] = [];
          const stream = mapWithLimit(brokenSource(s), (task) => task(), {
            limit: s.limit,
            signal,
          });
          for await (const value of stream) {
            expect(value, 'in input order').to.equal(values.length);
            values.push(value);
          }
          return values;
        }),
      ),
      { numRuns: 150 },
    );
  });
});
