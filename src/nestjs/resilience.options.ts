import type {
  InjectionToken,
  ModuleMetadata,
  OptionalFactoryDependency,
  Type,
} from '@nestjs/common';
import {
  ConfigError,
  OptionsChecker,
  checkAll,
  type Duration,
  type ResilienceConfig,
} from '../index.js';

/** Settings of the module itself, beside the named policies. */
export interface ResilienceRuntimeOptions {
  /**
   * How long shutdown waits for shielded work (`runWithShield`) to settle before it logs a warning and lets the
   * application close anyway. Default: no limit, since shielded work is the work that must not be lost.
   */
  readonly drainTimeout?: Duration;
}

/** The HTTP settings of the module: what `http: true` means, spelled out. */
export interface ResilienceHttpOptions {
  /**
   * The longest a request waits for a rate limit's tokens or a concurrency limit's permit in a controller
   * method, before it is answered 429 or 503. Default 0: it does not wait. A `@RateLimited(policy, { maxWait })`
   * and a concurrency limiter configured with a `maxWait` keep their own; methods of providers are not bounded.
   */
  readonly maxWait?: Duration;
}

/** Settings that shape the module's providers, so they must be known before any factory runs. */
export interface ResilienceStaticOptions {
  /**
   * Registers {@link ResilienceExceptionFilter} globally, mapping dspu errors to HTTP responses (open circuit →
   * 503, rate limited → 429, timeout → 504, concurrency limit → 503), and bounds how long a request waits in a
   * rate limit or a concurrency limit of a controller method (`maxWait`, default 0: it does not wait).
   * `true` is `{ maxWait: 0 }`. Default: false.
   */
  readonly http?: boolean | ResilienceHttpOptions;
  /** Makes `ResilienceRegistry` injectable everywhere without importing the module again. Default: true. */
  readonly global?: boolean;
}

/** What the options factory of `forRootAsync` returns: the named policies plus runtime settings. */
export type ResilienceModuleConfig = ResilienceConfig & ResilienceRuntimeOptions;

/** What `ResilienceModule.forRoot()` accepts: the registry's configuration plus the module's settings. */
export type ResilienceModuleOptions = ResilienceModuleConfig & ResilienceStaticOptions;

/** A class that provides the configuration to `forRootAsync({ useClass })` or `forRootAsync({ useExisting })`. */
export interface ResilienceOptionsFactory {
  /** Returns the named policies (and runtime settings) for the application's registry. */
  createResilienceOptions(): ResilienceModuleConfig | Promise<ResilienceModuleConfig>;
}

/**
 * What `ResilienceModule.forRootAsync()` accepts: exactly one of `useFactory`, `useClass`, `useExisting`,
 * plus the static settings (`http`, `global`), which cannot come from the factory because they decide which
 * providers exist.
 */
export interface ResilienceModuleAsyncOptions
  extends Pick<ModuleMetadata, 'imports'>, ResilienceStaticOptions {
  /** Returns the configuration; its parameters are the providers listed in `inject`. */
  readonly useFactory?: (
    ...args: never[]
  ) => ResilienceModuleConfig | Promise<ResilienceModuleConfig>;
  /** Providers passed to `useFactory`, e.g. `[ConfigService]`. */
  readonly inject?: (InjectionToken | OptionalFactoryDependency)[];
  /** A class the module instantiates to get the configuration. */
  readonly useClass?: Type<ResilienceOptionsFactory>;
  /** An existing provider (from `imports`) that gives the configuration. */
  readonly useExisting?: InjectionToken<ResilienceOptionsFactory>;
}

const STATIC_KEYS = ['http', 'global'] as const;
const RUNTIME_KEYS = ['drainTimeout'] as const;

/** The static settings, checked and read once. */
export interface StaticSettings {
  /** Whether the module is global (default true). */
  readonly global: boolean;
  /** How long a request may wait in a controller's rate or concurrency limit; undefined when `http` is off. */
  readonly httpMaxWaitMs: number | undefined;
}

/**
 * Checks the static settings and reads each once (an options object that throws while it is read, a Proxy or a
 * getter, ends in a ConfigError naming what failed).
 * @throws ConfigError naming the option when one is invalid
 */
export function checkStaticOptions(options: unknown, where: string): StaticSettings {
  const checker = new OptionsChecker(options, `${where}.`);
  const global = checker.raw('global');
  if (global !== undefined && typeof global !== 'boolean') checker.fail('global', 'a boolean');
  const http = checker.raw('http');
  let httpMaxWaitMs: number | undefined;
  if (http === true) httpMaxWaitMs = 0;
  else if (typeof http === 'object' && http !== null) {
    // Anything but a plain object (an array, a Proxy) is refused by the checker, naming `http`.
    const settings = new OptionsChecker(http, `${where}.http.`);
    settings.onlyKnown(['maxWait']);
    httpMaxWaitMs = settings.duration('maxWait', 0);
    checker.problems.push(...settings.problems);
  } else if (http !== undefined && http !== false) checker.fail('http', 'a boolean or { maxWait }');
  checker.throwIfInvalid();
  return { global: (global as boolean | undefined) ?? true, httpMaxWaitMs };
}

/** forRootAsync's options, checked and read once. */
export interface AsyncSettings {
  readonly statics: StaticSettings;
  readonly useFactory:
    ((...args: unknown[]) => ResilienceModuleConfig | Promise<ResilienceModuleConfig>) | undefined;
  readonly useClass: Type<ResilienceOptionsFactory> | undefined;
  /** What provides the options factory when there is no `useFactory`: `useClass` or `useExisting`. */
  readonly source: InjectionToken;
  readonly inject: (InjectionToken | OptionalFactoryDependency)[];
  readonly imports: NonNullable<ModuleMetadata['imports']>;
}

const SOURCE_KEYS = ['useFactory', 'useClass', 'useExisting'] as const;
const ASYNC_KEYS = [...SOURCE_KEYS, 'inject', 'imports', ...STATIC_KEYS] as const;

const isToken = (value: unknown) =>
  (typeof value === 'string' && value !== '') ||
  typeof value === 'symbol' ||
  typeof value === 'function';

/**
 * Checks forRootAsync's options, own keys only, each read once: one ConfigError lists every problem (an unknown
 * key, exactly one of useFactory, useClass and useExisting, inject and imports as arrays).
 */
export function checkAsyncOptions(options: unknown): AsyncSettings {
  const where = 'ResilienceModule.forRootAsync';
  if (options === undefined) throw ConfigError.invalid(where, 'an options object', options);
  const checker = new OptionsChecker(options, `${where}.`);
  checker.throwIfInvalid();
  checker.onlyKnown(ASYNC_KEYS);
  const staticOptions: Record<string, unknown> = {};
  for (const key of STATIC_KEYS)
    if (checker.raw(key) !== undefined) staticOptions[key] = checker.raw(key);
  const [statics, settings] = checkAll(
    () => checkStaticOptions(staticOptions, where),
    () => {
      const useFactory = checker.fn<NonNullable<AsyncSettings['useFactory']>>('useFactory');
      const useClass = checker.raw('useClass');
      if (useClass !== undefined && typeof useClass !== 'function')
        checker.fail('useClass', 'a class with createResilienceOptions()');
      const useExisting = checker.raw('useExisting');
      if (useExisting !== undefined && !isToken(useExisting))
        checker.fail('useExisting', 'a provider token (a class, a string or a symbol)');
      const given = SOURCE_KEYS.filter((key) => checker.raw(key) !== undefined);
      if (given.length !== 1)
        checker.problems.push(
          `${where}: expected exactly one of useFactory, useClass, useExisting, got ${
            given.length === 0 ? 'none' : given.join(' and ')
          }`,
        );
      const inject = checker.array(
        'inject',
        'an array of provider tokens',
        (item) => isToken(item) || (typeof item === 'object' && item !== null),
      );
      if (inject !== undefined && useFactory === undefined)
        checker.fail('inject', 'only with useFactory');
      const imports = checker.array(
        'imports',
        'an array of modules',
        (item) => typeof item === 'function' || (typeof item === 'object' && item !== null),
      );
      checker.throwIfInvalid();
      return {
        useFactory,
        useClass: useClass as Type<ResilienceOptionsFactory> | undefined,
        source: (useClass ?? useExisting) as InjectionToken,
        inject: (inject ?? []) as AsyncSettings['inject'],
        imports: (imports ?? []) as AsyncSettings['imports'],
      };
    },
  );
  return { statics, ...settings };
}

/** The module's runtime settings and the registry's configuration, split apart and checked. */
export interface SplitOptions {
  readonly config: ResilienceConfig;
  readonly drainTimeoutMs: number | undefined;
}

/**
 * Separates the module's own keys from the registry configuration (which rejects unknown keys). `fromFactory`
 * marks a configuration returned by `forRootAsync`'s factory, where static keys come too late to act on.
 */
export function splitOptions(options: unknown, fromFactory: boolean): SplitOptions {
  // Each key read once into a copy: a Proxy or a getter that throws ends in a ConfigError naming the key.
  const checker = new OptionsChecker(options);
  checker.throwIfInvalid();
  const rest: Record<string, unknown> = {};
  for (const key of checker.keys()) rest[key] = checker.raw(key);
  if (fromFactory) {
    for (const key of STATIC_KEYS) {
      if (key in rest) {
        throw new ConfigError(
          `${key}: set it on forRootAsync({ ${key} }) itself, not in the configuration its factory returns`,
        );
      }
    }
  }
  for (const key of [...STATIC_KEYS, ...RUNTIME_KEYS]) delete rest[key];
  const drainTimeoutMs = checker.duration('drainTimeout', Infinity);
  checker.throwIfInvalid();
  return {
    config: rest,
    drainTimeoutMs: drainTimeoutMs === Infinity ? undefined : drainTimeoutMs,
  };
}
