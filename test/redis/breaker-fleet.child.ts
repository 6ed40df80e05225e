/*
 * One process of a fleet sharing a rate-mode Redis circuit breaker. Four callers call a dependency that fails
 * 60 % of its calls until `recoverAt`, then none, from the start time the parent sends on stdin until the run
 * time has passed. Every call that ran is printed for the parent: when it started and ended, and whether it was
 * a half-open trial (the state Redis answered when it admitted the call), with the times this process saw the
 * circuit open. argv: port, breaker name, recover after ms, run time in ms.
 */
import { Redis } from 'ioredis';
import { CircuitState } from '../../src/index.js';
import { RedisCircuitBreaker } from '../../src/redis/index.js';

const [port, name, recoverMs, runMs] = process.argv.slice(2);
const redis = new Redis(Number(port), '127.0.0.1');
const breaker = new RedisCircuitBreaker(redis, name, {
  failureRateThreshold: 50,
  slidingWindow: { time: '1s', buckets: 10 },
  minimumCalls: 20,
  timeout: '1s',
  maxTimeout: '4s',
  halfOpenMaxCalls: 3,
  successThreshold: 3,
  commandTimeout: '2s',
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const calls: [start: number, end: number, trial: boolean][] = [];
const opened: number[] = [];
let fallbacks = 0;
breaker.storeEvents.on('fallback', () => fallbacks++);
breaker.events.on('stateChange', ({ to }) => {
  if (to === CircuitState.OPEN) opened.push(Date.now());
});

await redis.ping();
breaker.state; // subscribes to the circuit's changes
await sleep(100);
process.stderr.write('ready\n');
const start = await new Promise<number>((resolve) =>
  process.stdin.once('data', (chunk: Buffer) => resolve(Number(chunk.toString()))),
);
await sleep(Math.max(0, start - Date.now()));
const recoverAt = start + Number(recoverMs);
const deadline = start + Number(runMs);
let count = 0;

async function dependency(): Promise<string> {
  // The state this process learned from the script that admitted the call: HALF_OPEN only for a trial.
  const trial = breaker.peekState() === CircuitState.HALF_OPEN;
  const began = Date.now();
  const failing = began < recoverAt && count++ % 5 < 3;
  await sleep(2);
  calls.push([began, Date.now(), trial]);
  if (failing) throw new Error('dependency down');
  return 'ok';
}

async function caller(): Promise<void> {
  while (Date.now() < deadline) {
    await breaker.protect(dependency).catch(() => undefined);
    await sleep(5);
  }
}

await Promise.all([caller(), caller(), caller(), caller()]);
const final = breaker.state;
await breaker.close();
redis.disconnect();
process.stdout.write(JSON.stringify({ calls, opened, final, fallbacks }));
