// dspu under Jest: CommonJS, legacy decorators through ts-jest, Jest's modern fake timers.
import { afterEach, beforeEach, expect, it, jest } from '@jest/globals';
import {
  CircuitBreaker,
  CircuitBreakerError,
  CircuitState,
  registry,
  Retry,
  Timeout,
  TimeoutError,
} from 'dspu';
import { resetResilience } from 'dspu/testing';

registry.configure({ circuitBreaker: { upstream: { failureThreshold: 2, timeout: '30s' } } });

class Upstream {
  tries = 0;
  healthy = false;

  @Retry({ maxAttempts: 3, baseDelay: '1s', jitter: false })
  async flaky(): Promise<string> {
    if (++this.tries < 3) throw new Error('hiccup');
    return 'ok';
  }

  @CircuitBreaker('upstream')
  async guarded(): Promise<string> {
    if (!this.healthy) throw new Error('down');
    return 'ok';
  }

  @Timeout('5s')
  async hangs(): Promise<string> {
    return new Promise<string>(() => undefined);
  }
}

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  resetResilience();
  jest.useRealTimers();
});

it('waits out a retry backoff in fake time', async () => {
  const upstream = new Upstream();
  const call = upstream.flaky();
  await jest.advanceTimersByTimeAsync(999);
  expect(upstream.tries).toBe(1);
  await jest.advanceTimersByTimeAsync(1);
  expect(upstream.tries).toBe(2);
  await jest.advanceTimersByTimeAsync(2_000);
  await expect(call).resolves.toBe('ok');
  expect(upstream.tries).toBe(3);
});

it('lets a trial call through once the open timeout has passed', async () => {
  const upstream = new Upstream();
  await expect(upstream.guarded()).rejects.toThrow('down');
  await expect(upstream.guarded()).rejects.toThrow('down');
  await expect(upstream.guarded()).rejects.toBeInstanceOf(CircuitBreakerError);
  await jest.advanceTimersByTimeAsync(30_000);
  expect(registry.circuitBreaker('upstream').state).toBe(CircuitState.HALF_OPEN);
  upstream.healthy = true;
  await expect(upstream.guarded()).resolves.toBe('ok');
});

it('starts with a closed breaker after the previous test opened it', async () => {
  expect(registry.circuitBreaker('upstream').state).toBe(CircuitState.CLOSED);
  await expect(new Upstream().guarded()).rejects.toThrow('down');
});

it('times out a call that never settles', async () => {
  const check = expect(new Upstream().hangs()).rejects.toBeInstanceOf(TimeoutError);
  await jest.advanceTimersByTimeAsync(5_000);
  await check;
});
