// The seed's batch pattern: 10,000 items, at most 10 in flight (gatherWithLimit), each call paced by a shared
// token bucket (RateLimiter). A progress line every 250 ms while it runs, a summary at the end.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { RateLimiter, gatherWithLimit } from 'dspu';

const ITEMS = 10_000;
const LIMIT = 10;
const RATE = 5_000; // per second: 10,000 items take about 2 s

const rateLimiter = new RateLimiter({ rate: RATE, per: '1s', capacity: 100 });
let done = 0;
let inFlight = 0;
let mostInFlight = 0;
let throttled = 0;
rateLimiter.events.on('throttled', () => void throttled++);

/** Stands in for a call to another service: a little I/O latency, then a checksum of the item. */
async function expensiveOperation(item: number): Promise<string> {
  inFlight++;
  mostInFlight = Math.max(mostInFlight, inFlight);
  try {
    await sleep(1);
    return createHash('sha256').update(`item-${item}`).digest('hex').slice(0, 12);
  } finally {
    inFlight--;
    done++;
  }
}

/** The seed's `process_batch`: every item through the rate limiter, at most 10 at a time. */
async function processBatch(items: number[]): Promise<string[]> {
  const processItem = (item: number) => () => rateLimiter.run(() => expensiveOperation(item)); // waits for a token, then calls
  return gatherWithLimit(items.map(processItem), { limit: LIMIT });
}

const items = Array.from({ length: ITEMS }, (_, i) => i);
const started = performance.now();
const seconds = () => (performance.now() - started) / 1000;
const format = (n: number) => Math.round(n).toLocaleString('en-US');

console.log(
  `processing ${format(ITEMS)} items: limit ${LIMIT} at a time, ${format(RATE)} per second`,
);
const progress = setInterval(() => {
  const percent = ((done / ITEMS) * 100).toFixed(0).padStart(3);
  console.log(
    `progress ${percent}%  ${format(done).padStart(6)} / ${format(ITEMS)}  ` +
      `${format(done / seconds()).padStart(5)} items/s  ${inFlight} in flight`,
  );
}, 250);

try {
  const results = await processBatch(items);
  const elapsed = seconds();
  const inOrder = results.every(
    (digest, i) => digest === createHash('sha256').update(`item-${i}`).digest('hex').slice(0, 12),
  );
  console.log(
    `done: ${format(results.length)} results in ${elapsed.toFixed(2)} s ` +
      `(${format(results.length / elapsed)} items/s, limit ${format(RATE)}/s)`,
  );
  console.log(`at most ${mostInFlight} items in flight (limit ${LIMIT})`);
  console.log(`${format(throttled)} calls waited for a token; results in input order: ${inOrder}`);
} finally {
  clearInterval(progress);
}
