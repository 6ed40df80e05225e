import { expect } from 'chai';
import {
  gradient,
  type GradientOptions,
  type GradientState,
} from '../../../../src/patterns/concurrency/adaptive/gradient.js';
import { window, windowAt } from './server-model.js';

const options: GradientOptions = {
  minLimit: 1,
  maxLimit: 1_000,
  smoothing: 0.2,
  probeIntervalMs: 30_000,
};

/** Runs the algorithm for `count` windows of `every` ms in front of the server model. */
function run(
  state: GradientState,
  count: number,
  { from = 0, every = 100, capacity = 100, latency = 100 } = {},
): GradientState {
  for (let i = 1; i <= count; i++)
    state = gradient.next(
      state,
      windowAt(state.limit, from + i * every, { capacity, latency }),
      options,
    );
  return state;
}

/** A state anchored at 100 ms, at `limit`, with no probe due for a long time. */
function anchoredAt(limit: number): GradientState {
  return { limit, noLoadRtt: 100, resumeAt: NaN, nextProbeAt: 1e12, congested: 0 };
}

describe('gradient limit algorithm', () => {
  it('starts at the initial limit with its no-load latency unknown', () => {
    expect(gradient.initial(20, options)).to.deep.equal({
      limit: 20,
      noLoadRtt: NaN,
      resumeAt: NaN,
      nextProbeAt: NaN,
      congested: 0,
    });
  });

  it("takes the first window's fastest call as the no-load latency and schedules a probe", () => {
    const next = gradient.next(
      gradient.initial(20, options),
      window({ minRtt: 80, meanRtt: 90, end: 1_000 }),
      options,
    );
    expect(next.noLoadRtt).to.equal(80);
    expect(next.nextProbeAt).to.equal(31_000);
  });

  it('grows by smoothing × √limit per window while latency stays at the no-load latency', () => {
    const next = gradient.next(anchoredAt(25), window({ end: 1 }), options);
    expect(next.limit).to.equal(25 + 0.2 * 5);
  });

  it('does not grow when the window used less than half the limit', () => {
    const next = gradient.next(anchoredAt(100), window({ maxInflight: 49, end: 1 }), options);
    expect(next.limit).to.equal(100);
  });

  it('grows after a window that used exactly half the limit', () => {
    const next = gradient.next(anchoredAt(16), window({ maxInflight: 8, end: 1 }), options);
    expect(next.limit).to.equal(16 + 0.2 * 4);
  });

  it('takes a window measured at 0 ms against a no-load latency of 0 ms as no queue: it grows', () => {
    const still = { ...anchoredAt(16), noLoadRtt: 0 };
    const next = gradient.next(
      still,
      window({ meanRtt: 0, minRtt: 0, maxRtt: 0, end: 1 }),
      options,
    );
    expect(next.limit).to.equal(16 + 0.2 * 4);
  });

  it('shrinks toward limit × noLoad / latency + √limit, never by more than half the limit', () => {
    const twice = gradient.next(anchoredAt(100), window({ meanRtt: 200, end: 1 }), options);
    expect(twice.limit).to.be.closeTo(100 + 0.2 * (100 * 0.5 + 10 - 100), 1e-9);
    const tenTimes = gradient.next(anchoredAt(100), window({ meanRtt: 1_000, end: 1 }), options);
    expect(tenTimes.limit).to.equal(twice.limit);
  });

  it('settles near capacity + √capacity in front of a server that queues beyond its capacity', () => {
    const settled = run(anchoredAt(20), 600);
    expect(settled.limit).to.be.within(105, 115);
  });

  it('keeps its no-load latency anchored under ten minutes of sustained queueing: the limit never climbs', () => {
    let state = run(anchoredAt(20), 100);
    let highest = 0;
    for (let i = 0; i < 6_000; i++) {
      // A queue always waits at the server: every window is slower than the no-load latency.
      state = gradient.next(state, windowAt(state.limit, 10_000 + i * 100), options);
      if (state.resumeAt !== state.resumeAt) highest = Math.max(highest, state.limit); // outside probes
    }
    expect(state.noLoadRtt).to.equal(100);
    expect(highest).to.be.below(120);
  });

  it('lowers its no-load latency at once when a window shows a faster dependency', () => {
    const next = gradient.next(anchoredAt(50), window({ meanRtt: 60, end: 1 }), options);
    expect(next.noLoadRtt).to.equal(60);
  });

  it('follows a server that loses half its capacity to within 25 % in 5 s of windows', () => {
    let state = run(anchoredAt(20), 600);
    state = run(state, 50, { from: 60_000, capacity: 50 });
    expect(state.limit).to.be.within(50, 62.5);
  });

  it('probes every probeInterval: the limit drops to √limit, then the probe sets the no-load latency and restores it', () => {
    const due: GradientState = { ...anchoredAt(100), nextProbeAt: 5_000 };
    const probing = gradient.next(due, window({ end: 5_000 }), options);
    expect(probing.limit).to.equal(10);
    expect(probing.resumeAt).to.equal(100 + 0.2 * 10);
    const after = gradient.next(probing, window({ meanRtt: 150, end: 5_200 }), options);
    expect(after).to.deep.equal({
      limit: probing.resumeAt,
      noLoadRtt: 150,
      resumeAt: NaN,
      nextProbeAt: 35_200,
      congested: 0,
    });
  });

  it('probes after five windows in a row at twice the no-load latency, and moves the reference up', () => {
    let state = anchoredAt(10);
    // The dependency now takes 300 ms even alone: every window is "congested".
    for (let i = 1; i <= 5; i++)
      state = gradient.next(state, window({ meanRtt: 300, minRtt: 300, end: i }), options);
    expect(state.resumeAt).to.be.above(0);
    state = gradient.next(state, window({ meanRtt: 300, minRtt: 300, end: 6 }), options);
    expect(state.noLoadRtt).to.equal(300);
  });

  it('starts no probe before probeInterval while windows stay under twice the no-load latency', () => {
    let state = anchoredAt(50);
    for (let i = 1; i <= 20; i++)
      state = gradient.next(state, window({ meanRtt: 199, minRtt: 150, end: i }), options);
    expect(state.resumeAt).to.be.NaN;
    expect(state.congested).to.equal(0);
  });

  it('counts a window at exactly twice the no-load latency as congested', () => {
    let state = anchoredAt(50);
    for (let i = 1; i <= 5; i++)
      state = gradient.next(state, window({ meanRtt: 200, minRtt: 200, end: i }), options);
    expect(state.resumeAt).to.be.above(0);
  });

  it('keeps the limit within [minLimit, maxLimit]', () => {
    const bounded = { ...options, minLimit: 5, maxLimit: 30 };
    let state = anchoredAt(28);
    for (let i = 1; i <= 20; i++) state = gradient.next(state, window({ end: i }), bounded);
    expect(state.limit).to.equal(30);
    for (let i = 21; i <= 60; i++)
      state = gradient.next(state, window({ meanRtt: 150, end: i }), bounded);
    expect(state.limit).to.be.at.least(5);
  });
});
