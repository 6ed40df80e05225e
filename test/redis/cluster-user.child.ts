/*
 * A process that builds a shared breaker and a concurrency limiter on a Redis Cluster client, uses the limiter
 * once, quits its client and says so: with nothing else to do it must then exit on its own, at once, though the
 * breaker's subscriber may still be connecting. argv: the port of one node of the cluster.
 */
import { Cluster } from 'ioredis';
import { RedisCircuitBreaker, RedisConcurrencyLimiter } from '../../src/redis/index.js';

const [port] = process.argv.slice(2);
const cluster = new Cluster([{ host: '127.0.0.1', port: Number(port) }]);
cluster.on('error', () => undefined);
await cluster.ping();
new RedisCircuitBreaker(cluster, 'cluster-exit', {});
await new RedisConcurrencyLimiter(cluster, 'cluster-exit', { limit: 2 }).run(() => 'ok');
await cluster.quit();
process.stdout.write('quit\n');
