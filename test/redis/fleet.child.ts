/*
 * One process of a fleet sharing a Redis rate limiter: four callers hammer it with weighted acquires until
 * the deadline, and the Redis time and weight of every grant is printed as JSON for the parent to check.
 * argv: port, limiter name, run time in ms.
 */
import { Redis } from 'ioredis';
import { RateLimiter, type TokenBucketSpec, type TokenBucketStore } from '../../src/index.js';
import { redisStore } from '../../src/redis/index.js';

const [port, name, runMs] = process.argv.slice(2);
const redis = new Redis(Number(port), '127.0.0.1');
const inner = redisStore(redis, name, { commandTimeout: '2s' });
const grants: [at: number, tokens: number][] = [];
let fallbacks = 0;
inner.events.on('fallback', () => fallbacks++);

// Records grants where they are decided, in Redis time: the bound is about the shared bucket itself.
const store: TokenBucketStore = {
  async take(tokens: number, nowMs: number, bucket: TokenBucketSpec) {
    const result = await inner.take(tokens, nowMs, bucket);
    if (result.granted) grants.push([result.at, tokens]);
    return result;
  },
};

const limiter = new RateLimiter({ rate: 400, capacity: 40, store });
const deadline = Date.now() + Number(runMs);

async function caller(): Promise<void> {
  while (Date.now() < deadline) await limiter.acquire(1 + Math.floor(Math.random() * 5));
}

await Promise.all([caller(), caller(), caller(), caller()]);
redis.disconnect();
process.stdout.write(JSON.stringify({ grants, fallbacks }));
