import 'reflect-metadata';
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
});
