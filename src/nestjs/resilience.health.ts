import { Injectable } from '@nestjs/common';
import {
  CircuitState,
  ConfigError,
  OptionsChecker,
  ResilienceRegistry,
  type WindowMetrics,
} from '../index.js';

/** What {@link ResilienceHealthIndicator.isHealthy} reports under its key. */
export interface CircuitBreakersHealth {
  /** `'down'` when a reported breaker is open, else `'up'`. */
  readonly status: 'up' | 'down';
  /** The state of each reported breaker, by name: `'closed'`, `'open'` or `'half_open'`. */
  readonly breakers: Readonly<Record<string, CircuitState>>;
  /**
   * For each reported rate-mode breaker, by name: its window's calls, failed and slow calls, and the rates in
   * percent (`breaker.metrics()`). Absent when no reported breaker is in rate mode.
   */
  readonly windows?: Readonly<Record<string, WindowMetrics>>;
}

/** Options of {@link ResilienceHealthIndicator.isHealthy}. */
export interface CircuitBreakersHealthOptions {
  /** The breakers to report, by registry name. Default: every configured breaker. */
  readonly names?: readonly string[];
}

/**
 * Reports the state of the registry's named circuit breakers in the shape `@nestjs/terminus` expects from a
 * health indicator (`{ [key]: { status, ... } }`), without importing terminus: dspu/nestjs works whether or
 * not it is installed. The result is `down` while any reported breaker is open; half-open counts as up, since
 * trial calls are going through. Rate-mode breakers add their window's figures (failure rate, slow-call rate) under
 * `windows`, so a dependency that is failing without yet tripping shows. An open breaker means a dependency is failing, not this process, so use it in
 * a readiness check rather than a liveness one.
 *
 * @example
 * ```ts
 * @Controller('health')
 * export class HealthController {
 *   constructor(private health: HealthCheckService, private breakers: ResilienceHealthIndicator) {}
 *   @Get('ready') @HealthCheck()
 *   ready() { return this.health.check([() => this.breakers.isHealthy('circuitBreakers')]); }
 * }
 * ```
 */
@Injectable()
export class ResilienceHealthIndicator {
  /** @param registry - the module's registry, injected */
  constructor(private readonly registry: ResilienceRegistry) {}

  /**
   * The breakers' states under `key`; terminus answers 503 with these details when the status is `down`.
   * @throws ConfigError (as a rejection) when `key` is not a string, `options` is not `{ names }` with an array
   *   of strings, or `options.names` lists a breaker the registry does not know
   */
  isHealthy(
    key = 'circuitBreakers',
    options: CircuitBreakersHealthOptions = {},
  ): Promise<Record<string, CircuitBreakersHealth>> {
    try {
      if (typeof key !== 'string') throw ConfigError.invalid('key', 'a string', key);
      // Read once, own keys only: a Proxy, a getter or a string of names is a ConfigError, not a TypeError.
      const checker = new OptionsChecker(options).onlyKnown(['names']);
      const names = checker.array(
        'names',
        'an array of breaker names',
        (name) => typeof name === 'string',
      ) as string[] | undefined;
      checker.throwIfInvalid();
      const breakers: Record<string, CircuitState> = {};
      const windows: Record<string, WindowMetrics> = {};
      let rated = false;
      let open = false;
      for (const name of names ?? this.registry.names('circuitBreaker')) {
        const breaker = this.registry.circuitBreaker(name);
        // Peeked: a health probe must not make the lazy OPEN → HALF_OPEN move it reports on.
        const state = breaker.peekState();
        breakers[name] = state;
        open ||= state === CircuitState.OPEN;
        if (breaker.options.rate !== undefined) {
          windows[name] = breaker.metrics();
          rated = true;
        }
      }
      const status = open ? 'down' : 'up';
      return Promise.resolve({
        [key]: rated ? { status, breakers, windows } : { status, breakers },
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }
}
