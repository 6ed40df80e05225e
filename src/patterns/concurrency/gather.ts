import { ConfigError } from '../../core/errors.js';
import { currentSignal } from '../../core/context.js';
import {
  describeBadTask,
  resolveGatherOptions,
  type GatherOptions,
} from './concurrency.options.js';
import { LimitedRun, isItemSource, type ItemSource } from './limited-run.js';

/**
 * A task for {@link gatherWithLimit}: a function that starts the work when called (a promise would already be
 * running). It receives the signal that aborts when the gather fails fast or is aborted; a task that
 * declares no parameter costs no `AbortController`.
 */
export type Task<T> = (signal: AbortSignal) => T | PromiseLike<T>;

/** What a task resolves to (a union when the tasks differ). */
export type TaskResult<F> = F extends (...args: never[]) => infer R ? Awaited<R> : never;

/** What {@link gatherWithLimit} accepts: an array, any iterable, or an async iterable of tasks. */
export type Tasks<T> = ItemSource<Task<T>>;

type Outcome<T> = T | PromiseSettledResult<T>;

class GatherRun<T> extends LimitedRun<Task<T>, T> {
  readonly results: Outcome<T>[];
  resolve!: (results: Outcome<T>[]) => void;
  reject!: (error: unknown) => void;

  constructor(
    tasks: Tasks<T>,
    limit: number,
    signal: AbortSignal | undefined,
    private readonly settle: boolean,
  ) {
    // An array was checked up front; a lazy source is checked item by item.
    super(tasks, startTask, limit, signal, Infinity, Array.isArray(tasks) ? undefined : badTask);
    this.results = Array.isArray(tasks) ? new Array<Outcome<T>>(tasks.length) : [];
  }

  protected onValue(index: number, value: T): void {
    this.results[index] = this.settle ? { status: 'fulfilled', value } : value;
  }

  protected onError(index: number, error: unknown): void {
    if (this.settle) this.results[index] = { status: 'rejected', reason: error };
    else this.stop(error);
  }

  protected onComplete(): void {
    this.resolve(this.results);
  }

  protected onStop(error: unknown): void {
    this.reject(error);
  }
}

function badTask(task: unknown, index: number): Error {
  return new ConfigError(describeBadTask(index, task));
}

// Decided per task: a thunk that declares no parameter never reads the signal, so it must not create one.
// Tasks start with the run as the current context: currentSignal() is the run's shared signal.
function startTask<T>(task: Task<T>): T | PromiseLike<T> {
  return task.length === 0 ? (task as () => T | PromiseLike<T>)() : task(currentSignal());
}

/**
 * Runs tasks with at most `limit` of them at once and resolves with their results in input order.
 *
 * Tasks are pulled lazily from arrays, iterables and async iterables: a source is never more than `limit`
 * items ahead of the tasks that finished, so a generator of a million tasks is never materialised (use
 * {@link mapWithLimit} when the results should not be kept either).
 *
 * Fail-fast: on the first rejection no new task starts, the signal handed to running tasks (their argument
 * and `currentSignal()`) aborts with that error, and the call rejects with it; later rejections are absorbed.
 * With `settle: true` every task runs and the call resolves with a `PromiseSettledResult` per task.
 * An abort of `options.signal`, or of the enclosing call (a timeout around it, `withSignal`), stops the call
 * the same way at once, rejecting with the abort's reason.
 *
 * @example
 * ```ts
 * const users = await gatherWithLimit(
 *   userIds.map((id) => (signal) => fetchUser(id, { signal })),
 *   { limit: 10 },
 * );
 * ```
 * @throws ConfigError (synchronously) when the options are invalid, `tasks` is not iterable, or an array
 *   holds something other than a function; nothing is started then. A non-function pulled from a lazy
 *   source rejects the call with a ConfigError and starts nothing more.
 */
export function gatherWithLimit<F extends Task<unknown>>(
  tasks: ItemSource<F>,
  options: GatherOptions & { settle: true },
): Promise<PromiseSettledResult<TaskResult<F>>[]>;
export function gatherWithLimit<F extends Task<unknown>>(
  tasks: ItemSource<F>,
  options: GatherOptions & { settle?: false },
): Promise<TaskResult<F>[]>;
export function gatherWithLimit<F extends Task<unknown>>(
  tasks: ItemSource<F>,
  options: GatherOptions,
): Promise<TaskResult<F>[] | PromiseSettledResult<TaskResult<F>>[]>;
export function gatherWithLimit<T>(
  tasks: Tasks<T>,
  options: GatherOptions,
): Promise<T[] | PromiseSettledResult<T>[]> {
  const { limit, signal, settle } = resolveGatherOptions(options);
  if (!isItemSource(tasks))
    throw ConfigError.invalid(
      'tasks',
      'an array, an iterable or an async iterable of tasks',
      tasks,
    );
  if (Array.isArray(tasks)) {
    const bad = (tasks as unknown[]).findIndex((task) => typeof task !== 'function');
    if (bad >= 0) throw new ConfigError(describeBadTask(bad, tasks[bad]));
  }
  const run = new GatherRun<T>(tasks, limit, signal, settle);
  const promise = new Promise<Outcome<T>[]>((resolve, reject) => {
    run.resolve = resolve;
    run.reject = reject;
  });
  run.begin();
  return promise as Promise<T[] | PromiseSettledResult<T>[]>;
}
