import { expect } from 'chai';
import { aimd, type AimdOptions } from '../../../../src/patterns/concurrency/adaptive/aimd.js';
import { window, windowAt } from './server-model.js';

const options: AimdOptions = {
  minLimit: 1,
  maxLimit: 200,
  latencyThreshold: 120,
  backoffRatio: 0.9,
};

describe('aimd limit algorithm', () => {
  it('starts at the initial limit', () => {
    expect(aimd.initial(20, options)).to.deep.equal({ limit: 20 });
  });

  it('adds 1 after a window of successes within the latency threshold', () => {
    expect(aimd.next({ limit: 20 }, window({ end: 1 }), options)).to.deep.equal({ limit: 21 });
  });

  it('multiplies by backoffRatio after a window with a drop', () => {
    expect(aimd.next({ limit: 50 }, window({ drops: 1, end: 1 }), options).limit).to.equal(45);
  });

  it('counts a success slower than latencyThreshold as a drop', () => {
    expect(aimd.next({ limit: 50 }, window({ maxRtt: 121, end: 1 }), options).limit).to.equal(45);
  });

  it('counts a success that takes exactly latencyThreshold as within it', () => {
    expect(aimd.next({ limit: 50 }, window({ maxRtt: 120, end: 1 }), options).limit).to.equal(51);
  });

  it('grows after a window that used exactly half the limit', () => {
    expect(aimd.next({ limit: 50 }, window({ maxInflight: 25, end: 1 }), options).limit).to.equal(
      51,
    );
  });

  it('counts failures only without a latency threshold', () => {
    const failuresOnly = { ...options, latencyThreshold: Infinity };
    expect(aimd.next({ limit: 50 }, window({ maxRtt: 1e9, end: 1 }), failuresOnly).limit).to.equal(
      51,
    );
  });

  it('does not grow when the window used less than half the limit', () => {
    expect(aimd.next({ limit: 50 }, window({ maxInflight: 24, end: 1 }), options).limit).to.equal(
      50,
    );
  });

  it('keeps the limit within [minLimit, maxLimit]', () => {
    expect(aimd.next({ limit: 200 }, window({ end: 1 }), options).limit).to.equal(200);
    const floor = { ...options, minLimit: 10 };
    expect(aimd.next({ limit: 10.5 }, window({ drops: 3, end: 1 }), floor).limit).to.equal(10);
  });

  it('saws between 0.9× and 1× of the limit at which latency crosses the threshold', () => {
    let state = { limit: 20 };
    let low = Infinity;
    let high = 0;
    for (let i = 1; i <= 2_000; i++) {
      state = aimd.next(state, windowAt(state.limit, i * 100), options);
      if (i > 1_000) {
        low = Math.min(low, state.limit);
        high = Math.max(high, state.limit);
      }
    }
    // 120 ms is reached at 1.2× the capacity of 100
    expect(low).to.be.within(105, 110);
    expect(high).to.be.within(115, 122);
  });
});
