import type { Worker, WorkerOptions } from 'node:worker_threads';
import { BridgeError } from '../core/errors.js';
import { WORKER_SOURCE } from './worker-source.js';
import { workerThreads } from './worker-threads.js';

/*
 * A worker inherits the flags its process was started with. Some of them change how Node reads source given
 * as a string, which is how the bridge program is started: under `--input-type=module` it becomes an ES
 * module, where `require` does not exist, and every worker dies at its first line. Those flags are left out.
 * Loaders and preloads (`--import`, `--require`, `--conditions`, …) are kept: functions given by module may
 * need them.
 */

// Flags about string input or the main script, each with the value it takes when given as a separate word.
const TAKES_VALUE = new Set([
  '--input-type',
  '--experimental-default-type',
  '--eval',
  '-e',
  '--print',
  '-p',
  '-pe',
  '--watch-path',
]);
const BARE = new Set([
  '--check',
  '-c',
  '--interactive',
  '-i',
  '--watch',
  '--watch-preserve-output',
]);

// What a worker keeps when Node refuses the whole list: the flags that decide how modules load.
const LOADING_TAKES_VALUE = new Set([
  '--require',
  '-r',
  '--import',
  '--loader',
  '--experimental-loader',
  '--conditions',
  '-C',
]);

/** `execArgv` without the flags that would make a worker misread the bridge program; undefined when none. */
export function bridgeExecArgv(execArgv: readonly string[]): string[] | undefined {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const flag = execArgv[i];
    const name = flag.split('=', 1)[0];
    if (BARE.has(name)) continue;
    if (TAKES_VALUE.has(name)) {
      if (name === flag) i++; // its value is the next word
      continue;
    }
    kept.push(flag);
  }
  return kept.length === execArgv.length ? undefined : kept;
}

/** Only the module-loading flags of `execArgv`, with their values. */
function loadingFlags(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const flag = execArgv[i];
    const name = flag.split('=', 1)[0];
    if (!LOADING_TAKES_VALUE.has(name)) continue;
    kept.push(flag);
    if (name === flag && i + 1 < execArgv.length) kept.push(execArgv[++i]);
  }
  return kept;
}

/**
 * Starts a thread running the bridge program.
 * @throws BridgeError saying why when Node cannot create the thread (a permission policy, for one)
 */
export function startBridgeWorker(options: WorkerOptions = {}): Worker {
  try {
    const execArgv = bridgeExecArgv(process.execArgv);
    if (execArgv === undefined)
      return new (workerThreads().Worker)(WORKER_SOURCE, { ...options, eval: true });
    try {
      return new (workerThreads().Worker)(WORKER_SOURCE, { ...options, eval: true, execArgv });
    } catch (error) {
      // Inherited, flags for V8 or the whole process are ignored in a worker; listed, Node refuses them.
      // Their effect is process-wide anyway: only the flags that decide how modules load must be passed on.
      if ((error as { code?: unknown } | null)?.code !== 'ERR_WORKER_INVALID_EXEC_ARGV')
        throw error;
      return new (workerThreads().Worker)(WORKER_SOURCE, {
        ...options,
        eval: true,
        execArgv: loadingFlags(execArgv),
      });
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new BridgeError(`Could not start a worker thread: ${reason}`, { cause: error });
  }
}
