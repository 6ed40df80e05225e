/**
 * dspu/nestjs: named resilience policies in NestJS's dependency injection, checked at bootstrap.
 *
 * @example
 * ```ts
 * import { ResilienceModule } from 'dspu/nestjs';
 *
 * @Module({ imports: [ResilienceModule.forRoot({ circuitBreaker: { payments: { timeout: '30s' } } })] })
 * export class AppModule {}
 * ```
 * @packageDocumentation
 * @module dspu/nestjs
 */
export { ResilienceModule } from './resilience.module.js';
export {
  ResilienceExceptionFilter,
  toHttpResponse,
  type ResilienceHttpResponse,
} from './resilience-exception.filter.js';
export {
  ResilienceHealthIndicator,
  type CircuitBreakersHealth,
  type CircuitBreakersHealthOptions,
} from './resilience.health.js';
export type {
  ResilienceHttpOptions,
  ResilienceModuleOptions,
  ResilienceModuleAsyncOptions,
  ResilienceModuleConfig,
  ResilienceOptionsFactory,
  ResilienceRuntimeOptions,
  ResilienceStaticOptions,
} from './resilience.options.js';
