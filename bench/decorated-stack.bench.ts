/*
 * The full decorated stack: one method carrying Retry + CircuitBreaker + RateLimited (a rate so high it never
 * waits) + Timeout + Concurrency, called on its happy path, against the same protection from peer libraries:
 * cockatiel's wrap(retry, circuitBreaker, timeout, bulkhead) through execute() and through its @usePolicy
 * decorator, and p-retry + p-limit + opossum (breaker and timeout) composed by hand. Ratios are to an awaited
 * bare async call measured in the same run. Then the heap: 1,000,000 calls of the decorated method, with the
 * live heap measured after a full collection before and after.
 *
 * Targets (issue "decorators, the weaver and the registry"): the decorated stack at most 10x an awaited bare
 * call and at least 25x faster than cockatiel's pipeline, with no heap growth over 1,000,000 calls.
 */
import {
  ConsecutiveBreaker,
  ExponentialBackoff,
  TimeoutStrategy,
  bulkhead,
  circuitBreaker,
  handleAll,
  retry as cockatielRetry,
  timeout as cockatielTimeout,
  usePolicy,
  wrap,
} from 'cockatiel';
import pLimit from 'p-limit';
import pRetry from 'p-retry';
import {
  CircuitBreaker,
  Concurrency,
  RateLimited,
  Retry,
  Timeout,
  getResiliencePolicies,
} from '../src/index.js';
import { BenchGroup, environment, formatNs } from './harness.js';
import { Opossum } from './opossum.js';

const HUGE = 1e12; // tokens per second: the limiter admits every call at once
const HEAP_CALLS = 1_000_000;

const fast = async (): Promise<number> => 1;

class DspuService {
  @Retry({ maxAttempts: 3 })
  @CircuitBreaker({ failureThreshold: 5, timeout: '60s' })
  @RateLimited({ rate: HUGE, per: '1s' })
  @Timeout('5s')
  @Concurrency(10)
  async call(): Promise<number> {
    return 1;
  }
}

const cockatielPolicy = wrap(
  cockatielRetry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff() }),
  circuitBreaker(handleAll, { halfOpenAfter: 60_000, breaker: new ConsecutiveBreaker(5) }),
  cockatielTimeout(5_000, TimeoutStrategy.Cooperative),
  bulkhead(10, Infinity),
);

class CockatielService {
  @usePolicy(cockatielPolicy)
  async call(): Promise<number> {
    return 1;
  }
}

const limit = pLimit(10);
const opossum = new Opossum(fast, { resetTimeout: 60_000, timeout: 5_000 });
const composed = () => pRetry(() => limit(() => opossum.fire()), { retries: 2 });

const dspu = new DspuService();
const cockatiel = new CockatielService();
const kinds = getResiliencePolicies(DspuService, 'call')
  .map((policy) => policy.kind)
  .join(' → ');

console.log(`a method with five policies, on its happy path (${environment()})`);
console.log(`dspu composes: ${kinds} → method`);

const DSPU = 'dspu decorated method (5 policies)';
const COCKATIEL = 'cockatiel wrap(retry, breaker, timeout, bulkhead).execute';
const result = await new BenchGroup('decorated stack, happy path', { repeats: 9, sampleMs: 100 })
  .add(DSPU, () => dspu.call())
  .add(COCKATIEL, () => cockatielPolicy.execute(fast))
  .add('cockatiel @usePolicy(same wrap) method', () => cockatiel.call())
  .add('p-retry + p-limit + opossum (breaker, timeout)', composed)
  .run();

const ratio = result.ratio(DSPU);
const speedup = result.ratio(COCKATIEL) / ratio;
console.log(
  `target ${DSPU} <= 10x an awaited bare call: ${ratio.toFixed(2)}x, ${ratio <= 10 ? 'met' : 'MISSED'}`,
);
console.log(
  `target ${DSPU} >= 25x faster than cockatiel's pipeline: ${speedup.toFixed(1)}x, ` +
    `${speedup >= 25 ? 'met' : 'MISSED'}`,
);

await heapGrowth();

/** Live heap after a full collection, before and after HEAP_CALLS awaited calls of the decorated method. */
async function heapGrowth(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) {
    console.log('\nheap check skipped: run with --expose-gc');
    return;
  }
  const settle = () => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  for (let i = 0; i < 100_000; i++) await dspu.call(); // every lazy structure built, code optimised
  const before = settle();
  const started = process.hrtime.bigint();
  for (let i = 0; i < HEAP_CALLS; i++) await dspu.call();
  const ns = Number(process.hrtime.bigint() - started) / HEAP_CALLS;
  const after = settle();
  const growth = after - before;
  const perCall = growth / HEAP_CALLS;
  console.log(
    `\nheap over ${HEAP_CALLS.toLocaleString('en-US')} calls of the decorated method ` +
      `(${formatNs(ns)} ns/call): before ${kb(before)}, after ${kb(after)}, ` +
      `growth ${growth >= 0 ? '+' : ''}${kb(growth)} (${perCall.toFixed(3)} bytes/call)`,
  );
  // A few KB of noise (code, feedback vectors) is not growth; a leak of one byte per call would be ~1 MB.
  const flat = perCall < 0.05;
  console.log(`target zero heap growth (< 0.05 bytes/call): ${flat ? 'met' : 'MISSED'}`);
}

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`;
}
