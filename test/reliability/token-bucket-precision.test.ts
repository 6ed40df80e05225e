// Found by the soak: on the epoch clock (~1.8e12 ms) a double's step is 2.4e-4 ms, so a bucket that moved an
// "empty at" timestamp forward by 0.025 ms per token (40 tokens/ms) rounded every grant and over-admitted.
import { expect } from 'chai';
import { MemoryTokenBucketStore, type TokenBucketSpec } from '../../src/index.js';

/** Takes one token at a time, as fast as granted, for `ms` milliseconds starting at `start`. */
function grantsOver(bucket: TokenBucketSpec, start: number, ms: number): number {
  const store = new MemoryTokenBucketStore();
  let grants = 0;
  for (let t = start; t <= start + ms; t++) while (store.take(1, t, bucket).granted) grants++;
  return grants;
}

describe('reliability: token bucket precision on the epoch clock', () => {
  for (const rate of [40, 24, 3, 1000 / 7]) {
    it(`grants exactly capacity + rate x time at ${rate.toFixed(2)} tokens/ms, near 1.8e12 ms`, () => {
      const bucket = { capacity: 200, msPerToken: 1 / rate };
      const expected = 200 + Math.floor(rate * 1000 + 1e-9);
      expect(grantsOver(bucket, 1_795_000_000_000, 1000)).to.equal(expected);
      expect(grantsOver(bucket, 0, 1000)).to.equal(expected);
    });
  }
});
