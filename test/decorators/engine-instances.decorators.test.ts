// Compiled twice: with experimentalDecorators (build/test) and with TC39 standard decorators (build/tc39).
import { expect } from 'chai';
import {
  CircuitBreaker,
  CircuitState,
  RateLimited,
  RateLimiter,
  ResilienceRegistry,
  bindRegistry,
} from '../../src/index.js';
import { resetResilience } from '../../src/testing/index.js';
import { useFakeClock } from '../support/fake-clock.js';

const down = () => new Error('down');

describe('decorators: engines given as instances', () => {
  useFakeClock(); // a bucket that refills while the test runs would not read empty
  it('lists an engine given to a decorator once, named after the first method using it, and relays none of its events', async () => {
    const policies = new ResilienceRegistry();
    const breaker = new CircuitBreaker({ failureThreshold: 2, timeout: '1h' });
    class Payments {
      @CircuitBreaker(breaker)
      async charge(): Promise<never> {
        throw down();
      }

      @CircuitBreaker(breaker)
      async refund(): Promise<never> {
        throw down();
      }
    }
    const payments = bindRegistry(new Payments(), policies);
    const changes: string[] = [];
    policies.on('stateChange', ({ kind, name, to }) => changes.push(`${kind} ${name}: ${to}`));
    await payments.charge().catch(() => undefined);
    await payments.refund().catch(() => undefined);
    expect(breaker.state).to.equal(CircuitState.OPEN);
    // A relay would make the engine (a module's, living as long as the process) hold every registry using it.
    expect(changes).to.deep.equal([]);
    expect(policies.engines().filter(({ engine }) => engine === breaker)).to.deep.equal([
      { kind: 'circuitBreaker', name: 'Payments.charge', engine: breaker },
    ]);
  });

  it('relays an engine that is also a configured entry under its registry name', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, timeout: '1h' });
    const policies = new ResilienceRegistry({ circuitBreaker: { payments: breaker } });
    class Payments {
      @CircuitBreaker(breaker)
      async charge(): Promise<never> {
        throw down();
      }
    }
    const changes: string[] = [];
    policies.on('stateChange', ({ name, to }) => changes.push(`${name}: ${to}`));
    await bindRegistry(new Payments(), policies)
      .charge()
      .catch(() => undefined);
    expect(changes).to.deep.equal(['payments: open']);
  });

  it('resets an engine given to a decorator, with the registry the method resolved in', async () => {
    const policies = new ResilienceRegistry();
    const breaker = new CircuitBreaker({ failureThreshold: 1, timeout: '1h' });
    const limiter = new RateLimiter({ rate: 1, per: '1h' });
    class Api {
      @CircuitBreaker(breaker)
      @RateLimited(limiter)
      async call(): Promise<never> {
        throw down();
      }
    }
    await bindRegistry(new Api(), policies)
      .call()
      .catch(() => undefined);
    expect(breaker.state).to.equal(CircuitState.OPEN);
    expect(limiter.available).to.equal(0);

    resetResilience(policies);

    expect(breaker.state).to.equal(CircuitState.CLOSED);
    expect(limiter.available).to.equal(1);
  });
});
