import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { APP_FILTER, DiscoveryModule } from '@nestjs/core';
import { ConfigError, ResilienceRegistry } from '../index.js';
import { RESILIENCE_MODULE_OPTIONS } from './resilience.constants.js';
import { ResilienceExceptionFilter } from './resilience-exception.filter.js';
import { ResilienceExplorer } from './resilience.explorer.js';
import { ResilienceHealthIndicator } from './resilience.health.js';
import {
  checkAsyncOptions,
  checkStaticOptions,
  type StaticSettings,
  splitOptions,
  type ResilienceModuleAsyncOptions,
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
   * @throws ConfigError when an option or a policy's configuration is invalid, listing every problem
   */
  static forRoot(options: ResilienceModuleOptions = {}): DynamicModule {
    const statics = checkStaticOptions(options, 'ResilienceModule.forRoot');
    const settings = splitOptions(options, false);
    // Checked now, not when the application bootstraps: each application still gets a registry of its own.
    void new ResilienceRegistry(settings.config);
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
   * @throws ConfigError unless exactly one of `useFactory`, `useClass`, `useExisting` is given, or when an
   *   option is invalid or unknown
   */
  static forRootAsync(options: ResilienceModuleAsyncOptions): DynamicModule {
    const async = checkAsyncOptions(options);
    // A promise (of any realm) or another thenable is the factory's own work: its rejection is the factory's
    // error. Anything else is the configuration itself, read once by splitOptions.
    const load = async (config: unknown) => {
      const then = thenOf(config);
      const value = then
        ? await new Promise((resolve, reject) => then.call(config, resolve, reject))
        : config;
      return splitOptions(value, true);
    };
    const providers: Provider[] = [];
    if (async.useFactory) {
      const factory = async.useFactory;
      providers.push({
        provide: RESILIENCE_MODULE_OPTIONS,
        useFactory: (...args: unknown[]) => load(factory(...args)),
        inject: async.inject,
      });
    } else {
      if (async.useClass) providers.push({ provide: async.useClass, useClass: async.useClass });
      providers.push({
        provide: RESILIENCE_MODULE_OPTIONS,
        useFactory: (factory: unknown) =>
          load(createOptions(factory, async.useClass ? 'useClass' : 'useExisting')),
        inject: [async.source],
      });
    }
    return ResilienceModule.assemble(async.statics, providers, async.imports);
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

// The configuration from a `useClass` or `useExisting` provider, which must implement ResilienceOptionsFactory.
function createOptions(factory: unknown, key: 'useClass' | 'useExisting'): unknown {
  let create: unknown;
  try {
    create = (factory as Partial<ResilienceOptionsFactory> | null)?.createResilienceOptions;
  } catch {
    create = undefined; // a provider that cannot be read (a revoked Proxy) has no such method either
  }
  if (typeof create !== 'function') {
    throw ConfigError.invalid(
      `ResilienceModule.forRootAsync.${key}`,
      'a provider with a createResilienceOptions() method',
      factory,
    );
  }
  return (create as () => unknown).call(factory);
}

/** A value's `then` when it is a function, read once; a revoked Proxy or a throwing getter has none. */
function thenOf(value: unknown): ((this: unknown, ...handlers: unknown[]) => unknown) | undefined {
  try {
    const then: unknown = (value as { then?: unknown } | null | undefined)?.then;
    return typeof then === 'function'
      ? (then as (this: unknown, ...handlers: unknown[]) => unknown)
      : undefined;
  } catch {
    return undefined;
  }
}
