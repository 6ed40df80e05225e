import { expect } from 'chai';
import {
  vegas,
  type VegasOptions,
  type VegasState,
} from '../../../../src/patterns/concurrency/adaptive/vegas.js';
import { window, windowAt } from './server-model.js';

const options: VegasOptions = { minLimit: 1, maxLimit: 1_000, probeIntervalMs: 30_000 };

function anchoredAt(limit: number): VegasState {
  return { limit, noLoadRtt: 100, resumeAt: NaN, nextProbeAt: 1e12, congested: 0 };
}

function run(state: VegasState, count: number, capacity = 100, from = 0): VegasState {
  for (let i = 1; i <= count; i++)
    state = vegas.next(state, windowAt(state.limit, from + i * 100, { capacity }), options);
  return state;
}

describe('vegas limit algorithm', () => {
  it('grows by alpha (2·log10 limit) when nothing waits', () => {
    expect(vegas.next(anchoredAt(100), window({ end: 1 }), options).limit).to.equal(104);
  });

  it('grows by log10(limit) while the estimated queue is below alpha', () => {
    // queue = 100 × (1 − 100/103) ≈ 2.9: above log10(100) = 2, below alpha = 4
    const next = vegas.next(anchoredAt(100), window({ meanRtt: 103, end: 1 }), options);
    expect(next.limit).to.equal(102);
  });

  it('holds while the estimated queue is between alpha and beta', () => {
    // queue = 100 × (1 − 100/106) ≈ 5.7: between 4 and 8
    const next = vegas.next(anchoredAt(100), window({ meanRtt: 106, end: 1 }), options);
    expect(next.limit).to.equal(100);
  });

  it('shrinks by half the excess over beta when the queue is long', () => {
    // queue = 100 × (1 − 100/200) = 50: 42 over beta = 8
    const next = vegas.next(anchoredAt(100), window({ meanRtt: 200, end: 1 }), options);
    expect(next.limit).to.equal(79);
  });

  it('shrinks by log10(limit) after a window with a drop', () => {
    const next = vegas.next(anchoredAt(100), window({ drops: 1, end: 1 }), options);
    expect(next.limit).to.equal(98);
  });

  it('does not grow when the window used less than half the limit', () => {
    const next = vegas.next(anchoredAt(100), window({ maxInflight: 40, end: 1 }), options);
    expect(next.limit).to.equal(100);
  });

  // Below, limit 8 or 4 gives log10(limit) < 1, so step 1, alpha 2 and beta 4: exact queue sizes.
  it('holds with a queue of exactly beta, and of exactly alpha', () => {
    // queue = 8 × (1 − 50/100) = 4 = beta; 8 × (1 − 75/100) = 2 = alpha
    const beta = vegas.next({ ...anchoredAt(8), noLoadRtt: 50 }, window({ end: 1 }), options);
    expect(beta.limit).to.equal(8);
    const alpha = vegas.next({ ...anchoredAt(8), noLoadRtt: 75 }, window({ end: 1 }), options);
    expect(alpha.limit).to.equal(8);
  });

  it('grows by alpha while the queue is at most log10(limit)', () => {
    // queue = 4 × (1 − 75/100) = 1 = the step
    const next = vegas.next({ ...anchoredAt(4), noLoadRtt: 75 }, window({ end: 1 }), options);
    expect(next.limit).to.equal(6);
  });

  it('grows after a window that used exactly half the limit', () => {
    const next = vegas.next(anchoredAt(8), window({ maxInflight: 4, end: 1 }), options);
    expect(next.limit).to.equal(10);
  });

  it('takes a window measured at 0 ms against a no-load latency of 0 ms as no queue: it grows by alpha', () => {
    const still = { ...anchoredAt(100), noLoadRtt: 0 };
    const next = vegas.next(still, window({ meanRtt: 0, minRtt: 0, maxRtt: 0, end: 1 }), options);
    expect(next.limit).to.equal(104);
  });

  it('ends a probe with its window: that latency is the new reference and the limit comes back', () => {
    const due: VegasState = { ...anchoredAt(100), nextProbeAt: 5_000 };
    const probing = vegas.next(due, window({ end: 5_000 }), options);
    expect(probing.limit).to.equal(10);
    expect(probing.resumeAt).to.equal(104);
    const after = vegas.next(probing, window({ meanRtt: 150, end: 5_200 }), options);
    expect(after).to.deep.equal({
      limit: 104,
      noLoadRtt: 150,
      resumeAt: NaN,
      nextProbeAt: 35_200,
      congested: 0,
    });
  });

  it('settles a few calls above capacity in front of a server that queues beyond it', () => {
    expect(run(anchoredAt(20), 300).limit).to.be.within(100, 112);
  });

  it('follows a server that loses half its capacity to within 25 % in 5 s of windows', () => {
    const state = run(run(anchoredAt(20), 300), 50, 50, 30_000);
    expect(state.limit).to.be.within(50, 62.5);
  });

  it('keeps its no-load latency anchored under sustained queueing', () => {
    const state = run(anchoredAt(20), 6_000);
    expect(state.noLoadRtt).to.equal(100);
    expect(state.limit).to.be.below(115);
  });
});
