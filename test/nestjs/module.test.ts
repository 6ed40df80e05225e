import 'reflect-metadata';
import { runInNewContext } from 'node:vm';
import { Injectable, Module, type DynamicModule, type Provider } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import { expect } from 'chai';
import { ConfigError, ResilienceRegistry, Retry } from '../../src/index.js';
import {
  ResilienceModule,
  type ResilienceModuleConfig,
  type ResilienceOptionsFactory,
} from '../../src/nestjs/index.js';
import { rejectionOf } from './support.js';
import { HOSTILE_VALUES, UNREADABLE_OBJECTS } from '../support/hostile-values.js';

@Injectable()
class PaymentsService {
  attempts = 0;

  @Retry('payments')
  async charge(): Promise<string> {
    if (++this.attempts < 4) throw new Error(`attempt ${this.attempts} failed`);
    return 'charged';
  }
}

const config = {
  resilience: {
    retry: { payments: { maxAttempts: 4, baseDelay: 0 } },
    circuitBreaker: { github: { failureThreshold: 3 } },
  },
};

@Injectable()
class OptionsFromClass implements ResilienceOptionsFactory {
  createResilienceOptions(): ResilienceModuleConfig {
    return config.resilience;
  }
}

@Module({ providers: [OptionsFromClass], exports: [OptionsFromClass] })
class OptionsModule {}

async function boot(resilience: DynamicModule, providers: Provider[] = [PaymentsService]) {
  const moduleRef = await Test.createTestingModule({ imports: [resilience], providers }).compile();
  await moduleRef.init();
  return moduleRef;
}

describe('nestjs: ResilienceModule', () => {
  it('provides a registry configured by forRoot', async () => {
    const moduleRef = await boot(ResilienceModule.forRoot(config.resilience));
    const registry = moduleRef.get(ResilienceRegistry);
    expect(registry).to.be.instanceOf(ResilienceRegistry);
    expect(registry.names('circuitBreaker')).to.deep.equal(['github']);
    await moduleRef.close();
  });

  it('resolves a service’s named policy from forRootAsync with ConfigService', async () => {
    const moduleRef = await boot(
      ResilienceModule.forRootAsync({
        imports: [ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => config] })],
        inject: [ConfigService],
        useFactory: (settings: ConfigService) =>
          settings.getOrThrow<ResilienceModuleConfig>('resilience'),
      }),
    );
    const payments = moduleRef.get(PaymentsService);
    expect(await payments.charge()).to.equal('charged');
    expect(payments.attempts).to.equal(4);
    await moduleRef.close();
  });

  it('takes the configuration from a class with useClass', async () => {
    const moduleRef = await boot(ResilienceModule.forRootAsync({ useClass: OptionsFromClass }));
    expect(await moduleRef.get(PaymentsService).charge()).to.equal('charged');
    await moduleRef.close();
  });

  it('takes the configuration from an imported provider with useExisting', async () => {
    const moduleRef = await boot(
      ResilienceModule.forRootAsync({ imports: [OptionsModule], useExisting: OptionsFromClass }),
    );
    expect(moduleRef.get(ResilienceRegistry).names('retry')).to.deep.equal(['payments']);
    await moduleRef.close();
  });

  it('awaits an async factory', async () => {
    const moduleRef = await boot(
      ResilienceModule.forRootAsync({ useFactory: async () => config.resilience }),
    );
    expect(moduleRef.get(ResilienceRegistry).names('retry')).to.deep.equal(['payments']);
    await moduleRef.close();
  });

  it('awaits a promise of another realm and a thenable, as an async factory', async () => {
    const fromOtherRealm = () =>
      runInNewContext('Promise.resolve(value)', { value: config.resilience }) as Promise<never>;
    const thenable = () => ({
      then: (resolve: (value: unknown) => void) => resolve(config.resilience),
    });
    for (const useFactory of [fromOtherRealm, thenable]) {
      const moduleRef = await boot(
        ResilienceModule.forRootAsync({ useFactory: useFactory as never }),
      );
      expect(moduleRef.get(ResilienceRegistry).names('retry')).to.deep.equal(['payments']);
      await moduleRef.close();
    }
  });

  it('makes the registry injectable in modules that do not import it (global by default)', async () => {
    @Injectable()
    class Reader {
      constructor(readonly registry: ResilienceRegistry) {}
    }
    @Module({ providers: [Reader], exports: [Reader] })
    class FeatureModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [ResilienceModule.forRoot(config.resilience), FeatureModule],
    }).compile();
    expect(moduleRef.get(Reader).registry).to.equal(moduleRef.get(ResilienceRegistry));
    await moduleRef.close();
  });

  it('keeps the registry to importing modules with global: false', async () => {
    @Injectable()
    class Reader {
      constructor(readonly registry: ResilienceRegistry) {}
    }
    @Module({ providers: [Reader] })
    class FeatureModule {}
    const error = await rejectionOf(
      Test.createTestingModule({
        imports: [ResilienceModule.forRoot({ global: false }), FeatureModule],
      }).compile(),
    );
    expect(error.message).to.match(/can't resolve dependencies of the Reader/i);
  });

  it('rejects forRootAsync without exactly one of useFactory, useClass, useExisting', () => {
    expect(() => ResilienceModule.forRootAsync({})).to.throw(ConfigError, /got none/);
    expect(() =>
      ResilienceModule.forRootAsync({ useClass: OptionsFromClass, useExisting: OptionsFromClass }),
    ).to.throw(ConfigError, /got useClass and useExisting/);
  });

  it('rejects a non-boolean http or global option, naming it', () => {
    expect(() => ResilienceModule.forRoot({ http: 'yes' as never })).to.throw(
      ConfigError,
      'ResilienceModule.forRoot.http: expected a boolean or { maxWait }, got "yes"',
    );
    expect(() =>
      ResilienceModule.forRootAsync({ global: 1 as never, useFactory: () => ({}) }),
    ).to.throw(ConfigError, 'ResilienceModule.forRootAsync.global: expected a boolean, got 1');
  });

  it('rejects an invalid drainTimeout when forRoot is called', () => {
    expect(() => ResilienceModule.forRoot({ drainTimeout: '5 minutes' as never })).to.throw(
      ConfigError,
      /^drainTimeout: expected a duration/,
    );
  });

  it('fails the bootstrap when the factory returns http, which only forRootAsync itself can set', async () => {
    const error = await rejectionOf(
      boot(ResilienceModule.forRootAsync({ useFactory: () => ({ http: true }) as never }), []),
    );
    expect(error).to.be.instanceOf(ConfigError);
    expect(error.message).to.match(/^http: set it on forRootAsync\(\{ http \}\) itself/);
  });

  it('fails the bootstrap with a ConfigError when the factory returns a configuration that cannot be read', async () => {
    const unreadable = [...UNREADABLE_OBJECTS, ...HOSTILE_VALUES].filter(
      ({ value }) => typeof value === 'object',
    );
    for (const { label, value } of unreadable) {
      const error = await rejectionOf(
        boot(ResilienceModule.forRootAsync({ useFactory: () => value as never }), []),
      );
      expect(error, label).to.be.instanceOf(ConfigError);
    }
  });

  it('keeps the factory’s own error when it throws or rejects', async () => {
    for (const useFactory of [
      () => {
        throw new Error('vault sealed');
      },
      () => Promise.reject(new Error('vault sealed')),
    ]) {
      const error = await rejectionOf(boot(ResilienceModule.forRootAsync({ useFactory }), []));
      expect(error).not.to.be.instanceOf(ConfigError);
      expect(error.message).to.equal('vault sealed');
    }
  });

  it('fails the bootstrap with a ConfigError naming useClass when the class has no createResilienceOptions()', async () => {
    class NotAFactory {}
    const error = await rejectionOf(
      boot(ResilienceModule.forRootAsync({ useClass: NotAFactory as never }), []),
    );
    expect(error).to.be.instanceOf(ConfigError);
    expect(error.message).to.equal(
      'ResilienceModule.forRootAsync.useClass: expected a provider with a createResilienceOptions() method, got a NotAFactory instance',
    );
  });

  it('fails the bootstrap with every invalid policy listed by path', async () => {
    const error = await rejectionOf(
      boot(
        ResilienceModule.forRootAsync({
          useFactory: () =>
            ({
              circuitBreaker: { payments: { timeout: '30' } },
              retry: { payments: { maxAttempts: 0 } },
            }) as never,
        }),
        [],
      ),
    );
    expect(error).to.be.instanceOf(ConfigError);
    expect((error as ConfigError).problems).to.have.length(2);
    expect(error.message).to.include('circuitBreaker.payments.timeout: expected a duration');
    expect(error.message).to.include('retry.payments.maxAttempts');
  });

  it('rejects forRoot with an invalid policy at once, every problem listed by path', () => {
    expect(() =>
      ResilienceModule.forRoot({
        retry: { x: { maxAttempts: -1 } },
        circuitBreaker: { y: { timeout: '30' as never } },
      }),
    )
      .to.throw(ConfigError)
      .with.property('problems')
      .that.satisfies((problems: string[]) =>
        ['retry.x.maxAttempts: expected', 'circuitBreaker.y.timeout: expected'].every((start) =>
          problems.some((problem) => problem.startsWith(start)),
        ),
      );
  });

  describe('forRootAsync options', () => {
    const useFactory = () => ({});
    const cases: [string, () => unknown, string | RegExp][] = [
      [
        'no options',
        () => undefined,
        /^ResilienceModule\.forRootAsync: expected an options object, got undefined/,
      ],
      [
        'a useFactory that is not a function',
        () => ({ useFactory: 5 }),
        'ResilienceModule.forRootAsync.useFactory: expected a function, got 5',
      ],
      [
        'a useClass that is not a class',
        () => ({ useClass: 'x' }),
        'ResilienceModule.forRootAsync.useClass: expected a class with createResilienceOptions(), got "x"',
      ],
      [
        'a useExisting that is not a token',
        () => ({ useExisting: 5 }),
        /^ResilienceModule\.forRootAsync\.useExisting: expected a provider token/,
      ],
      [
        'an inject that is not an array',
        () => ({ useFactory, inject: 5 }),
        'ResilienceModule.forRootAsync.inject: expected an array of provider tokens, got 5',
      ],
      [
        'an inject holding no token',
        () => ({ useFactory, inject: [null] }),
        /^ResilienceModule\.forRootAsync\.inject: expected an array of provider tokens/,
      ],
      [
        'an inject without useFactory',
        () => ({ useClass: OptionsFromClass, inject: [] }),
        /^ResilienceModule\.forRootAsync\.inject: expected only with useFactory/,
      ],
      [
        'imports that are not an array',
        () => ({ useFactory, imports: 5 }),
        'ResilienceModule.forRootAsync.imports: expected an array of modules, got 5',
      ],
      [
        'an unknown key (a typo)',
        () => ({ useFactory, injects: [] }),
        /^ResilienceModule\.forRootAsync\.injects: unknown option/,
      ],
      [
        'policies beside the factory',
        () => ({ useFactory, retry: {} }),
        /^ResilienceModule\.forRootAsync\.retry: unknown option/,
      ],
      [
        'an inject getter that throws',
        () =>
          Object.defineProperty({ useFactory }, 'inject', {
            enumerable: true,
            get: () => {
              throw new Error('inject refused');
            },
          }),
        /^ResilienceModule\.forRootAsync\.inject: could not be read \(Error: inject refused\)/,
      ],
    ];
    for (const [label, make, problem] of cases)
      it(`refuses ${label} with a ConfigError`, () => {
        expect(() => ResilienceModule.forRootAsync(make() as never)).to.throw(ConfigError, problem);
      });

    it('reads each option once: a getter that answers differently later changes nothing', () => {
      let reads = 0;
      const options = Object.defineProperty({}, 'useFactory', {
        enumerable: true,
        get: () => (++reads === 1 ? useFactory : undefined),
      });
      const module = ResilienceModule.forRootAsync(options);
      expect(reads).to.equal(1);
      expect(module.providers).to.have.length.greaterThan(0);
    });

    it('ignores a useClass inherited from Object.prototype', () => {
      Object.defineProperty(Object.prototype, 'useClass', {
        value: OptionsFromClass,
        enumerable: true,
        configurable: true,
        writable: true,
      });
      try {
        expect(() => ResilienceModule.forRootAsync({ useFactory })).not.to.throw();
      } finally {
        delete (Object.prototype as Record<string, unknown>).useClass;
      }
    });
  });
});
