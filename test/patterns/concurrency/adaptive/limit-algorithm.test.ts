import { expect } from 'chai';
import { aimd } from '../../../../src/patterns/concurrency/adaptive/aimd.js';
import { gradient } from '../../../../src/patterns/concurrency/adaptive/gradient.js';
import {
  clampLimit,
  type LimitAlgorithm,
  type LimitState,
} from '../../../../src/patterns/concurrency/adaptive/limit-algorithm.js';
import { vegas } from '../../../../src/patterns/concurrency/adaptive/vegas.js';
import { window } from './server-model.js';

const options = {
  minLimit: 3,
  maxLimit: 40,
  smoothing: 0.2,
  probeIntervalMs: 30_000,
  latencyThreshold: 120,
  backoffRatio: 0.9,
};

const algorithms = { gradient, vegas, aimd } as unknown as Record<
  string,
  LimitAlgorithm<LimitState, typeof options>
>;

// Latencies no dependency takes: what a clock that went back, broke or overflowed reports.
const hostile = [0, -5, -Infinity, NaN, Infinity, Number.MAX_VALUE];

describe('limit algorithms', () => {
  it('keep a limit within minLimit and maxLimit, clamping a value that is not a number to minLimit', () => {
    expect(clampLimit(50, options)).to.equal(40);
    expect(clampLimit(1, options)).to.equal(3);
    expect(clampLimit(7.5, options)).to.equal(7.5);
    expect(clampLimit(NaN, options)).to.equal(3);
  });

  for (const [name, algorithm] of Object.entries(algorithms)) {
    it(`${name} keeps its limit a number within its bounds whatever latencies a window reports`, () => {
      for (const first of hostile)
        for (const later of hostile) {
          let state = algorithm.initial(20, options);
          for (let i = 1; i <= 12; i++) {
            const rtt = i === 1 ? first : i % 2 === 0 ? later : 100;
            state = algorithm.next(
              state,
              window({ minRtt: rtt, meanRtt: rtt, maxRtt: rtt, maxInflight: 40, end: i * 1_000 }),
              options,
            );
            expect(state.limit, `${name} after ${first} then ${later}`).to.be.within(3, 40);
          }
        }
    });
  }
});
