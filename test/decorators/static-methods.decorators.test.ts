// Compiled twice: with experimentalDecorators (build/test) and with TC39 standard decorators (build/tc39).
import { expect } from 'chai';
import {
  CircuitBreaker,
  CircuitBreakerError,
  ConfigError,
  ResilienceRegistry,
  Retry,
  Timeout,
  bindRegistry,
  getResiliencePolicies,
  prepareInstance,
} from '../../src/index.js';
import { observe, useFakeClock } from '../support/fake-clock.js';

class Flaky extends Error {}

const kinds = (Class: abstract new () => unknown, method: string, isStatic?: boolean) =>
  getResiliencePolicies(
    Class,
    method,
    isStatic === undefined ? undefined : { static: isStatic },
  ).map((p) => p.kind);

describe('decorators: static methods', () => {
  const time = useFakeClock();

  it('retries a static method under its own @Retry', async () => {
    class Svc {
      static calls = 0;
      @Retry({ maxAttempts: 3, baseDelay: 1 })
      static async flaky() {
        if (++Svc.calls < 3) throw new Flaky(`try ${Svc.calls}`);
        return `ok after ${Svc.calls}`;
      }
    }
    const result = observe(Svc.flaky());
    await time.clock.tickAsync(100);
    expect(result.value).to.equal('ok after 3');
  });

  it('opens a static method’s own circuit breaker', async () => {
    class Svc {
      @CircuitBreaker({ failureThreshold: 1, timeout: '1h' })
      static async fail(): Promise<void> {
        throw new Flaky('down');
      }
    }
    const errors = [];
    for (let i = 0; i < 2; i++) errors.push(await Svc.fail().catch((error: unknown) => error));
    expect(errors[0]).to.be.instanceOf(Flaky);
    expect(errors[1]).to.be.instanceOf(CircuitBreakerError);
  });

  it('keeps a static and an instance method of one name under their own policies', async () => {
    class Both {
      static calls = 0;
      calls = 0;
      @Retry({ maxAttempts: 5, baseDelay: 1 })
      async go() {
        if (++this.calls < 5) throw new Flaky(`instance ${this.calls}`);
        return this.calls;
      }
      @CircuitBreaker({ failureThreshold: 1, timeout: '1h' })
      static async go() {
        if (++Both.calls < 5) throw new Flaky(`static ${Both.calls}`);
        return Both.calls;
      }
    }
    const instance = observe(new Both().go());
    await time.clock.tickAsync(100);
    expect(instance.value).to.equal(5);
    expect(await Both.go().catch((error: unknown) => error)).to.be.instanceOf(Flaky);
    expect(await Both.go().catch((error: unknown) => error)).to.be.instanceOf(CircuitBreakerError);
    expect(Both.calls).to.equal(1);
    expect(kinds(Both, 'go')).to.deep.equal(['retry']);
    expect(kinds(Both, 'go', false)).to.deep.equal(['retry']);
    expect(kinds(Both, 'go', true)).to.deep.equal(['circuitBreaker']);
  });

  it('runs an inherited static method under the policies of the class that declares it', async () => {
    class Base {
      static calls = 0;
      @Retry({ maxAttempts: 2, baseDelay: 1 })
      static async load() {
        if (++Base.calls < 2) throw new Flaky('not yet');
        return `${this.name} after ${Base.calls}`;
      }
    }
    class Derived extends Base {}
    const result = observe(Derived.load());
    await time.clock.tickAsync(100);
    expect(result.value).to.equal('Derived after 2');
    expect(kinds(Derived, 'load', true)).to.deep.equal(['retry']);
    expect(kinds(Derived, 'load')).to.deep.equal([]);
  });

  it('leaves static methods out of a class decorator: they take their own decorators only', async () => {
    let calls = 0;
    @Retry({ maxAttempts: 3, baseDelay: 1 })
    class Repo {
      static async plain() {
        calls++;
        throw new Flaky('plain');
      }
      @Timeout('1s')
      static async timed() {
        calls++;
        throw new Flaky('timed');
      }
    }
    expect(await Repo.plain().catch((error: unknown) => error)).to.be.instanceOf(Flaky);
    expect(await Repo.timed().catch((error: unknown) => error)).to.be.instanceOf(Flaky);
    expect(calls).to.equal(2);
    expect(kinds(Repo, 'plain', true)).to.deep.equal([]);
    expect(kinds(Repo, 'timed', true)).to.deep.equal(['timeout']);
  });

  it('resolves a static method’s named policies in the registry bound to its class', async () => {
    const policies = new ResilienceRegistry({ retry: { twice: { maxAttempts: 2, baseDelay: 1 } } });
    class Jobs {
      static calls = 0;
      @Retry('twice')
      static async run() {
        Jobs.calls++;
        throw new Flaky('run');
      }
    }
    bindRegistry(Jobs, policies);
    const result = observe(Jobs.run());
    await time.clock.tickAsync(100);
    expect(result.error).to.be.instanceOf(Flaky);
    expect(Jobs.calls).to.equal(2);
  });

  it('prepares a class’s static methods, own and inherited, reporting an unknown name before any call', () => {
    const policies = new ResilienceRegistry({ retry: { known: {} } });
    class Base {
      @Retry('known')
      static async inherited(): Promise<void> {}
    }
    class Jobs extends Base {
      @Retry('unknwn')
      static async run(): Promise<void> {}
    }
    bindRegistry(Jobs, policies);
    const problems = prepareInstance(Jobs);
    expect(problems.map(({ method }) => method)).to.deep.equal(['run']);
    expect(problems[0].error).to.be.instanceOf(ConfigError);
    expect(problems[0].error.message).to.match(/^retry "unknwn" is not configured; known: known/);
  });

  it('refuses a static option that is not a boolean', () => {
    class Svc {}
    expect(() => getResiliencePolicies(Svc, 'm', { static: 'yes' as never })).to.throw(
      ConfigError,
      'options.static: expected a boolean',
    );
  });
});
