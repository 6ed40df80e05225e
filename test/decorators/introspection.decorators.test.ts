// Compiled twice: with experimentalDecorators (build/test) and with TC39 standard decorators (build/tc39).
import { expect } from 'chai';
import { CircuitBreaker, Retry, Timeout, getResiliencePolicies } from '../../src/index.js';
import { useFakeClock } from '../support/fake-clock.js';

class Flaky extends Error {}

const kinds = (Class: abstract new () => unknown, method: string) =>
  getResiliencePolicies(Class, method).map((p) => p.kind);

describe('getResiliencePolicies: what runs', () => {
  useFakeClock();

  it('lists nothing for an undecorated override, which runs as written', async () => {
    class Base {
      @Retry({ maxAttempts: 3, baseDelay: 1 })
      async load() {
        return 'base';
      }
    }
    class Override extends Base {
      calls = 0;
      override async load(): Promise<string> {
        this.calls++;
        throw new Flaky('override');
      }
    }
    const override = new Override();
    expect(await override.load().catch((error: unknown) => error)).to.be.instanceOf(Flaky);
    expect(override.calls).to.equal(1);
    expect(kinds(Override, 'load')).to.deep.equal([]);
    expect(kinds(Base, 'load')).to.deep.equal(['retry']);
  });

  it('lists an overriding method’s own policies, not its parent’s', () => {
    class Base {
      @Retry({ maxAttempts: 3, baseDelay: 1 })
      async load() {
        return 'base';
      }
    }
    class Guarded extends Base {
      @CircuitBreaker({ failureThreshold: 1 })
      override async load() {
        return `guarded ${await super.load()}`;
      }
    }
    expect(kinds(Guarded, 'load')).to.deep.equal(['circuitBreaker']);
  });

  it('leaves a parent’s class decorator off the methods a subclass declares', () => {
    @Timeout('1s')
    class Base {
      async own() {
        return 'own';
      }
    }
    class Extended extends Base {
      async extra() {
        return 'extra';
      }
    }
    class Decorated extends Base {
      @Retry({ maxAttempts: 2 })
      async other() {
        return 'other';
      }
    }
    expect(kinds(Base, 'own')).to.deep.equal(['timeout']);
    expect(kinds(Extended, 'own')).to.deep.equal(['timeout']);
    expect(kinds(Extended, 'extra')).to.deep.equal([]);
    expect(kinds(Decorated, 'other')).to.deep.equal(['retry']);
  });

  it('leaves a class decorator off a method that is not async, which it does not wrap', () => {
    @Timeout('1s')
    class Svc {
      load(): Promise<string> {
        return Promise.resolve('load');
      }
      @Retry({ maxAttempts: 2 })
      save(): Promise<string> {
        return Promise.resolve('save');
      }
    }
    expect(kinds(Svc, 'load')).to.deep.equal([]);
    expect(kinds(Svc, 'save')).to.deep.equal(['retry', 'timeout']);
  });
});
