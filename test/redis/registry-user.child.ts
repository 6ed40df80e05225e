/*
 * A process that configures its registry with withRedisStores, uses each Redis-backed policy once, quits its
 * client and says so: with nothing else to do it must then exit on its own. argv: port, name.
 */
import { Redis } from 'ioredis';
import { ResilienceRegistry } from '../../src/index.js';
import { withRedisStores } from '../../src/redis/index.js';

const [port, name] = process.argv.slice(2);
const redis = new Redis(Number(port), '127.0.0.1');
// The stores send on a connection of their own: a client quit mid-handshake is held by ioredis for 2 s.
await redis.ping();
const registry = new ResilienceRegistry().configure(
  withRedisStores(redis, {
    rateLimiter: { [name]: { rate: 10, store: 'redis' } },
    circuitBreaker: { [name]: { store: 'redis' } },
    concurrency: { [name]: { limit: 2, store: 'redis' } },
  }),
);
await registry.rateLimiter(name).run(() => 'ok');
await registry.circuitBreaker(name).protect(() => 'ok');
await registry.concurrency(name).run(() => 'ok');
await redis.quit();
process.stdout.write('quit\n');
