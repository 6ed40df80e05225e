import type { ResourceLimits, Worker } from 'node:worker_threads';
import { clearTimer, setTimer, unrefTimer, type TimerHandle } from '../core/clock.js';
import { BridgeError, describeValue } from '../core/errors.js';
import { OptionsChecker, isPlainObject } from '../core/validate.js';
import { cloneFailure } from './clone.js';
import { crashError, toCallerError, type Reply } from './remote-error.js';
import { toTarget, type ModuleFunction, type Target } from './target.js';
import { startBridgeWorker } from './worker-start.js';

/** Options of {@link WorkerPool}. */
export interface WorkerPoolOptions {
  /** Most worker threads alive at once (default: available parallelism − 1, at least 1). */
  size?: number;
  /**
   * Heap and stack limits of each worker (Node's `resourceLimits`), in MB: `maxYoungGenerationSizeMb` and
   * `codeRangeSizeMb` from 1, `maxOldGenerationSizeMb` from 8 (each up to 2^20), `stackSizeMb` from 2 to 1024.
   * A worker that exceeds them is replaced, and the call it was running rejects with a `BridgeError`.
   */
  resourceLimits?: ResourceLimits;
}

interface Job {
  /** Echoed by the worker with its reply: anything else the worker posts is not an answer to this call. */
  readonly id: number;
  readonly target: Target;
  readonly args: unknown[];
  readonly resolve: (reply: Reply) => void;
  readonly reject: (error: Error) => void;
  /** Longest running time in ms (Infinity: none); the wait in the queue does not count. */
  readonly timeout: number;
  timer: TimerHandle | undefined;
  next: Job | undefined;
}

interface Slot {
  readonly worker: Worker;
  /** Keys this worker has loaded: their definitions need not be sent again. */
  readonly known: Set<number>;
  job: Job | undefined;
  /** What is ending this worker (its `error` event), given as the cause to the call it ran. */
  failure: unknown;
  /** Set by close(): the exit that follows is not a crash. */
  stopping: boolean;
  /** Set when the pool stopped the worker because its call ran past its timeout. */
  expired: boolean;
}

/*
 * What each resource limit may be, in MB. Node passes them to V8 unchecked, and some end the whole process:
 * a stack below about 1 MB overflows while the worker starts (the process exits with code 6), one of tens of GB
 * cannot be reserved (`new Worker` throws). An old generation below 8 MB runs out of memory before the worker
 * has loaded, so every call would fail. The heap limits get a bound far above any machine only so that a
 * typo (1e300) is refused rather than passed on.
 */
const RESOURCE_LIMITS: readonly (readonly [key: keyof ResourceLimits, min: number, max: number])[] =
  [
    ['maxYoungGenerationSizeMb', 1, 2 ** 20],
    ['maxOldGenerationSizeMb', 8, 2 ** 20],
    ['codeRangeSizeMb', 1, 2 ** 20],
    ['stackSizeMb', 2, 1024],
  ];
const RESOURCE_LIMIT_KEYS = RESOURCE_LIMITS.map(([key]) => key);

/** Runs a prepared target on a pool: how syncToAsync reaches a pool without a public method. */
export const runTarget = Symbol('runTarget');

/** The default pool size: leave one core to the event loop of the main thread. */
export function defaultPoolSize(): number {
  return Math.max(1, process.getBuiltinModule('node:os').availableParallelism() - 1);
}

/**
 * A bounded pool of worker threads that runs functions off the event loop. Workers start when work arrives
 * and are reused; calls beyond the pool's size wait in a FIFO queue. An idle worker never keeps the process
 * alive, and a worker that crashes (`process.exit`, an uncaught error, a resource limit) rejects the call it
 * was running with a `BridgeError` and is replaced.
 *
 * Most code uses the shared pool through {@link syncToAsync} and {@link runInExecutor}; create one for
 * work that needs its own size or limits.
 *
 * @example
 * ```ts
 * const pool = new WorkerPool({ size: 2 });
 * const sum = await pool.run((n: number) => { let s = 0; for (let i = 0; i < n; i++) s += i; return s; }, 1e7);
 * await pool.close();
 * ```
 */
export class WorkerPool {
  /** Most worker threads alive at once. */
  readonly size: number;
  private readonly resourceLimits: ResourceLimits | undefined;
  private readonly slots = new Set<Slot>();
  private readonly idle: Slot[] = [];
  private head: Job | undefined = undefined;
  private tail: Job | undefined = undefined;
  private queued = 0;
  private closed = false;
  private lastId = 0;

  /** @throws ConfigError when `size` is not a positive integer or an option is unknown. */
  constructor(options?: WorkerPoolOptions) {
    const check = new OptionsChecker(options).onlyKnown(['size', 'resourceLimits']);
    this.size = check.integer('size', defaultPoolSize(), 1, 1024);
    const limits = check.raw('resourceLimits');
    let resourceLimits: ResourceLimits | undefined;
    if (limits !== undefined && !isPlainObject(limits)) {
      check.fail('resourceLimits', 'an object of worker resource limits');
    } else if (limits !== undefined) {
      // Checked now: Node would refuse them only when the first worker starts, failing that call (or the
      // process) instead. Each read once, into a copy of our own: what was checked is what every worker gets.
      const inner = new OptionsChecker(limits, 'resourceLimits.').onlyKnown(RESOURCE_LIMIT_KEYS);
      resourceLimits = {};
      for (const [key, min, max] of RESOURCE_LIMITS) {
        const value = inner.numberBetween(key, undefined, min, max);
        if (value !== undefined) resourceLimits[key] = value;
      }
      check.problems.push(...inner.problems);
    }
    check.throwIfInvalid();
    this.resourceLimits = resourceLimits && Object.freeze(resourceLimits);
  }

  /** Worker threads alive now, busy or idle. */
  get threads(): number {
    return this.slots.size;
  }

  /** Calls running on a worker now. */
  get active(): number {
    return this.slots.size - this.idle.length;
  }

  /** Calls waiting for a free worker. */
  get pending(): number {
    return this.queued;
  }

  /**
   * Runs `fn(...args)` on a worker and resolves with its result (awaited there when it is a promise).
   *
   * @param fn - a self-contained function (sent as source) or a `{ module, export }` reference
   * @param args - arguments, copied to the worker by structured clone
   * @throws BridgeError when an argument cannot be copied, the function uses a captured variable, the worker
   *   crashes, or the pool is closed; an error thrown by `fn` is rethrown with its class and message
   */
  run<A extends unknown[], R>(
    fn: ((...args: A) => R) | ModuleFunction,
    ...args: A
  ): Promise<Awaited<R>> {
    let target: Target;
    try {
      target = toTarget(fn);
    } catch (error) {
      return Promise.reject(error);
    }
    return this[runTarget](target, args) as Promise<Awaited<R>>;
  }

  /** Runs a prepared target; the public entry points all end here. @internal */
  async [runTarget](target: Target, args: unknown[], timeout = Infinity): Promise<unknown> {
    let reply: Reply;
    try {
      reply = await this.dispatch(target, args, timeout);
    } catch (error) {
      // Made in an event handler: give it the frames of whoever awaited this call.
      Error.captureStackTrace(error as Error);
      throw error;
    }
    if (reply.ok) return reply.value;
    throw toCallerError(reply.error, target);
  }

  /**
   * Stops every worker. Queued calls and calls still running reject with a `BridgeError`; later calls too.
   * Not needed for the process to exit: idle workers never hold it open.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (let job = this.dequeue(); job !== undefined; job = this.dequeue()) {
      job.reject(
        new BridgeError(`The worker pool was closed before ${job.target.label} could start.`),
      );
    }
    const stopping: Promise<number>[] = [];
    for (const slot of this.slots) {
      slot.stopping = true;
      stopping.push(slot.worker.terminate());
    }
    await Promise.all(stopping);
  }

  /** Same as {@link WorkerPool.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private dispatch(target: Target, args: unknown[], timeout: number): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      if (this.closed) {
        reject(new BridgeError(`The worker pool is closed: ${target.label} cannot run.`));
        return;
      }
      const job: Job = {
        id: ++this.lastId,
        target,
        args,
        resolve,
        reject,
        timeout,
        timer: undefined,
        next: undefined,
      };
      const slot = this.idle.pop() ?? (this.slots.size < this.size ? this.spawn() : undefined);
      if (slot === undefined) this.enqueue(job);
      else if (!this.start(slot, job)) this.release(slot);
    });
  }

  private spawn(): Slot {
    const worker = startBridgeWorker({ resourceLimits: this.resourceLimits });
    const slot: Slot = {
      worker,
      known: new Set(),
      job: undefined,
      failure: undefined,
      stopping: false,
      expired: false,
    };
    worker.on('message', (reply: Reply) => this.onReply(slot, reply));
    worker.on('error', (error: unknown) => (slot.failure = error));
    worker.on('exit', (code: number) => this.onExit(slot, code));
    this.slots.add(slot);
    return slot;
  }

  /** Posts the job to the worker; false (the job rejected, the slot still free) when it cannot be sent. */
  private start(slot: Slot, job: Job): boolean {
    const { key, definition } = job.target;
    const { id, args } = job;
    const message = slot.known.has(key) ? { id, key, args } : { id, key, definition, args };
    try {
      slot.worker.postMessage(message);
    } catch (error) {
      job.reject(cloneFailure(job.target, job.args, error));
      return false;
    }
    slot.job = job;
    // Busy: someone awaits this call, so the process must live until it settles.
    slot.worker.ref();
    if (job.timeout !== Infinity) {
      // Running code cannot be interrupted: only stopping its thread ends it.
      job.timer = setTimer(() => {
        if (slot.job !== job) return;
        slot.expired = true;
        void slot.worker.terminate();
      }, job.timeout);
      unrefTimer(job.timer);
    }
    return true;
  }

  private onReply(slot: Slot, reply: Reply & { id?: unknown }): void {
    const job = slot.job;
    // The function itself may post to the parent port (progress, a library that detects a worker).
    if (job === undefined || reply?.id !== job.id) return;
    slot.job = undefined;
    if (job.timer !== undefined) clearTimer(job.timer);
    if (reply.loaded === true) slot.known.add(job.target.key);
    job.resolve(reply);
    this.release(slot);
  }

  private release(slot: Slot): void {
    for (let next = this.dequeue(); next !== undefined; next = this.dequeue()) {
      if (this.start(slot, next)) return;
    }
    slot.worker.unref();
    this.idle.push(slot);
  }

  private onExit(slot: Slot, code: number): void {
    this.slots.delete(slot);
    const at = this.idle.indexOf(slot);
    if (at !== -1) this.idle.splice(at, 1);
    const job = slot.job;
    slot.job = undefined;
    if (job !== undefined) {
      if (job.timer !== undefined) clearTimer(job.timer);
      const detail = slot.stopping
        ? 'was stopped because the pool was closed'
        : slot.expired
          ? `was stopped: the call ran past its ${job.timeout} ms timeout; a new worker takes its place`
          : slot.failure !== undefined
            ? `crashed (${failureText(slot.failure)}); a new worker takes its place`
            : `exited with code ${code}; a new worker takes its place`;
      job.reject(crashError(job.target, detail, slot.failure));
    }
    // Work queued behind the lost worker gets a new one.
    while (this.head !== undefined && this.slots.size < this.size && !this.closed) {
      const next = this.dequeue()!;
      let fresh: Slot;
      try {
        fresh = this.spawn();
      } catch (error) {
        next.reject(error as Error);
        continue;
      }
      if (!this.start(fresh, next)) this.release(fresh);
    }
  }

  private enqueue(job: Job): void {
    if (this.tail === undefined) this.head = job;
    else this.tail.next = job;
    this.tail = job;
    this.queued++;
  }

  private dequeue(): Job | undefined {
    const job = this.head;
    if (job === undefined) return undefined;
    this.head = job.next;
    if (this.head === undefined) this.tail = undefined;
    job.next = undefined;
    this.queued--;
    return job;
  }
}

// What a worker threw uncaught: usually an Error, but `throw 42` in a timer reaches the `error` event as 42.
function failureText(failure: unknown): string {
  return failure instanceof Error ? failure.message : describeValue(failure);
}
