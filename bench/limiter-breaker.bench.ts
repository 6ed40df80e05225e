/*
 * The happy-path cost of a rate limiter with tokens available and of a closed circuit breaker: each case
 * awaits a call that succeeds at once, through dspu, through a peer library, or through nothing. Ratios are
 * to an awaited bare async call measured in the same run. Then the queued path: 100,000 waiters on one
 * limiter, counting timers and the time per grant.
 *
 * Targets (issue "rate limiter and circuit breaker"): closed-breaker protect at most 2.5x, limiter run with
 * tokens available at most 3x, each faster than every peer.
 */
import Bottleneck from 'bottleneck';
import { ConsecutiveBreaker, circuitBreaker, handleAll } from 'cockatiel';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { CircuitBreaker, RateLimiter } from '../src/index.js';
import { BenchGroup, environment, formatNs, measure } from './harness.js';
import { Opossum } from './opossum.js';

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

await queuedWaiters(10_000, false); // warm-up: let V8 optimise the queued path first
for (const count of [10_000, 100_000]) await queuedWaiters(count);

/**
 * Queues `count` one-token waiters behind a head that asks for more than the bucket holds, then aborts the
 * head: the bucket holds exactly enough for everyone behind it, so one pass serves them all. Shows one timer
 * for the whole queue and the same time per grant at any depth (O(1) work per grant).
 */
async function queuedWaiters(count: number, report = true): Promise<void> {
  const realSetTimeout = globalThis.setTimeout;
  let timersSet = 0;
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    timersSet++;
    return realSetTimeout(...args);
  }) as typeof setTimeout;
  try {
    // Refilling one token an hour: nothing refills during the measurement.
    const limiter = new RateLimiter({ rate: 1, per: '1h', capacity: 2 * count });
    await limiter.acquire(count);
    const blocker = new AbortController();
    const head = limiter.acquire(2 * count, { signal: blocker.signal }).catch(() => undefined);
    let granted = 0;
    const grant = () => void granted++;
    const queueStart = process.hrtime.bigint();
    const waiters: Promise<void>[] = [];
    for (let i = 0; i < count; i++) waiters.push(limiter.acquire().then(grant));
    const queuedNs = Number(process.hrtime.bigint() - queueStart);
    const timersWhileQueued = timersSet;
    const grantStart = process.hrtime.bigint();
    blocker.abort(new Error('make way'));
    await Promise.all(waiters);
    const grantNs = Number(process.hrtime.bigint() - grantStart);
    await head;
    if (report)
      console.log(
        `${count} waiters queued on one limiter: ${timersWhileQueued} timer armed, ` +
          `${formatNs(queuedNs / count)} ns to queue each, ${formatNs(grantNs / count)} ns per grant ` +
          `(${granted} granted, ${limiter.pending} left)`,
      );
  } finally {
    globalThis.setTimeout = realSetTimeout;
  }
}
