// Compiled twice: with experimentalDecorators (build/test) and with TC39 standard decorators (build/tc39).
import { expect } from 'chai';
import {
  CircuitBreaker,
  ConfigError,
  EventEmitter,
  RateLimited,
  Retry,
  Timeout,
  UsePolicy,
  getResiliencePolicies,
  type Policy,
} from '../../src/index.js';
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

  it('applies to and lists a method named by a symbol', async () => {
    const load = Symbol('load');
    class Svc {
      @Timeout('1s')
      async [load]() {
        return 'loaded';
      }
    }
    expect(await new Svc()[load]()).to.equal('loaded');
    expect(getResiliencePolicies(Svc, load).map((p) => p.kind)).to.deep.equal(['timeout']);
  });

  it('lists a class’s policy of your own beside the method’s own: policies of your own all apply', () => {
    const policy = (kind: string): Policy => ({
      kind,
      events: new EventEmitter(),
      executeWith: async (next, invocation) => next(invocation),
    });
    const audit = policy('audit');
    const trace = policy('trace');
    @UsePolicy(audit)
    class Svc {
      @UsePolicy(trace)
      async load() {
        return 'loaded';
      }
    }
    expect(getResiliencePolicies(Svc, 'load').map((p) => p.value)).to.have.members([trace, audit]);
  });

  it('gives an entry a call field only when the decorator has per-call options', () => {
    class Svc {
      @Timeout('1s')
      async load() {
        return 'loaded';
      }
    }
    expect(getResiliencePolicies(Svc, 'load')[0]).not.to.have.property('call');
    class Bulk {
      @RateLimited({ rate: 10 }, { tokens: 3 })
      async send() {
        return 'sent';
      }
    }
    expect(getResiliencePolicies(Bulk, 'send')[0])
      .to.have.property('call')
      .that.deep.equals({ tokens: 3 });
  });

  it('refuses options that are not an object, or whose static cannot be read, naming them', () => {
    class Svc {}
    for (const options of ['yes', null]) {
      expect(() => getResiliencePolicies(Svc, 'm', options as never)).to.throw(
        ConfigError,
        /^options: expected an object/,
      );
    }
    const unreadable = {
      get static(): boolean {
        throw new Error('no');
      },
    };
    expect(() => getResiliencePolicies(Svc, 'm', unreadable)).to.throw(
      ConfigError,
      /^options\.static: could not be read/,
    );
  });
});
