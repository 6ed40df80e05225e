// Compiled twice: with experimentalDecorators (build/test) and with TC39 standard decorators (build/tc39).
import { expect } from 'chai';
import {
  CircuitBreaker,
  CircuitBreakerError,
  CircuitState,
  Concurrency,
  ConcurrencyLimiter,
  ConfigError,
  Fallback,
  RateLimited,
  RateLimiter,
  ResilienceRegistry,
  Retry,
  Timeout,
  bindRegistry,
  currentSignal,
  getResiliencePolicies,
} from '../../src/index.js';
import { observe, useFakeClock } from '../support/fake-clock.js';

class Down extends Error {}

describe('decorators: all six policies', () => {
  const time = useFakeClock();

  it('composes Fallback → Retry → CircuitBreaker → RateLimited → Timeout → Concurrency whatever the source order', async () => {
    const limiter = new RateLimiter({ rate: 100, per: '1h' });
    const permits = new ConcurrencyLimiter({ limit: 1 });
    const trace: string[] = [];
    class Svc {
      @Concurrency(permits)
      @Timeout('1s')
      @Fallback((error: unknown) => `fallback after ${(error as Error).constructor.name}`)
      @RateLimited(limiter)
      @CircuitBreaker({ failureThreshold: 10 })
      @Retry({ maxAttempts: 2, baseDelay: 10 })
      async call() {
        trace.push(`tokens ${Math.round(limiter.available)} active ${permits.active}`);
        throw new Down('x');
      }
    }
    expect(getResiliencePolicies(Svc, 'call').map((p) => p.kind)).to.deep.equal([
      'fallback',
      'retry',
      'circuitBreaker',
      'rateLimiter',
      'timeout',
      'concurrency',
    ]);
    const result = observe(new Svc().call());
    await time.clock.tickAsync(100);
    // Each try spends a token (limiter inside retry) and holds the permit while it runs (concurrency innermost).
    expect(trace).to.deep.equal(['tokens 99 active 1', 'tokens 98 active 1']);
    expect(result.value).to.equal('fallback after Down');
  });

  it('stops retrying at once when the circuit opens, and the fallback answers', async () => {
    let calls = 0;
    class Quotes {
      @Fallback('cached', { exceptions: [CircuitBreakerError] })
      @Retry({ maxAttempts: 10, baseDelay: 1, strategy: 'constant' })
      @CircuitBreaker({ failureThreshold: 3, timeout: '1m' })
      async quote(symbol: string) {
        calls++;
        throw new Down(symbol);
      }

      async cached(error: unknown, symbol: string) {
        return `${symbol} from cache (${(error as CircuitBreakerError).state})`;
      }
    }
    const result = observe(new Quotes().quote('ACME'));
    await time.clock.tickAsync(100);
    expect(calls).to.equal(3);
    expect(result.value).to.equal('ACME from cache (open)');
  });

  it('shares a named breaker across two classes', async () => {
    const policies = new ResilienceRegistry({
      circuitBreaker: { payments: { failureThreshold: 2 } },
    });
    class A {
      @CircuitBreaker('payments')
      async pay() {
        throw new Down('a');
      }
    }
    class B {
      @CircuitBreaker('payments')
      async refund() {
        return 'refunded';
      }
    }
    const a = bindRegistry(new A(), policies);
    const b = bindRegistry(new B(), policies);
    await a.pay().catch(() => undefined);
    await a.pay().catch(() => undefined);
    expect(policies.circuitBreaker('payments').state).to.equal(CircuitState.OPEN);
    const refused = observe(b.refund());
    await time.clock.tickAsync(0);
    expect(refused.error).to.be.instanceOf(CircuitBreakerError);
  });

  it('charges each call the tokens given to @RateLimited', async () => {
    const policies = new ResilienceRegistry({ rateLimiter: { github: { rate: 10, per: '1s' } } });
    class Api {
      @RateLimited('github', { tokens: 5 })
      async bulk() {
        return Date.now();
      }
    }
    const api = bindRegistry(new Api(), policies);
    const times = [observe(api.bulk()), observe(api.bulk()), observe(api.bulk())];
    await time.clock.tickAsync(1000);
    expect(times.map((t) => t.value)).to.deep.equal([0, 0, 500]);
  });

  it('bounds concurrent executions with @Concurrency(n)', async () => {
    let active = 0;
    let peak = 0;
    class Db {
      @Concurrency(2)
      async query() {
        active++;
        peak = Math.max(peak, active);
        await new Promise((resolve) => setTimeout(resolve, 10));
        active--;
      }
    }
    const db = new Db();
    const all = observe(Promise.all(Array.from({ length: 7 }, () => db.query())));
    await time.clock.tickAsync(100);
    expect(all.settled).to.equal(true);
    expect(peak).to.equal(2);
  });

  it('keeps currentSignal() working inside a method that waited in a queue', async () => {
    let signal: AbortSignal | undefined;
    class Svc {
      @Timeout(100)
      @Concurrency(1)
      async call(hold: boolean) {
        if (hold) return new Promise((resolve) => setTimeout(resolve, 50));
        signal = currentSignal();
        return new Promise(() => undefined);
      }
    }
    const svc = new Svc();
    observe(svc.call(true));
    const queued = observe(svc.call(false));
    await time.clock.tickAsync(100);
    expect(queued.error).to.be.instanceOf(Error);
    expect(signal!.aborted).to.equal(true);
  });

  it('rejects invalid decorator arguments at decoration time', () => {
    expect(() => RateLimited(new CircuitBreaker() as never)).to.throw(
      ConfigError,
      /expected options, a registry name or a RateLimiter, got a CircuitBreaker instance/,
    );
    expect(() => RateLimited({ rate: 0 })).to.throw(ConfigError, /rate/);
    expect(() => Concurrency(0)).to.throw(ConfigError, /limit/);
    expect(() => RateLimited('github', { tokens: 0 })).to.throw(ConfigError, /tokens/);
    expect(() => Fallback(42 as never)).to.throw(ConfigError, /fallback/);
  });

  it('keeps CircuitBreaker usable as a class: new, protect and instanceof', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    expect(breaker).to.be.instanceOf(CircuitBreaker);
    expect(await breaker.protect(async () => 'ok')).to.equal('ok');
  });
});
