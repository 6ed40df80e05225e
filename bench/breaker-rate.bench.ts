/*
 * The happy path of a closed circuit breaker in rate mode (count window and time window, with and without slow
 * calls) beside the consecutive breaker, opossum's rolling window and cockatiel's SamplingBreaker: each case
 * awaits a call that succeeds at once. Ratios are to an awaited bare async call measured in the same run.
 *
 * Target: a closed rate-mode breaker at most 2.5x, in both window kinds.
 *
 * Two floor cases show the least any breaker can cost here: one that sees the call's outcome does at least one
 * `.then` on the call's promise, and a time window also reads the clock once per call (no timer may cache the
 * time, DESIGN 1.3.1). What is left above the floor is dspu's own bookkeeping.
 */
import { SamplingBreaker, circuitBreaker, handleAll } from 'cockatiel';
import { CircuitBreaker } from '../src/index.js';
import { BenchGroup, environment } from './harness.js';
import { Opossum } from './opossum.js';

const fast = async (): Promise<number> => 1;

// The floors: a reaction to see the outcome; and the same plus one clock read.
const seen = <T>(value: T): T => value;
const failed = (error: unknown): never => {
  throw error;
};
const floorReaction = () => fast().then(seen, failed);
const floorReactionAndClock = () => {
  Date.now();
  return fast().then(seen, failed);
};

const consecutive = new CircuitBreaker({ failureThreshold: 5, timeout: '60s' });
const countWindow = new CircuitBreaker({ failureRateThreshold: 50, slidingWindow: { calls: 100 } });
const timeWindow = new CircuitBreaker({ failureRateThreshold: 50, slidingWindow: { time: '60s' } });
const timedWindow = new CircuitBreaker({
  failureRateThreshold: 50,
  slowCallDuration: '2s',
  slidingWindow: { time: '60s' },
});
const cockatielSampling = circuitBreaker(handleAll, {
  halfOpenAfter: 60_000,
  breaker: new SamplingBreaker({ threshold: 0.5, duration: 60_000, minimumRps: 1 }),
});
const opossum = new Opossum(fast, {
  resetTimeout: 60_000,
  timeout: false,
  errorThresholdPercentage: 50,
  rollingCountTimeout: 60_000,
  rollingCountBuckets: 10,
});

console.log(
  `circuit breakers in rate mode, closed, on a call that succeeds at once (${environment()})`,
);

const result = await new BenchGroup('rate-mode breaker, happy path', { repeats: 9, sampleMs: 100 })
  .add('floor: one reaction to the outcome', floorReaction)
  .add('floor: one reaction + one clock read', floorReactionAndClock)
  .add('dspu consecutive (failureThreshold)', () => consecutive.protect(fast))
  .add('dspu rate mode, count window (100 calls)', () => countWindow.protect(fast))
  .add('dspu rate mode, time window (60s, 10 buckets)', () => timeWindow.protect(fast))
  .add('dspu rate mode, time window + slowCallDuration', () => timedWindow.protect(fast))
  .add('cockatiel SamplingBreaker', () => cockatielSampling.execute(fast))
  .add('opossum rolling window', () => opossum.fire())
  .run();

console.log(
  `floor of a breaker that sees outcomes: ${result.ratio('floor: one reaction to the outcome').toFixed(2)}x; ` +
    `with one clock read per call (a time window): ${result.ratio('floor: one reaction + one clock read').toFixed(2)}x`,
);
for (const name of [
  'dspu rate mode, count window (100 calls)',
  'dspu rate mode, time window (60s, 10 buckets)',
]) {
  const ratio = result.ratio(name);
  console.log(`target ${name} <= 2.5x: ${ratio.toFixed(2)}x, ${ratio <= 2.5 ? 'met' : 'MISSED'}`);
}
