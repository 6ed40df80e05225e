import { expect } from 'chai';
import { bindRegistry, CircuitBreaker, ConfigError, ResilienceRegistry } from '../../src/index.js';

class Payments {
  @CircuitBreaker('payments')
  async pay(): Promise<string> {
    return 'paid';
  }
}

async function firstCallError(registry: ResilienceRegistry): Promise<ConfigError> {
  const payments = bindRegistry(new Payments(), registry);
  try {
    await payments.pay();
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected the first call to fail');
}

describe('ResilienceRegistry: a name used without configuration', () => {
  it('fails the first call of a decorated method with a hint naming registry.configure and ResilienceModule.forRoot', async () => {
    const error = await firstCallError(new ResilienceRegistry());
    expect(error.message).to.contain('circuitBreaker "payments" is not configured; known: (none)');
    expect(error.message).to.contain('registry.configure(');
    expect(error.message).to.contain('ResilienceModule.forRoot(');
    expect(error.message).to.contain('dspu/nestjs');
  });

  it('shows the entry to add when the registry is configured but not for that kind', async () => {
    const error = await firstCallError(new ResilienceRegistry({ retry: { quick: {} } }));
    expect(error.message).to.equal(
      'circuitBreaker "payments" is not configured; known: (none). Configure it: ' +
        'registry.configure({ circuitBreaker: { payments: { ... } } }), or under NestJS ' +
        'ResilienceModule.forRoot({ circuitBreaker: { payments: { ... } } })',
    );
  });

  it('lists the known names, without a hint, for a name that is likely a typo', async () => {
    const registry = new ResilienceRegistry({ circuitBreaker: { paymentz: {} } });
    const error = await firstCallError(registry);
    expect(error.message).to.equal('circuitBreaker "payments" is not configured; known: paymentz');
  });

  it('quotes a name that is not an identifier in the entry it shows', () => {
    const registry = new ResilienceRegistry({ retry: { quick: {} } });
    expect(() => registry.timeout('slow-api')).to.throw(
      ConfigError,
      'registry.configure({ timeout: { "slow-api": { ... } } })',
    );
  });

  it('lists the known names, or (none), when the name asked for is not a string', () => {
    const registry = new ResilienceRegistry({ retry: { quick: {}, slow: {} } });
    expect(() => registry.retry(Symbol('quick') as never)).to.throw(
      ConfigError,
      /: a policy name is a string; known: quick, slow$/,
    );
    expect(() => registry.timeout(42 as never)).to.throw(
      ConfigError,
      /: a policy name is a string; known: \(none\)$/,
    );
  });
});
