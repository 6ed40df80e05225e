import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { APP_FILTER, DiscoveryModule } from '@nestjs/core';
import { ConfigError, ResilienceRegistry } from '../index.js';
import { RESILIENCE_MODULE_OPTIONS } from './resilience.constants.js';
import { ResilienceExceptionFilter } from './resilience-exception.filter.js';
import { ResilienceExplorer } from './resilience.explorer.js';
import { ResilienceHealthIndicator } from './resilience.health.js';
import {
  checkStaticOptions,
  type StaticSettings,
  splitOptions,
  type ResilienceModuleAsyncOptions,
  type ResilienceModuleConfig,
  type ResilienceModuleOptions,
  type ResilienceOptionsFactory,
  type SplitOptions,
} from './resilience.options.js';
import { HttpRegistry } from './http-wait.js';
import { ResilienceShutdown } from './resilience.shutdown.js';

/**
 * Wires dspu into a NestJS application: a {@link ResilienceRegistry} of its own (injectable, configured from
 * the options), every provider and controller whose methods carry `@Retry`, `@CircuitBreaker`, `@RateLimited`,
 * `@Timeout`, `@Concurrency` or `@Fallback` bound to it at bootstrap, an unknown policy name failing the
 * bootstrap, optional HTTP mapping of dspu errors, and shielded work drained at shutdown.
 *
 * Import it once, in the root module; it is global by default. Two applications in one process each get their
 * own registry and never share state.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [
 *     ResilienceModule.forRoot({
 *       http: true,
 *       retry: { defaults: { maxAttempts: 3 }, payments: { maxAttempts: 5, baseDelay: '200ms' } },
 *       circuitBreaker: { payments: { failureThreshold: 5, timeout: '30s' } },
 *     }),
 *   ],
 *   providers: [PaymentsService],
 * })
 * export class AppModule {}
 * ```
 */
@Module({})
export class ResilienceModule {
  /**
   * Configures the module with named policies known up front.
   * @throws ConfigError when an option is invalid (policies are checked when the registry is created)
   */
  static forRoot(options: ResilienceModuleOptions = {}): DynamicModule {
    const statics = checkStaticOptions(options, 'ResilienceModule.forRoot');
    const settings = splitOptions(options, false);
    return ResilienceModule.assemble(statics, [
      { provide: RESILIENCE_MODULE_OPTIONS, useValue: settings },
    ]);
  }

  /**
   * Configures the module from other providers, e.g. `ConfigService` of `@nestjs/config`.
   *
   * @example
   * ```ts
   * ResilienceModule.forRootAsync({
   *   imports: [ConfigModule],
   *   inject: [ConfigService],
   *   useFactory: (config: ConfigService) => config.getOrThrow('resilience'),
   * });
   * ```
   * @throws ConfigError unless exactly one of `useFactory`, `useClass`, `useExisting` is given
   */
  static forRootAsync(options: ResilienceModuleAsyncOptions): DynamicModule {
    const statics = checkStaticOptions(options, 'ResilienceModule.forRootAsync');
    const given = (['useFactory', 'useClass', 'useExisting'] as const).filter(
      (key) => options[key] !== undefined,
    );
    if (given.length !== 1) {
      throw new ConfigError(
        `ResilienceModule.forRootAsync: expected exactly one of useFactory, useClass, useExisting, got ${
          given.length === 0 ? 'none' : given.join(' and ')
        }`,
      );
    }
    const load = async (config: ResilienceModuleConfig | Promise<ResilienceModuleConfig>) =>
      splitOptions(await config, true);
    const providers: Provider[] = [];
    if (options.useFactory) {
      const factory = options.useFactory as (...args: unknown[]) => ResilienceModuleConfig;
      providers.push({
        provide: RESILIENCE_MODULE_OPTIONS,
        useFactory: (...args: unknown[]) => load(factory(...args)),
        inject: options.inject ?? [],
      });
    } else {
      const source = (options.useClass ?? options.useExisting)!;
      if (options.useClass)
        providers.push({ provide: options.useClass, useClass: options.useClass });
      providers.push({
        provide: RESILIENCE_MODULE_OPTIONS,
        useFactory: (factory: ResilienceOptionsFactory) => load(factory.createResilienceOptions()),
        inject: [source],
      });
    }
    return ResilienceModule.assemble(statics, providers, options.imports);
  }

  private static assemble(
    { global, httpMaxWaitMs: maxWaitMs }: StaticSettings,
    optionProviders: Provider[],
    imports: DynamicModule['imports'] = [],
  ): DynamicModule {
    const providers: Provider[] = [
      ...optionProviders,
      {
        // A new registry per module instance: two applications never share engines or state.
        provide: ResilienceRegistry,
        useFactory: (settings: SplitOptions) =>
          maxWaitMs === undefined
            ? new ResilienceRegistry(settings.config)
            : new HttpRegistry(settings.config, maxWaitMs),
        inject: [RESILIENCE_MODULE_OPTIONS],
      },
      ResilienceExplorer,
      ResilienceShutdown,
      ResilienceHealthIndicator,
    ];
    if (maxWaitMs !== undefined)
      providers.push({ provide: APP_FILTER, useClass: ResilienceExceptionFilter });
    return {
      module: ResilienceModule,
      global,
      imports: [DiscoveryModule, ...imports],
      providers,
      exports: [ResilienceRegistry, ResilienceHealthIndicator],
    };
  }
}
