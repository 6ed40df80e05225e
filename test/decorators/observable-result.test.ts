import { expect } from 'chai';
import { CircuitBreaker, ConfigError, Fallback, Retry } from '../../src/index.js';

// Shaped like an RxJS Observable, without RxJS: dspu recognises one by its shape.
const observableLike = () => ({ subscribe: () => ({ unsubscribe() {} }), pipe: () => undefined });

describe('a decorated method that returns an Observable', () => {
  it('rejects every call with a ConfigError naming the method and the firstValueFrom recipe, trying once', async () => {
    let calls = 0;
    class Quotes {
      @Retry({ maxAttempts: 3, baseDelay: 0 })
      // Typed as a promise, as code the types cannot check (JavaScript, a cast) may be.
      live(): Promise<unknown> {
        calls++;
        return observableLike() as unknown as Promise<unknown>;
      }
    }
    const quotes = new Quotes();
    for (let i = 0; i < 2; i++) {
      const error = await quotes.live().then(
        () => undefined,
        (rejected: unknown) => rejected,
      );
      expect(error).to.be.instanceOf(ConfigError);
      expect((error as Error).message).to.match(/^Quotes\.live returns an Observable: /);
      expect((error as Error).message).to.contain('firstValueFrom(source$)');
    }
    expect(calls).to.equal(2);
  });

  it('leaves a thenable that also has subscribe and pipe alone: it is a promise', async () => {
    class Thenables {
      @Retry({ maxAttempts: 1 })
      async get(): Promise<unknown> {
        return 'value';
      }

      @Retry({ maxAttempts: 1 })
      odd(): PromiseLike<string> {
        return { ...observableLike(), then: (resolve) => Promise.resolve('odd').then(resolve) };
      }
    }
    expect(await new Thenables().get()).to.equal('value');
    expect(await new Thenables().odd()).to.equal('odd');
  });

  // An async method that resolves to one does not compile (test/fixtures/compile-fail/observable-promise.fail.ts).
  describe('reaching the caller as a ConfigError that no policy takes for a failure', () => {
    it('is not answered by @Fallback', async () => {
      class Quotes {
        @Fallback(() => 'cached')
        live(): Promise<unknown> {
          return observableLike() as unknown as Promise<unknown>;
        }
      }
      expect(await new Quotes().live().catch((error: unknown) => error)).to.be.instanceOf(
        ConfigError,
      );
    });

    it('is not counted by @CircuitBreaker: every call names the mistake, the circuit stays closed', async () => {
      class Quotes {
        @CircuitBreaker({ failureThreshold: 1, timeout: '1h' })
        live(): Promise<unknown> {
          return observableLike() as unknown as Promise<unknown>;
        }
      }
      const quotes = new Quotes();
      for (let i = 0; i < 3; i++) {
        expect(await quotes.live().catch((error: unknown) => error)).to.be.instanceOf(ConfigError);
      }
    });
  });
});
