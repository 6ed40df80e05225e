// Compiled twice: with experimentalDecorators (build/test) and with TC39 standard decorators (build/tc39).
import { expect } from 'chai';
import { ConfigError, Retry, registry } from '../../src/index.js';
import { observe, useFakeClock } from '../support/fake-clock.js';

describe('decorators: methods called without their instance', () => {
  const time = useFakeClock();

  it('runs a detached method under its policies, as an undecorated one runs without its this', async () => {
    let tries = 0;
    class Jobs {
      @Retry({ maxAttempts: 3, baseDelay: 1 })
      async run(): Promise<number> {
        if (++tries < 3) throw new Error('not yet');
        return tries;
      }
    }
    new Jobs(); // an instance exists, but the method is first called detached, as a callback is
    const { run } = Jobs.prototype;
    const result = observe(run());
    await time.clock.tickAsync(10);
    expect(result.value).to.equal(3);
    expect(registry.engines().some(({ name }) => name === 'Jobs.run')).to.equal(true);
  });

  it('runs a detached static method under its policies', async () => {
    let tries = 0;
    class Jobs {
      @Retry({ maxAttempts: 2, baseDelay: 1 })
      static async run(): Promise<number> {
        if (++tries < 2) throw new Error('not yet');
        return tries;
      }
    }
    const calls = [1].map(Jobs.run);
    const result = observe(calls[0]);
    await time.clock.tickAsync(10);
    expect(result.value).to.equal(2);
  });

  it('answers a call on an object of another class with a ConfigError, before any instance exists', async () => {
    class Lonely {
      @Retry({ maxAttempts: 2, baseDelay: 1 })
      async run(): Promise<void> {}
    }
    const call = Lonely.prototype.run.call({});
    // Legacy decorators know the class at decoration; TC39 ones learn it from an instance or `this`.
    const error = await call.then(
      () => undefined,
      (reason: unknown) => reason,
    );
    if (error !== undefined) expect(error).to.be.instanceOf(ConfigError);
  });
});
