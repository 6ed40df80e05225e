/*
 * The happy-path cost of retry and timeout: each case awaits a call that succeeds at once, wrapped by dspu, by
 * a peer library, or by nothing. Ratios are to an awaited bare async call measured in the same run.
 *
 * Targets: dspu retry at most 2.5x, dspu runWithTimeout at most 5x (the happy path costs close to nothing).
 */
import {
  ExponentialBackoff,
  TimeoutStrategy,
  handleAll,
  retry as cockatielRetry,
  timeout as cockatielTimeout,
} from 'cockatiel';
import pRetry from 'p-retry';
import pTimeout from 'p-timeout';
import { Timeout, retry, runWithTimeout } from '../src/index.js';
import { BenchGroup, environment } from './harness.js';

const fast = async (): Promise<number> => 1;
const noop = (): void => {};

const dspuRetried = retry(fast, { maxAttempts: 3 });
const dspuTimeout = new Timeout(5000);
const cockatielRetryPolicy = cockatielRetry(handleAll, {
  maxAttempts: 3,
  backoff: new ExponentialBackoff(),
});
const cockatielTimeoutPolicy = cockatielTimeout(5000, TimeoutStrategy.Cooperative);

async function withBareTimer(): Promise<number> {
  const timer = setTimeout(noop, 5000);
  try {
    return await fast();
  } finally {
    clearTimeout(timer);
  }
}

console.log(`retry and timeout on a call that succeeds at once (${environment()})`);

const result = await new BenchGroup('retry / timeout, happy path', { repeats: 9, sampleMs: 100 })
  .add('dspu retry(fn)()', () => dspuRetried())
  .add('dspu runWithTimeout(() => fast(), 5000)', () => runWithTimeout(() => fast(), 5000))
  .add('dspu new Timeout(5000).run(() => fast())', () => dspuTimeout.run(() => fast()))
  .add('cockatiel retry(handleAll, exponential).execute', () =>
    cockatielRetryPolicy.execute(() => fast()),
  )
  .add('cockatiel timeout(5000, Cooperative).execute', () =>
    cockatielTimeoutPolicy.execute(() => fast()),
  )
  .add('p-retry', () => pRetry(fast, { retries: 2 }))
  .add('p-timeout', () => pTimeout(fast(), { milliseconds: 5000 }))
  .add('setTimeout + clearTimeout around the call', withBareTimer)
  .run();

const targets: [string, number][] = [
  ['dspu retry(fn)()', 2.5],
  ['dspu runWithTimeout(() => fast(), 5000)', 5],
];
for (const [name, limit] of targets) {
  const ratio = result.ratio(name);
  const verdict = ratio <= limit ? 'met' : 'MISSED';
  console.log(`target ${name} <= ${limit}x: ${ratio.toFixed(2)}x, ${verdict}`);
}
