// Compiled twice: with experimentalDecorators (build/test) and with TC39 standard decorators (build/tc39).
import { expect } from 'chai';
import {
  ConfigError,
  Resilient,
  ResilienceRegistry,
  Retry,
  RetryPolicy,
  Timeout,
  TimeoutError,
  bindRegistry,
  currentAttempt,
  currentSignal,
  getResiliencePolicies,
  registry,
} from '../../src/index.js';
import { observe, useFakeClock } from '../support/fake-clock.js';

class Flaky extends Error {}

describe('decorators: @Retry and @Timeout', () => {
  const time = useFakeClock();

  it('retries a decorated method and keeps `this` and the arguments', async () => {
    class Client {
      calls = 0;
      @Retry({ maxAttempts: 3, baseDelay: 100 })
      async get(path: string) {
        if (++this.calls < 3) throw new Flaky('not yet');
        return `${path}:${this.calls}`;
      }
    }
    const client = new Client();
    const result = observe(client.get('/a'));
    await time.clock.tickAsync(300);
    expect(result.value).to.equal('/a:3');
  });

  it('keeps the method’s name and length', () => {
    class Svc {
      @Retry()
      async find(_id: string, _options?: object) {
        return 1;
      }
    }
    expect(Svc.prototype.find.name).to.equal('find');
    expect(Svc.prototype.find.length).to.equal(2);
  });

  it('times out a decorated method and aborts currentSignal() with the TimeoutError', async () => {
    let signal: AbortSignal | undefined;
    class Svc {
      @Timeout('2s')
      async slow() {
        signal = currentSignal();
        await new Promise(() => undefined);
      }
    }
    const result = observe(new Svc().slow());
    await time.clock.tickAsync(2000);
    expect(result.error).to.be.instanceOf(TimeoutError);
    expect(signal!.aborted).to.equal(true);
    expect(signal!.reason).to.equal(result.error);
  });

  it('composes Retry outside Timeout whatever the source order, so each try gets its own deadline', async () => {
    const starts: number[] = [];
    class A {
      @Timeout(100)
      @Retry({ maxAttempts: 3, baseDelay: 10 })
      async call() {
        starts.push(Date.now());
        expect(currentAttempt()).to.equal(starts.length);
        await new Promise(() => undefined);
      }
    }
    const result = observe(new A().call());
    await time.clock.tickAsync(1000);
    expect(result.error).to.be.instanceOf(TimeoutError);
    expect(starts).to.deep.equal([0, 110, 230]);
    expect(getResiliencePolicies(A, 'call').map((p) => p.kind)).to.deep.equal(['retry', 'timeout']);
  });

  it('lets @Resilient change the order: one deadline for all tries', async () => {
    const starts: number[] = [];
    class A {
      @Resilient({ order: ['timeout', 'retry'] })
      @Retry({ maxAttempts: 5, baseDelay: 100, strategy: 'constant' })
      @Timeout(250)
      async call() {
        starts.push(Date.now());
        throw new Flaky('x');
      }
    }
    const result = observe(new A().call());
    await time.clock.tickAsync(1000);
    expect(result.error).to.be.instanceOf(TimeoutError);
    expect(starts).to.deep.equal([0, 100, 200]);
    expect(getResiliencePolicies(A, 'call').map((p) => p.kind)).to.deep.equal(['timeout', 'retry']);
  });

  it('applies a class decorator to every async method declared on the class; a method’s own wins', async () => {
    const attempts: Record<string, number> = { a: 0, b: 0 };
    @Retry({ maxAttempts: 2, baseDelay: 1 })
    class Repo {
      async a() {
        attempts.a++;
        throw new Flaky('a');
      }
      @Retry({ maxAttempts: 4, baseDelay: 1 })
      async b() {
        attempts.b++;
        throw new Flaky('b');
      }
      sync() {
        return 'untouched';
      }
    }
    const repo = new Repo();
    observe(repo.a());
    observe(repo.b());
    await time.clock.tickAsync(100);
    expect(attempts).to.deep.equal({ a: 2, b: 4 });
    expect(repo.sync()).to.equal('untouched');
    expect(getResiliencePolicies(Repo, 'b')[0].value).to.deep.equal({
      maxAttempts: 4,
      baseDelay: 1,
    });
  });

  it('keeps inheritance, overrides and super calls working as if undecorated', async () => {
    class Base {
      calls: string[] = [];
      @Retry({ maxAttempts: 2, baseDelay: 1 })
      async load(id: number) {
        this.calls.push(`base ${id}`);
        return id * 2;
      }
    }
    class Derived extends Base {
      override async load(id: number) {
        this.calls.push(`derived ${id}`);
        return (await super.load(id)) + 1;
      }
    }
    class Plain extends Base {}
    const derived = new Derived();
    expect(await derived.load(5)).to.equal(11);
    expect(derived.calls).to.deep.equal(['derived 5', 'base 5']);
    expect(await new Plain().load(2)).to.equal(4);
    expect(getResiliencePolicies(Plain, 'load').map((p) => p.kind)).to.deep.equal(['retry']);
  });

  it('shares one inline engine per class and method across instances', async () => {
    class Svc {
      @Timeout(50)
      async call() {
        return new Promise(() => undefined);
      }
    }
    const a = observe(new Svc().call());
    const b = observe(new Svc().call());
    expect(time.clock.countTimers()).to.equal(1);
    await time.clock.tickAsync(50);
    expect(a.error).to.be.instanceOf(TimeoutError);
    expect(b.error).to.be.instanceOf(TimeoutError);
  });

  it('resolves a name from the registry, even when configured after the class was defined', async () => {
    const policies = new ResilienceRegistry();
    class Svc {
      calls = 0;
      @Retry('payments')
      async pay() {
        this.calls++;
        throw new Flaky('declined');
      }
    }
    const svc = bindRegistry(new Svc(), policies);
    policies.configure({ retry: { defaults: { baseDelay: 1 }, payments: { maxAttempts: 4 } } });
    observe(svc.pay());
    await time.clock.tickAsync(100);
    expect(svc.calls).to.equal(4);
  });

  it('rejects the call with a ConfigError listing the known names when a name is unknown', async () => {
    const policies = new ResilienceRegistry({ retry: { payments: {}, github: {} } });
    class Svc {
      @Retry('paymnts')
      async pay() {
        return 1;
      }
    }
    const result = observe(bindRegistry(new Svc(), policies).pay());
    await time.clock.tickAsync(0);
    expect(result.error).to.be.instanceOf(ConfigError);
    expect((result.error as Error).message).to.match(
      /retry "paymnts" is not configured; known: payments, github/,
    );
  });

  it('keeps two registries isolated: the same class bound to each uses each one’s policy', async () => {
    const fast = new ResilienceRegistry({ timeout: { api: '1s' } });
    const slow = new ResilienceRegistry({ timeout: { api: '5s' } });
    class Svc {
      @Timeout('api')
      async call() {
        return new Promise(() => undefined);
      }
    }
    const a = observe(bindRegistry(new Svc(), fast).call());
    const b = observe(bindRegistry(new Svc(), slow).call());
    await time.clock.tickAsync(1000);
    expect(a.error).to.be.instanceOf(TimeoutError);
    expect(b.settled).to.equal(false);
    await time.clock.tickAsync(4000);
    expect((b.error as TimeoutError).timeout).to.equal(5000);
  });

  it('uses an existing instance passed to the decorator', async () => {
    const shared = new RetryPolicy({ maxAttempts: 2, baseDelay: 1 });
    const retried: number[] = [];
    shared.events.on('retry', ({ attempt }) => retried.push(attempt));
    class Svc {
      @Retry(shared)
      async call() {
        throw new Flaky('x');
      }
    }
    observe(new Svc().call());
    await time.clock.tickAsync(10);
    expect(retried).to.deep.equal([1]);
  });

  it('picks up a reconfigured name on later calls', async () => {
    const policies = new ResilienceRegistry({ timeout: { api: '1s' } });
    class Svc {
      @Timeout('api')
      async call() {
        return new Promise(() => undefined);
      }
    }
    const svc = bindRegistry(new Svc(), policies);
    const first = observe(svc.call());
    await time.clock.tickAsync(1000);
    expect((first.error as TimeoutError).timeout).to.equal(1000);
    policies.configure({ timeout: { api: '3s' } });
    const second = observe(svc.call());
    await time.clock.tickAsync(3000);
    expect((second.error as TimeoutError).timeout).to.equal(3000);
  });

  it('rejects invalid inline options at decoration time', () => {
    expect(() => Retry({ maxAttempts: 0 })).to.throw(ConfigError, /maxAttempts/);
    expect(() => Timeout('soon-ish')).not.to.throw(); // a registry name
    expect(() => Timeout(-5)).to.throw(ConfigError, /timeout: expected a duration/);
    expect(() => Resilient({ order: ['retry', 'retry'] as never })).to.throw(ConfigError, /twice/);
  });

  it('keeps Timeout usable as a class: new, run and instanceof', async () => {
    const budget = new Timeout('1s');
    expect(budget).to.be.instanceOf(Timeout);
    expect(await budget.run(async () => 'ok')).to.equal('ok');
  });

  it('uses the default registry for instances that are not bound', async () => {
    registry.configure({ retry: { 'decorators-test': { maxAttempts: 2, baseDelay: 1 } } });
    let calls = 0;
    class Svc {
      @Retry('decorators-test')
      async call() {
        calls++;
        throw new Flaky('x');
      }
    }
    observe(new Svc().call());
    await time.clock.tickAsync(10);
    expect(calls).to.equal(2);
  });
});
