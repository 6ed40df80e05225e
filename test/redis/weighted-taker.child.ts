/*
 * One process of a fleet sharing a Redis rate limiter: two callers each take `tokens` per call, as fast as
 * they are granted, from the start time the parent sends on stdin until the run time has passed, then the
 * tokens granted are printed for the parent.
 * argv: port, limiter name, tokens per call, rate per second, run time in ms.
 */
import { Redis } from 'ioredis';
import { RateLimiter } from '../../src/index.js';
import { redisStore } from '../../src/redis/index.js';

const [port, name, tokens, rate, runMs] = process.argv.slice(2).map((a, i) => (i === 1 ? a : +a));
const redis = new Redis(Number(port), '127.0.0.1');
const store = redisStore(redis, String(name), { commandTimeout: '2s' });
let fallbacks = 0;
store.events.on('fallback', () => fallbacks++);
const limiter = new RateLimiter({ rate: Number(rate), store });
// Every process starts at the same moment, sent by the parent once all are up, so none gets a head start.
await redis.ping();
process.stderr.write('ready\n');
const start = await new Promise<number>((resolve) =>
  process.stdin.once('data', (chunk: Buffer) => resolve(Number(chunk.toString()))),
);
await new Promise((resolve) => setTimeout(resolve, Math.max(0, start - Date.now())));
const deadline = start + Number(runMs);
let granted = 0;

async function caller(): Promise<void> {
  while (Date.now() < deadline) {
    await limiter.acquire(Number(tokens));
    if (Date.now() < deadline) granted += Number(tokens);
  }
}

await Promise.all([caller(), caller()]);
redis.disconnect();
process.stdout.write(JSON.stringify({ granted, fallbacks }));
