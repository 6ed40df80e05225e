/*
 * The happy-path cost of a rate limiter with tokens available and of a closed circuit breaker: each case
 * awaits a call that succeeds at once, through dspu, through a peer library, or through nothing. Ratios are
 * to an awaited bare async call measured in the same run. Then the queued path: 100,000 waiters on one
 * limiter, counting timers and the time per grant.
 *
 * Targets (issue "rate limiter and circuit breaker"): closed-breaker protect at most 2.5x, limiter run with
 * tokens available at most 3x, each faster than every peer.
 */
import { createRequire } from 'node:module';
import Bottleneck from 'bottleneck';
import { ConsecutiveBreaker, circuitBreaker, handleAll } from 'cockatiel';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { CircuitBreaker, RateLimiter } from '../src/index.js';
import { BenchGroup, environment, formatNs, measure } from './harness.js';

/** The part of opossum's API used here (it ships no type declarations). */
type OpossumBreaker = { fire(): Promise<unknown> };
type OpossumConstructor = new (
  action: () => Promise<unknown>,
  options: Record<string, unknown>,
) => OpossumBreaker;
const Opossum = createRequire(import.meta.url)('opossum') as OpossumConstructor;

const fast = async (): Promise<number> => 1;

// Rates high enough that no case ever waits: this measures the admission path, not the waiting.
const HUGE = 1e12;
const dspuBreaker = new CircuitBreaker({ failureThreshold: 5, timeout: '60s' });
const dspuLimiter = new RateLimiter({ rate: HUGE, per: '1s' });
const cockatielBreaker = circuitBreaker(handleAll, {
  halfOpenAfter: 60_000,
  breaker: new ConsecutiveBreaker(5),
});
const opossumBreaker = new Opossum(fast, { resetTimeout: 60_000, timeout: false });
const flexible = new RateLimiterMemory({ points: HUGE, duration: 1 });
const bottleneck = new Bottleneck();

console.log(`rate limiter and circuit breaker on a call that succeeds at once (${environment()})`);

const result = await new BenchGroup('limiter / breaker, happy path', { repeats: 9, sampleMs: 100 })
  .add('dspu breaker.protect(fast) (closed)', () => dspuBreaker.protect(fast))
  .add('cockatiel circuitBreaker(ConsecutiveBreaker).execute', () => cockatielBreaker.execute(fast))
  .add('opossum breaker.fire()', () => opossumBreaker.fire())
  .add('dspu limiter.run(fast) (tokens available)', () => dspuLimiter.run(fast))
  .add('dspu await limiter.tryAcquire() (tokens available)', () => dspuLimiter.tryAcquire())
  .add('rate-limiter-flexible RateLimiterMemory.consume()', () => flexible.consume('key'))
  .run();

// Bottleneck runs every job through timers (milliseconds per call): measured apart with few calls, so the
// benchmark stays short, and compared with the same baseline.
const slow = await measure('bottleneck schedule(fast)', () => bottleneck.schedule(fast), {
  warmup: 20,
  repeats: 5,
  iterations: 40,
});
const bottleneckRatio = slow.nsPerCall / result.baselineNs;
console.log(
  `bottleneck schedule(fast): ${formatNs(slow.nsPerCall)} ns/call, ${bottleneckRatio.toFixed(0)}× the baseline`,
);

const peerRatio = (name: string) =>
  name === 'bottleneck schedule(fast)' ? bottleneckRatio : result.ratio(name);
const checks: [string, number, string[]][] = [
  [
    'dspu breaker.protect(fast) (closed)',
    2.5,
    ['cockatiel circuitBreaker(ConsecutiveBreaker).execute', 'opossum breaker.fire()'],
  ],
  [
    'dspu limiter.run(fast) (tokens available)',
    3,
    ['rate-limiter-flexible RateLimiterMemory.consume()', 'bottleneck schedule(fast)'],
  ],
];
for (const [name, limit, peers] of checks) {
  const ratio = result.ratio(name);
  const faster = peers.every((peer) => peerRatio(peer) > ratio);
  const verdict = ratio <= limit && faster ? 'met' : 'MISSED';
  console.log(
    `target ${name} <= ${limit}x and faster than ${peers.join(', ')}: ${ratio.toFixed(2)}x, ${verdict}`,
  );
}

await queuedWaiters(100_000);

/** Queues `count` waiters on an empty bucket, then lets them through: one timer, O(1) work per grant. */
async function queuedWaiters(count: number): Promise<void> {
  const realSetTimeout = globalThis.setTimeout;
  let timersSet = 0;
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    timersSet++;
    return realSetTimeout(...args);
  }) as typeof setTimeout;
  try {
    // 1,000 tokens per millisecond with a burst of 1,000: each timer firing grants a batch.
    const limiter = new RateLimiter({ rate: 1_000_000, capacity: 1_000 });
    await limiter.acquire(1_000);
    const start = process.hrtime.bigint();
    const waiters: Promise<void>[] = [];
    for (let i = 0; i < count; i++) waiters.push(limiter.acquire());
    const queuedNs = Number(process.hrtime.bigint() - start);
    const timersWhileQueued = timersSet;
    await Promise.all(waiters);
    const totalMs = Number(process.hrtime.bigint() - start) / 1e6;
    console.log(
      `\n${count} waiters on one limiter: ${formatNs(queuedNs / count)} ns to queue each, ` +
        `${timersWhileQueued} timer(s) armed while queued, ${timersSet} timer(s) armed in all ` +
        `(one per firing of the head's timer), all granted in ${totalMs.toFixed(0)} ms ` +
        `(the bucket refills them in ${count / 1_000} ms)`,
    );
  } finally {
    globalThis.setTimeout = realSetTimeout;
  }
}
