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
