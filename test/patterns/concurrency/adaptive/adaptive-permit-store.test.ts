import { expect } from 'chai';
import { TimeoutError } from '../../../../src/index.js';
import { AdaptivePermitStore } from '../../../../src/patterns/concurrency/adaptive/adaptive-permit-store.js';
import type {
  LimitAlgorithm,
  LimitState,
  LimitWindow,
} from '../../../../src/patterns/concurrency/adaptive/limit-algorithm.js';
import { SUCCEEDED } from '../../../../src/patterns/concurrency/permit-store.js';
import { useFakeClock } from '../../../support/fake-clock.js';

/** An algorithm that records the windows it is shown and answers with the limits it is given, in turn. */
function scripted(...limits: number[]) {
  const windows: LimitWindow[] = [];
  const algorithm: LimitAlgorithm<LimitState, undefined> = {
    initial: (initialLimit) => ({ limit: initialLimit }),
    next: (state, window) => {
      windows.push(window);
      return { limit: limits.shift() ?? state.limit };
    },
  };
  return { algorithm, windows };
}

function storeOf(
  algorithm: LimitAlgorithm<LimitState, undefined>,
  isDrop: (error: unknown) => boolean = () => true,
) {
  const changes: [number, number][] = [];
  const store = new AdaptivePermitStore(algorithm, undefined, 10, isDrop, (from, to) =>
    changes.push([from, to]),
  );
  return { store, changes };
}

describe('AdaptivePermitStore', () => {
  const time = useFakeClock();

  it('shows its algorithm each window of 10 calls: drops, mean, fastest and slowest latency, most in flight', () => {
    const { algorithm, windows } = scripted();
    const { store } = storeOf(algorithm, (error) => !(error instanceof TypeError));
    for (let i = 0; i < 10; i++) store.take();
    time.clock.tick(10);
    // Latencies 10 − startedAt: 5, 1, 9, 3 ×6, then 4 (the last is neither the fastest nor the slowest).
    const outcomes = [
      SUCCEEDED,
      { ok: false, error: new Error('down') },
      { ok: false, error: new TypeError('bad request') },
      { ok: false, error: new TimeoutError(5) },
    ] as const;
    [5, 9, 1, 7, 7, 7, 7, 7, 7, 6].forEach((startedAt, i) =>
      store.give(startedAt, outcomes[i] ?? SUCCEEDED),
    );
    expect(windows).to.deep.equal([
      { samples: 10, drops: 2, meanRtt: 3.7, minRtt: 1, maxRtt: 9, maxInflight: 10, end: 10 },
    ]);
    expect(store.active).to.equal(0);
  });

  it('learns nothing from a latency below 0, beyond any number, or not a number', () => {
    const { algorithm, windows } = scripted();
    const { store } = storeOf(algorithm);
    time.clock.tick(100);
    // Start times that a clock stepping back or breaking gives: after the end, or unreadable.
    for (const startedAt of [150, NaN])
      for (let i = 0; i < 10; i++) {
        store.take();
        store.give(startedAt, SUCCEEDED);
      }
    // An end that a broken clock gives: infinitely late.
    const tickets = Array.from({ length: 10 }, () => store.take()!);
    const read = performance.now;
    performance.now = () => Infinity;
    try {
      for (const ticket of tickets) store.give(ticket, SUCCEEDED);
    } finally {
      performance.now = read;
    }
    expect(windows).to.deep.equal([]);
    expect(store.active).to.equal(0);
  });

  it('measures calls that overlap: a later start does not hide an earlier call', () => {
    const { algorithm, windows } = scripted();
    const { store } = storeOf(algorithm);
    const tickets: number[] = [];
    for (let i = 0; i < 10; i++) {
      tickets.push(store.take()!);
      time.clock.tick(1);
    }
    for (const ticket of tickets) store.give(ticket, SUCCEEDED);
    expect(windows).to.have.length(1);
    expect([windows[0].minRtt, windows[0].maxRtt]).to.deep.equal([1, 10]);
  });

  it('counts a failure its drop filter cannot judge as a drop', () => {
    const { algorithm, windows } = scripted();
    const { store } = storeOf(algorithm, () => {
      throw new TypeError('a broken filter');
    });
    for (let i = 0; i < 10; i++) store.give(store.take()!, { ok: false, error: new Error('x') });
    expect(windows[0].drops).to.equal(10);
  });

  it('applies the limit its algorithm wants, floored, and reports only a change of the applied limit', () => {
    const { algorithm } = scripted(10.6, 12.3);
    const { store, changes } = storeOf(algorithm);
    for (let i = 0; i < 10; i++) store.give(store.take()!, SUCCEEDED);
    expect([store.limit, store.current.limit]).to.deep.equal([10, 10.6]);
    expect(changes).to.deep.equal([]);
    for (let i = 0; i < 10; i++) store.give(store.take()!, SUCCEEDED);
    expect(store.limit).to.equal(12);
    expect(changes).to.deep.equal([[10, 12]]);
  });

  it('never counts fewer than no permits in use: a give after reset() frees none', () => {
    const { algorithm } = scripted();
    const { store } = storeOf(algorithm);
    const tickets = [store.take()!, store.take()!];
    store.reset();
    for (const ticket of tickets) store.give(ticket, undefined);
    expect(store.active).to.equal(0);
    let taken = 0;
    while (store.take() !== undefined) taken++;
    expect(taken).to.equal(10);
  });
});
