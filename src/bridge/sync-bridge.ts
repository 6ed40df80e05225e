import type { MessagePort, Worker } from 'node:worker_threads';
import { type Duration } from '../core/duration.js';
import { BridgeError } from '../core/errors.js';
import { OptionsChecker } from '../core/validate.js';
import { cloneFailure } from './clone.js';
import { crashError, toCallerError, type Reply } from './remote-error.js';
import { toTarget, type ModuleFunction, type Target } from './target.js';
import { startBridgeWorker } from './worker-start.js';
import { workerThreads } from './worker-threads.js';

/** Options of {@link asyncToSync}. */
export interface AsyncToSyncOptions {
  /**
   * Longest time a call may block. Past it the worker is stopped and the call throws a `BridgeError`
   * (default: no limit). Set one for work that may never settle, or that may exhaust the worker's memory: a
   * worker killed that way cannot wake the blocked caller, only a limit ends such a wait. The first call's
   * time includes starting the worker (tens of milliseconds); whatever the timeout, a worker that has not
   * started within 10 s fails the call.
   */
  timeout?: Duration;
}

// state[0]: 3 starting, 1 idle, 0 a call is running, 2 the worker has exited; state[1]: its exit code.
const IDLE = 1;
const RUNNING = 0;
const EXITED = 2;
const STARTING = 3;

/*
 * A worker that dies before the bridge program runs (a preload that refuses worker threads, say) never
 * reports anything, and a thread blocked in Atomics.wait cannot hear its `exit` event. So the first call
 * waits this long at most for the program to say it is ready, whatever the call's own timeout.
 */
const STARTUP_LIMIT_MS = 10_000;

interface SyncWorker {
  readonly worker: Worker;
  readonly port: MessagePort;
  readonly state: Int32Array;
  readonly known: Set<number>;
}

// One per thread: the calling thread is blocked during a call, so it never has two calls in flight.
let current: SyncWorker | undefined;
// Why the last worker that never became ready died, once its `error` event got through: said next time.
let startFailure: Error | undefined;

function spawn(): SyncWorker {
  const { MessageChannel } = workerThreads();
  const { port1, port2 } = new MessageChannel();
  const state = new Int32Array(new SharedArrayBuffer(8));
  Atomics.store(state, 0, STARTING);
  const worker = startBridgeWorker({
    workerData: { sync: { port: port2, state: state.buffer } },
    transferList: [port2],
  });
  // Between calls nothing is pending, and during one this thread is blocked anyway: never hold the process.
  worker.unref();
  port1.unref();
  // A crash reaches the caller through `state`; the event itself must not become an uncaught error.
  worker.on('error', (error: Error) => {
    if (Atomics.load(state, 0) === STARTING) startFailure = error;
  });
  const entry: SyncWorker = { worker, port: port1, state, known: new Set() };
  worker.on('exit', () => {
    if (current === entry) current = undefined;
  });
  return entry;
}

function discard(entry: SyncWorker): void {
  if (current === entry) current = undefined;
  entry.port.close();
  void entry.worker.terminate();
}

// Claims the worker for one call, replacing one that exited since the last call.
function claim(timeout: number): SyncWorker {
  for (let tries = 0; tries < 2; tries++) {
    const entry = (current ??= spawn());
    if (Atomics.load(entry.state, 0) === STARTING) awaitStart(entry, timeout);
    if (Atomics.compareExchange(entry.state, 0, IDLE, RUNNING) === IDLE) return entry;
    discard(entry);
  }
  throw new BridgeError('Could not start a worker thread for a synchronous call.');
}

/** Blocks until a new worker's program is ready, or throws a BridgeError once it is clearly not coming. */
function awaitStart(entry: SyncWorker, timeout: number): void {
  const limit = Math.min(timeout, STARTUP_LIMIT_MS);
  Atomics.wait(entry.state, 0, STARTING, limit);
  if (Atomics.load(entry.state, 0) !== STARTING) return;
  discard(entry);
  const previous = startFailure;
  startFailure = undefined;
  throw new BridgeError(
    `The worker thread for synchronous calls did not start within ${limit} ms: it died before dspu's ` +
      'program could run (a --require or --import preload that fails in worker threads does this), or ' +
      `the machine is too busy to start a thread.${previous ? ` The last one failed with: ${previous.message}` : ''}`,
    previous ? { cause: previous } : undefined,
  );
}

/** Runs a prepared target on the synchronous worker, blocking this thread until it settles. @internal */
export function callSync(target: Target, args: unknown[], timeout: number): unknown {
  if (typeof SharedArrayBuffer !== 'function' || typeof Atomics.wait !== 'function') {
    throw new BridgeError(
      'asyncToSync needs SharedArrayBuffer and Atomics.wait, which this environment does not provide.',
    );
  }
  const started = performance.now();
  const entry = claim(timeout);
  const { key, definition } = target;
  try {
    entry.worker.postMessage(entry.known.has(key) ? { key, args } : { key, definition, args });
  } catch (error) {
    Atomics.store(entry.state, 0, IDLE);
    throw cloneFailure(target, args, error);
  }
  // No spurious wake-ups: only the worker notifies, after its reply is on the port or as it exits.
  Atomics.wait(entry.state, 0, RUNNING, Math.max(0, timeout - (performance.now() - started)));
  const reply = workerThreads().receiveMessageOnPort(entry.port)?.message as Reply | undefined;
  if (reply !== undefined) {
    if (reply.loaded === true) entry.known.add(key);
    if (reply.ok) return reply.value;
    if (reply.crashed === true) {
      discard(entry);
      throw crashError(
        target,
        'crashed with an error nobody awaited; a new worker takes its place',
        toCallerError(reply.error, target),
      );
    }
    throw toCallerError(reply.error, target);
  }
  const exited = Atomics.load(entry.state, 0) === EXITED;
  discard(entry);
  if (exited) {
    const code = Atomics.load(entry.state, 1);
    throw crashError(target, `exited with code ${code}; a new worker takes its place`);
  }
  throw new BridgeError(
    `The call of ${target.label} did not settle within ${timeout} ms, so its worker thread was stopped.`,
  );
}

/** Stops the synchronous worker, if one is running. @internal */
export async function closeSyncWorker(): Promise<void> {
  const entry = current;
  current = undefined;
  if (entry === undefined) return;
  entry.port.close();
  await entry.worker.terminate();
}

/**
 * Turns an async function into a synchronous one: each call runs it on a worker thread and blocks the
 * calling thread (with `Atomics.wait`, not a busy loop) until its promise settles, then returns the value or
 * throws the error. For synchronous-only contexts: a CLI step, a config loader, a sync plugin hook. The
 * function is sent as source and must be self-contained, or given as `{ module, export }`.
 *
 * Blocking stops this thread's event loop: timers, I/O and other promises of the caller wait too.
 *
 * @param fn - a self-contained async (or sync) function, or `{ module, export }`
 * @param options - `timeout`: longest time a call may block (a duration)
 * @throws ConfigError for a bad `timeout`; calls throw `BridgeError` on timeout, a worker crash, an argument
 *   that cannot be copied or a captured variable, and `fn`'s own error when it rejects
 *
 * @example
 * ```ts
 * const fetchSync = asyncToSync(async (url: string) => (await fetch(url)).text(), { timeout: '10s' });
 * const body = fetchSync('http://127.0.0.1:8080/');
 * ```
 */
export function asyncToSync<A extends unknown[], R>(
  fn: ((...args: A) => R) | ModuleFunction,
  options?: AsyncToSyncOptions,
): (...args: A) => Awaited<R> {
  const check = new OptionsChecker(options).onlyKnown(['timeout']);
  const timeout = check.duration('timeout', Infinity);
  if (timeout <= 0) check.fail('timeout', 'a duration greater than 0');
  check.throwIfInvalid();
  const target = toTarget(fn);
  const wrapped = (...args: A): Awaited<R> => callSync(target, args, timeout) as Awaited<R>;
  const name = typeof fn === 'function' ? fn.name : (fn.export ?? 'default');
  Object.defineProperty(wrapped, 'name', { value: name, configurable: true });
  return wrapped;
}

/**
 * Runs `fn(...args)` on a worker thread and blocks until it settles: the one-off form of
 * {@link asyncToSync} (without a timeout).
 *
 * @example
 * ```ts
 * const config = runAsync(async (path: string) => JSON.parse(await (await import('node:fs/promises')).readFile(path, 'utf8')), file);
 * ```
 */
export function runAsync<A extends unknown[], R>(
  fn: ((...args: A) => R) | ModuleFunction,
  ...args: A
): Awaited<R> {
  return callSync(toTarget(fn), args, Infinity) as Awaited<R>;
}
