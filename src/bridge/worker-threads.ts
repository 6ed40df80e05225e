import type * as WorkerThreads from 'node:worker_threads';

let loaded: typeof WorkerThreads | undefined;

/**
 * `node:worker_threads`, loaded at the bridge's first use: loading it takes about 5 ms, which an application
 * that never moves work to a thread should not pay when it imports dspu.
 */
export function workerThreads(): typeof WorkerThreads {
  return (loaded ??= process.getBuiltinModule('node:worker_threads'));
}
