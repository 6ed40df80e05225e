/**
 * dspu/testing: helpers for the tests of code that uses dspu, whatever the runner (Jest, Vitest, mocha with
 * sinon): put a registry's engines back to their initial state between tests.
 *
 * @example
 * ```ts
 * import { resetResilience } from 'dspu/testing';
 *
 * afterEach(() => resetResilience()); // or resetResilience(app.get(ResilienceRegistry))
 * ```
 * @packageDocumentation
 * @module dspu/testing
 */
export { resetResilience } from './reset-resilience.js';
