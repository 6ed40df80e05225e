/*
 * Takes one permit of a shared Redis concurrency limiter, says so on stdout, and holds it until killed.
 * argv: port, limiter name, limit, lease in ms.
 */
import { Redis } from 'ioredis';
import { RedisConcurrencyLimiter } from '../../src/redis/index.js';

const [port, name, limit, lease] = process.argv.slice(2);
const redis = new Redis(Number(port), '127.0.0.1');
redis.on('error', () => undefined);
const limiter = new RedisConcurrencyLimiter(redis, name, {
  limit: Number(limit),
  lease: Number(lease),
});
await limiter.acquire();
process.stdout.write('held\n');
// Renewal keeps the permit while this process lives; the parent kills it with SIGKILL.
setInterval(() => undefined, 1_000);
