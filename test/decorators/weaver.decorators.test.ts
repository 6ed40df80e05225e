// Compiled twice: with experimentalDecorators (build/test) and with TC39 standard decorators (build/tc39).
import { expect } from 'chai';
import sinon from 'sinon';
import {
  ConfigError,
  ResilienceRegistry,
  Retry,
  Timeout,
  bindRegistry,
  prepareInstance,
} from '../../src/index.js';

describe('decorators: the weaver', () => {
  afterEach(() => sinon.restore());

  it('runs an inherited method under the policies of the class that declares it, when a subclass instance comes first', async () => {
    class Base {
      calls = 0;
      @Retry({ maxAttempts: 2, baseDelay: 0 })
      async load(): Promise<number> {
        this.calls++;
        throw new Error('down');
      }
    }
    class Plain extends Base {}
    const plain = new Plain();
    const error = await plain.load().catch((caught: unknown) => caught);
    expect(error).to.have.property('message', 'down');
    expect(plain.calls).to.equal(2);
  });

  it('gives the wrapper a name and length described as an undecorated method’s are', () => {
    class Plain {
      async find(_id: string) {
        return 1;
      }
    }
    class Woven {
      @Retry()
      async find(_id: string) {
        return 1;
      }
    }
    for (const property of ['name', 'length']) {
      expect(Object.getOwnPropertyDescriptor(Woven.prototype.find, property)).to.deep.equal(
        Object.getOwnPropertyDescriptor(Plain.prototype.find, property),
      );
    }
  });

  it('builds a method’s pipeline once: neither each call nor preparing another instance makes its engines again', async () => {
    const policies = new ResilienceRegistry({ retry: { twice: { maxAttempts: 2 } } });
    const resolve = sinon.spy(policies, 'resolvePolicy');
    class Repo {
      @Retry('twice')
      @Timeout('1s')
      async find() {
        return 1;
      }
    }
    const first = bindRegistry(new Repo(), policies);
    expect(prepareInstance(first)).to.deep.equal([]);
    expect(resolve.callCount).to.equal(2);
    await first.find();
    await first.find();
    expect(prepareInstance(bindRegistry(new Repo(), policies))).to.deep.equal([]);
    expect(resolve.callCount).to.equal(2);
  });

  it('prepares a decorated method that the instance binds to itself, reporting its unknown name', () => {
    const policies = new ResilienceRegistry({ retry: { known: {} } });
    class Repo {
      constructor() {
        this.find = this.find.bind(this);
      }

      @Retry('missing')
      async find(): Promise<number> {
        return 1;
      }
    }
    const problems = prepareInstance(bindRegistry(new Repo(), policies));
    expect(problems.map(({ method }) => method)).to.deep.equal(['find']);
  });

  it('reports a problem once per method name when a subclass overrides a decorated method', () => {
    const policies = new ResilienceRegistry({ retry: { known: {} } });
    class Base {
      @Retry('missing')
      async find(): Promise<number> {
        return 1;
      }
    }
    class Repo extends Base {
      @Retry('missing')
      override async find(): Promise<number> {
        return super.find();
      }
    }
    const problems = prepareInstance(bindRegistry(new Repo(), policies));
    expect(problems.map(({ method }) => method)).to.deep.equal(['find']);
  });

  it('lets an instance be bound to another registry, and leaves the binding out of copies of it', async () => {
    const first = new ResilienceRegistry({ timeout: { api: '1s' } });
    const second = new ResilienceRegistry({ timeout: { api: '2s' } });
    class Client {
      @Timeout('api')
      async get() {
        return 'got';
      }
    }
    const client = bindRegistry(new Client(), first);
    expect(() => bindRegistry(client, second)).not.to.throw();
    expect(await client.get()).to.equal('got');
    expect(second.engines().map(({ name }) => name)).to.deep.equal(['api']);
    expect(first.engines()).to.deep.equal([]);
    expect(Object.getOwnPropertySymbols({ ...client })).to.deep.equal([]);
  });

  it('answers a call on an object without a class with the method’s policies or a ConfigError, never a TypeError', async () => {
    class Lonely {
      @Timeout('1s')
      async get() {
        return 'got';
      }
    }
    const outcome: unknown = await Lonely.prototype.get
      .call(Object.create(null) as Lonely)
      .catch((error: unknown) => error);
    // Under TC39 decorators the method learns its class from the first instance made, and none was.
    if (outcome !== 'got') expect(outcome).to.be.instanceOf(ConfigError);
  });
});
