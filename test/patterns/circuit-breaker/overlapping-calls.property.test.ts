// CircuitBreaker against a reference model of its promise for calls that overlap and callers that give up: a call
// admitted in a period that has ended (the circuit moved meanwhile) changes nothing; a caller that gives up gets its
// signal's reason at once, its outcome is not recorded, and a trial it held frees its slot; trials that have all run
// for `timeout` without settling give their slots back, and count when they settle. Calls start at multiples of 10 ms, settle 3 ms past one and
// callers give up 5 ms past one, so no two kinds of event ever tie.
import { expect } from 'chai';
import fc from 'fast-check';
import sinon from 'sinon';
import { CircuitBreaker, CircuitBreakerError, type CircuitState } from '../../../src/index.js';

class Down extends Error {}

const TIMEOUT = 100;

interface Call {
  start: number;
  duration: number;
  fails: boolean;
  /** When the caller gives up, after the start; undefined: it waits, with no signal. */
  giveUpAfter: number | undefined;
}

interface Settings {
  failureThreshold: number;
  successThreshold: number;
  halfOpenMaxCalls: number;
}

type Event = { at: number; order: number; kind: 'admit' | 'settle' | 'giveUp'; call: number };

/** The breaker the README describes, driven by the events of overlapping calls in time order. */
function model(settings: Settings, calls: Call[]): { results: string[]; state: CircuitState } {
  let state = 'closed' as CircuitState;
  let generation = 0;
  let failures = 0;
  let successes = 0;
  let trials = 0;
  let openedAt = 0;
  let trialAdmittedAt = 0;
  let slots = 0;
  const admitted: { generation: number; slots: number; trial: boolean; gone: boolean }[] = [];
  const results: string[] = calls.map(() => 'pending');
  const move = (to: CircuitState, at: number) => {
    state = to;
    generation++;
    failures = successes = trials = 0;
    if (to === 'open') openedAt = at;
  };
  const events: Event[] = [];
  calls.forEach((call, i) => events.push({ at: call.start, order: i, kind: 'admit', call: i }));
  let admissions = 0;
  // Events are processed in time order; the settle and give-up events of a call are added when it is admitted.
  for (let next = 0; next < events.length; next++) {
    events.sort((a, b) => a.at - b.at || a.order - b.order);
    const { at, kind, call: i } = events[next];
    const call = calls[i];
    if (kind === 'admit') {
      if (state === 'open' && at - openedAt >= TIMEOUT) move('half_open', at);
      if (state === 'open') {
        results[i] = 'open';
        continue;
      }
      let trial = false;
      if (state === 'half_open') {
        if (trials >= settings.halfOpenMaxCalls) {
          if (at - trialAdmittedAt < TIMEOUT) {
            results[i] = 'half_open';
            continue;
          }
          trials = 0;
          slots++;
        }
        trials++;
        trialAdmittedAt = at;
        trial = true;
      }
      admitted[i] = { generation, slots, trial, gone: false };
      const order = ++admissions;
      events.push({ at: at + call.duration, order, kind: 'settle', call: i });
      if (call.giveUpAfter !== undefined)
        events.push({ at: at + call.giveUpAfter, order, kind: 'giveUp', call: i });
    } else if (kind === 'giveUp') {
      if (results[i] !== 'pending') continue;
      results[i] = 'gave up';
      admitted[i].gone = true;
      const { trial, generation: admission, slots: held } = admitted[i];
      if (trial && admission === generation && held === slots) trials--;
    } else {
      if (results[i] === 'pending') results[i] = call.fails ? 'down' : 'ok';
      const { generation: admission, slots: held, gone } = admitted[i];
      if (gone || admission !== generation) continue;
      if (state === 'closed') {
        if (!call.fails) failures = 0;
        else if (++failures >= settings.failureThreshold) move('open', at);
      } else if (call.fails) move('open', at);
      else {
        if (held === slots) trials--;
        if (++successes >= settings.successThreshold) move('closed', at);
      }
    }
  }
  return { results, state };
}

const callArb: fc.Arbitrary<Call> = fc
  .record({
    start: fc.integer({ min: 0, max: 60 }).map((n) => n * 10),
    tenths: fc.integer({ min: 1, max: 25 }),
    fails: fc.boolean(),
    giveUp: fc.option(fc.integer({ min: 0, max: 24 }), { freq: 3 }),
  })
  .map(({ start, tenths, fails, giveUp }) => ({
    start,
    duration: tenths * 10 + 3,
    fails,
    giveUpAfter: giveUp !== null && giveUp < tenths ? giveUp * 10 + 5 : undefined,
  }));

describe('CircuitBreaker: overlapping calls and callers that give up, against a model', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => (clock = sinon.useFakeTimers({ now: 0 })));
  afterEach(() => clock.restore());

  it('answers every call, records every outcome and frees every slot as the model does', async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          failureThreshold: fc.integer({ min: 1, max: 3 }),
          successThreshold: fc.integer({ min: 1, max: 2 }),
          halfOpenMaxCalls: fc.integer({ min: 1, max: 2 }),
        }),
        fc.array(callArb, { minLength: 1, maxLength: 25 }),
        async (settings, calls) => {
          clock.reset();
          const breaker = new CircuitBreaker({ ...settings, timeout: TIMEOUT });
          const results: string[] = calls.map(() => 'pending');
          calls.forEach((call, i) =>
            setTimeout(() => {
              let signal: AbortSignal | undefined;
              if (call.giveUpAfter !== undefined) {
                const controller = new AbortController();
                signal = controller.signal;
                setTimeout(() => controller.abort(new Error('gave up')), call.giveUpAfter);
              }
              const work = () =>
                new Promise<string>((resolve, reject) =>
                  setTimeout(
                    () => (call.fails ? reject(new Down('down')) : resolve('ok')),
                    call.duration,
                  ),
                );
              breaker.protect(work, signal === undefined ? undefined : { signal }).then(
                (value) => (results[i] = value),
                (error: unknown) =>
                  (results[i] =
                    error instanceof CircuitBreakerError ? error.state : (error as Error).message),
              );
            }, call.start),
          );
          await clock.tickAsync(1_000);
          const expected = model(settings, calls);
          expect(results).to.deep.equal(expected.results);
          expect(breaker.toJSON().state).to.equal(expected.state);
          for (const result of results) seen.add(result);
        },
      ),
      { numRuns: 150 },
    );
    // The runs reached every answer: rejections in both states, callers that gave up.
    expect([...seen].sort()).to.deep.equal(['down', 'gave up', 'half_open', 'ok', 'open']);
  });
});
