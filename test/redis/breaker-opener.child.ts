/*
 * Another process of the fleet: opens a shared circuit breaker with `failureThreshold` failing calls, then
 * exits. argv: port, breaker name, failureThreshold.
 */
import { Redis } from 'ioredis';
import { CircuitState } from '../../src/index.js';
import { RedisCircuitBreaker } from '../../src/redis/index.js';

const [port, name, threshold] = process.argv.slice(2);
const redis = new Redis(Number(port), '127.0.0.1');
const breaker = new RedisCircuitBreaker(redis, name, {
  failureThreshold: Number(threshold),
  timeout: '60s',
});
for (let i = 0; i < Number(threshold); i++)
  await breaker.protect(() => Promise.reject(new Error('down'))).catch(() => undefined);
// Outcomes are reported in the background: wait for the one that opens the circuit.
while (breaker.state !== CircuitState.OPEN) await new Promise((resolve) => setTimeout(resolve, 10));
await breaker.close();
redis.disconnect();
