import { type Duration } from '../core/duration.js';
import { OptionsChecker, isInstance } from '../core/validate.js';
import { closeSyncWorker } from './sync-bridge.js';
import { toTarget, type ModuleFunction } from './target.js';
import { WorkerPool, runTarget } from './worker-pool.js';

/** Options of {@link syncToAsync}. */
export interface SyncToAsyncOptions {
  /** The pool to run on (default: the shared pool, sized to the machine). */
  pool?: WorkerPool;
  /**
   * Longest time a call may run on its worker (default: no limit). Past it the worker is stopped and
   * replaced, and the call rejects with a `BridgeError`: unlike a `Timeout` around the call, this frees the
   * thread of a runaway computation. Time spent waiting for a free worker does not count.
   */
  timeout?: Duration;
}

let shared: WorkerPool | undefined;

// Created at first use, so importing dspu starts no thread and reads no machine facts.
function sharedPool(): WorkerPool {
  return (shared ??= new WorkerPool());
}

/**
 * Turns a CPU-bound synchronous function into an async one that runs on a pooled worker thread, so the
 * event loop stays free while it computes. The function is sent as source and must be self-contained: it
 * may use its parameters and globals, not variables of the module around it (for that, use the module form).
 * Arguments and the result are copied by structured clone.
 *
 * @param fn - a self-contained function, or `{ module, export }` naming an exported function
 * @param options - `pool`: run on this {@link WorkerPool} instead of the shared one; `timeout`: stop a
 *   call (and its worker) that runs longer
 * @returns a function with the same parameters that resolves with `fn`'s result
 * @throws BridgeError at once for native, bound or class functions; ConfigError for anything that is not
 *   a function or a module reference. Calls reject with `BridgeError` when an argument cannot be copied, the
 *   function uses a captured variable or the worker crashes, and with `fn`'s own error (same built-in class,
 *   message, the worker's stack appended) when it throws.
 *
 * @example
 * ```ts
 * const calc = syncToAsync((n: number) => { let s = 0; for (let i = 0; i < n; i++) s += i * i; return s; });
 * await calc(1_000_000);
 * const heavy = syncToAsync<[number], number>({ module: new URL('./math.js', import.meta.url), export: 'heavy' });
 * ```
 */
export function syncToAsync<A extends unknown[], R>(
  fn: ((...args: A) => R) | ModuleFunction,
  options?: SyncToAsyncOptions,
): (...args: A) => Promise<Awaited<R>> {
  const check = new OptionsChecker(options).onlyKnown(['pool', 'timeout']);
  const pool = check.raw('pool');
  if (pool !== undefined && !isInstance(pool, WorkerPool)) check.fail('pool', 'a WorkerPool');
  const timeout = check.duration('timeout', Infinity);
  if (timeout <= 0) check.fail('timeout', 'a duration greater than 0');
  check.throwIfInvalid();
  const target = toTarget(fn);
  const chosen = pool as WorkerPool | undefined;
  const wrapped = (...args: A): Promise<Awaited<R>> =>
    (chosen ?? sharedPool())[runTarget](target, args, timeout) as Promise<Awaited<R>>;
  const name = typeof fn === 'function' ? fn.name : (fn.export ?? 'default');
  Object.defineProperty(wrapped, 'name', { value: name, configurable: true });
  return wrapped;
}

/**
 * Runs `fn(...args)` once on the shared worker pool: the one-off form of {@link syncToAsync}.
 *
 * @example
 * ```ts
 * const total = await runInExecutor((n: number) => { let s = 0; for (let i = 0; i < n; i++) s += i; return s; }, 1e6);
 * ```
 */
export function runInExecutor<A extends unknown[], R>(
  fn: ((...args: A) => R) | ModuleFunction,
  ...args: A
): Promise<Awaited<R>> {
  return sharedPool().run(fn, ...args);
}

/**
 * Stops the shared pool and the worker behind {@link asyncToSync}; calls still running reject with a
 * `BridgeError`. Never required for the process to exit (idle workers do not hold it open): use it for a
 * deterministic shutdown, or in tests. Later calls start fresh workers.
 *
 * @example
 * ```ts
 * process.on('SIGTERM', () => void shutdownExecutor().then(() => process.exit(0)));
 * ```
 */
export async function shutdownExecutor(): Promise<void> {
  const pool = shared;
  shared = undefined;
  await Promise.all([pool?.close(), closeSyncWorker()]);
}
