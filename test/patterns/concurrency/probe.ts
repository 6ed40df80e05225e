/**
 * Instrumented tasks for concurrency tests: each records when it starts and settles, so a test can check the
 * peak number running at once, the start order, and what happened after a failure. Tasks wait on the
 * (faked) global setTimeout, so `clock.tickAsync` drives them.
 */
export class Probe {
  running = 0;
  peak = 0;
  /** Ids in the order the tasks started. */
  readonly started: number[] = [];
  /** Ids in the order the tasks settled. */
  readonly settled: number[] = [];
  /** Signals handed to tasks that declared a parameter, by id. */
  readonly signals = new Map<number, AbortSignal>();

  /** A thunk that runs `ms` milliseconds, then resolves with `id` (or rejects with `error`). */
  task(id: number, ms: number, error?: Error): () => Promise<number> {
    return () => this.work(id, ms, error);
  }

  /** Like {@link Probe.task}, but the thunk declares the signal parameter and records the signal. */
  taskWithSignal(id: number, ms: number, error?: Error): (signal: AbortSignal) => Promise<number> {
    return (signal) => {
      this.signals.set(id, signal);
      return this.work(id, ms, error);
    };
  }

  async work(id: number, ms: number, error?: Error): Promise<number> {
    this.running++;
    this.peak = Math.max(this.peak, this.running);
    this.started.push(id);
    try {
      await new Promise((resolve) => setTimeout(resolve, ms));
      if (error) throw error;
      return id;
    } finally {
      this.running--;
      this.settled.push(id);
    }
  }
}

/** An async generator of tasks that records how many it has handed out and whether it was closed. */
export async function* countedAsyncTasks<T>(
  tasks: readonly T[],
  counter: { pulled: number; closed?: boolean },
): AsyncGenerator<T, void, undefined> {
  try {
    for (const task of tasks) {
      await Promise.resolve();
      counter.pulled++;
      yield task;
    }
  } finally {
    counter.closed = true;
  }
}

/** Counts `new AbortController()` calls while installed (dspu looks the global up at call time). */
export function countAbortControllers(): { count: number; restore(): void } {
  const Original = globalThis.AbortController;
  const counter = {
    count: 0,
    restore: () => {
      globalThis.AbortController = Original;
    },
  };
  globalThis.AbortController = class extends Original {
    constructor() {
      super();
      counter.count++;
    }
  };
  return counter;
}
