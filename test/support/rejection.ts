import { ConfigError } from '../../src/index.js';

/** Awaits a promise that must reject and returns its error (fails the test when it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection, but the promise fulfilled');
}

/**
 * Calls `fn`, which must throw, and returns what it threw (fails the test when it returns). Unlike a
 * `try { fn(); expect.fail() } catch {}`, the failure cannot be swallowed by the test's own catch.
 */
export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw, but the call returned');
}

/** Calls `fn`, which must throw a `ConfigError`, and returns the problems it lists. */
export function configProblems(fn: () => unknown): readonly string[] {
  const error = thrown(fn);
  if (!(error instanceof ConfigError))
    throw new Error(`expected a ConfigError, got ${String(error)}`);
  return error.problems;
}
