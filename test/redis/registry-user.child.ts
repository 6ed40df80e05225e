/*
 * A process that configures its registry with withRedisStores, uses each Redis-backed policy once, lets its
 * client go and says so: with nothing else to do it must then exit on its own. argv: port, name, and how it
 * lets the client go: 'quit' (default), or 'after-outage': it waits for a line on stdin (the test has stopped
 * Redis meanwhile), then disconnects the client while it is reconnecting.
 */
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { ResilienceRegistry } from '../../src/index.js';
import { withRedisStores } from '../../src/redis/index.js';

const [port, name, ending = 'quit'] = process.argv.slice(2);
const redis = new Redis(Number(port), '127.0.0.1');
redis.on('error', () => undefined);
// The stores send on a connection of their own: a client quit mid-handshake is held by ioredis for 2 s.
await redis.ping();
const registry = new ResilienceRegistry().configure(
  withRedisStores(redis, {
    rateLimiter: { [name]: { rate: 10, store: 'redis' } },
    circuitBreaker: { [name]: { store: 'redis' } },
    concurrency: { [name]: { limit: 2, store: 'redis' } },
    retryBudget: { [name]: { store: 'redis' } },
  }),
);
await registry.rateLimiter(name).run(() => 'ok');
await registry.circuitBreaker(name).protect(() => 'ok');
await registry.concurrency(name).run(() => 'ok');
const budget = registry.retryBudget(name);
budget.deposit();
await budget.withdraw();
if (ending === 'after-outage') {
  process.stdout.write('used\n');
  await once(process.stdin, 'data');
  while (redis.status !== 'reconnecting') await new Promise((resolve) => setTimeout(resolve, 10));
  redis.disconnect();
} else await redis.quit();
process.stdout.write('quit\n');
