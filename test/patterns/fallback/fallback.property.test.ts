// FallbackPolicy against a reference model of its promise: a call that succeeds passes through; a matching error
// is answered by the handler (its value, or its own error), any other error is rethrown unchanged; and a caller's
// signal ends the call at once, whether it aborts before the call, during the work or during the handler: after
// an abort in the work the handler never runs and no `fallback` event is emitted.
//
// Durations are multiples of 10 ms and aborts fall 5 ms past one: an abort never ties with another event.
import { expect } from 'chai';
import fc from 'fast-check';
import sinon from 'sinon';
import { FallbackPolicy } from '../../../src/index.js';

class Handled extends Error {}
class Unhandled extends Error {}

interface Scenario {
  readonly work: { readonly outcome: 'ok' | 'handled' | 'unhandled'; readonly ms: number };
  readonly handler: { readonly outcome: 'value' | 'throw'; readonly ms: number };
  readonly abort: 'before' | number | undefined;
}

interface Trace {
  end: { what: string; at: number };
  handlerCalls: number;
  fallbackEvents: number;
}

function model(s: Scenario): Trace {
  const abortAt = s.abort === 'before' ? -1 : (s.abort ?? Infinity);
  if (abortAt < 0) return { end: { what: 'abort', at: 0 }, handlerCalls: 0, fallbackEvents: 0 };
  const done = s.work.ms;
  if (abortAt < done)
    return { end: { what: 'abort', at: abortAt }, handlerCalls: 0, fallbackEvents: 0 };
  if (s.work.outcome === 'ok')
    return { end: { what: 'work', at: done }, handlerCalls: 0, fallbackEvents: 0 };
  if (s.work.outcome === 'unhandled')
    return { end: { what: 'unhandled', at: done }, handlerCalls: 0, fallbackEvents: 0 };
  const answered = done + s.handler.ms;
  const what =
    abortAt < answered ? 'abort' : s.handler.outcome === 'value' ? 'fallback' : 'handler';
  return { end: { what, at: Math.min(abortAt, answered) }, handlerCalls: 1, fallbackEvents: 1 };
}

/** Settles after `ms` (at once for 0: fake timers run a 0 ms timer set during a tick 1 ms later). */
const after = <T>(ms: number, settle: () => T): Promise<T> =>
  new Promise((resolve, reject) => {
    const run = () => {
      try {
        resolve(settle());
      } catch (error) {
        reject(error);
      }
    };
    if (ms === 0) run();
    else setTimeout(run, ms);
  });

async function subject(s: Scenario, clock: sinon.SinonFakeTimers): Promise<Trace> {
  let handlerCalls = 0;
  let fallbackEvents = 0;
  const policy = new FallbackPolicy(
    () => {
      handlerCalls++;
      return after(s.handler.ms, () => {
        if (s.handler.outcome === 'throw') throw new Error('handler');
        return 'fallback';
      });
    },
    { exceptions: [Handled] },
  );
  policy.events.on('fallback', () => fallbackEvents++);
  const controller = new AbortController();
  if (s.abort === 'before') controller.abort(new Error('abort'));
  else if (s.abort !== undefined) setTimeout(() => controller.abort(new Error('abort')), s.abort);
  const work = () =>
    after(s.work.ms, () => {
      if (s.work.outcome === 'handled') throw new Handled('handled');
      if (s.work.outcome === 'unhandled') throw new Unhandled('unhandled');
      return 'work';
    });
  let end: Trace['end'] | undefined;
  policy.execute(work, [], { signal: controller.signal }).then(
    (value) => (end = { what: String(value), at: Date.now() }),
    (error: Error) => (end = { what: error.message, at: Date.now() }),
  );
  for (let waited = 0; end === undefined && waited <= 200; waited += 5) await clock.tickAsync(5);
  await clock.tickAsync(200); // anything late would show now
  return { end: end!, handlerCalls, fallbackEvents };
}

const scenario: fc.Arbitrary<Scenario> = fc.record({
  work: fc.record({
    outcome: fc.constantFrom('ok' as const, 'handled' as const, 'unhandled' as const),
    ms: fc.integer({ min: 1, max: 5 }).map((n) => n * 10),
  }),
  handler: fc.record({
    outcome: fc.constantFrom('value' as const, 'throw' as const),
    ms: fc.integer({ min: 0, max: 5 }).map((n) => n * 10),
  }),
  abort: fc.oneof(
    fc.constant(undefined),
    fc.constant('before' as const),
    fc.integer({ min: 0, max: 11 }).map((n) => n * 10 + 5),
  ),
});

describe('FallbackPolicy against its model (property)', () => {
  it('answers, rethrows or ends at the abort exactly as the model says, and nothing after', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const clock = sinon.useFakeTimers({ now: 0 });
        try {
          expect(await subject(s, clock)).to.deep.equal(model(s));
        } finally {
          clock.restore();
        }
      }),
      { numRuns: 200 },
    );
  });
});
