import { currentSignal } from '../../core/context.js';
import { ConfigError } from '../../core/errors.js';
import { resolveMapOptions, type MapWithLimitOptions } from './concurrency.options.js';
import { LimitedRun, isItemSource, type ItemSource, type ItemStarter } from './limited-run.js';

/** The function {@link mapWithLimit} applies to each item; it may take the run's signal as 2nd parameter. */
export type LimitedMapper<I, R> = (item: I, signal: AbortSignal) => R | PromiseLike<R>;

const EMPTY: unique symbol = Symbol('empty slot');

/*
 * Results wait in a ring of `limit` slots until the consumer takes them in input order. A task may start only
 * while fewer than `limit` results are started-but-untaken, so memory stays bounded whatever the source's
 * length and however slowly the consumer reads; a slow head task holds the others back (ordered output).
 */
class StreamRun<I, R> extends LimitedRun<I, R> {
  // Grown on demand up to `limit`: a huge limit (any positive integer is valid) must not allocate its ring.
  private readonly slots: (R | typeof EMPTY)[] = [];
  private finished = false;
  private failure: { error: unknown } | undefined;
  private wake: (() => void) | undefined;

  constructor(
    source: ItemSource<I>,
    start: ItemStarter<I, R>,
    limit: number,
    signal?: AbortSignal,
  ) {
    super(source, start, limit, signal, limit, undefined);
  }

  protected onValue(index: number, value: R): void {
    const slot = index % this.limit;
    while (this.slots.length < slot) this.slots.push(EMPTY);
    this.slots[slot] = value;
    if (index === this.taken) this.wakeConsumer();
  }

  protected onError(_index: number, error: unknown): void {
    this.stop(error);
  }

  protected onComplete(): void {
    this.finished = true;
    this.wakeConsumer();
  }

  protected onStop(error: unknown): void {
    this.failure = { error };
    this.wakeConsumer();
  }

  private wakeConsumer(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  async *results(): AsyncGenerator<R, void, undefined> {
    try {
      this.begin();
      for (;;) {
        if (this.failure) throw this.failure.error;
        const slot = this.taken % this.limit;
        const value = slot < this.slots.length ? this.slots[slot] : EMPTY;
        if (value !== EMPTY) {
          this.slots[slot] = EMPTY;
          this.tookOne(); // lets a worker start the next task while the consumer handles this result
          yield value;
        } else if (this.finished) {
          return;
        } else {
          await new Promise<void>((resolve) => (this.wake = resolve));
        }
      }
    } finally {
      // The consumer left early (break, return, throw): stop the work it will never read.
      if (!this.ended) this.stop(closedEarly());
    }
  }
}

function closedEarly(): Error {
  const error = new Error('mapWithLimit: the consumer stopped iterating');
  error.name = 'AbortError';
  return error;
}

/**
 * Applies `fn` to each item of `source` with at most `limit` calls at once, yielding the results in input
 * order as they become available: the streaming form of {@link gatherWithLimit}. Items are pulled lazily and
 * at most `limit` results wait for the consumer, so a stream of any length runs in constant memory.
 *
 * Fail-fast: on the first rejection no new call starts, the signal handed to running calls (their 2nd
 * argument and `currentSignal()`) aborts with that error, and iteration throws it. Leaving the loop early
 * (`break`) stops the work the same way and closes the source. An abort of `options.signal` ends iteration
 * with the signal's reason.
 *
 * @example
 * ```ts
 * const users = mapWithLimit(userIdStream, (id, signal) => fetchUser(id, { signal }), { limit: 10 });
 * for await (const user of users) await save(user);
 * ```
 * @throws ConfigError (synchronously) when the options are invalid, `source` is not iterable or `fn` is not a
 *   function
 */
export function mapWithLimit<I, R>(
  source: ItemSource<I>,
  fn: LimitedMapper<I, R>,
  options: MapWithLimitOptions,
): AsyncGenerator<R, void, undefined> {
  const { limit, signal } = resolveMapOptions(options);
  if (!isItemSource(source))
    throw ConfigError.invalid('source', 'an array, an iterable or an async iterable', source);
  if (typeof fn !== 'function') throw ConfigError.invalid('fn', 'a function', fn);
  // Decided once: a mapper that declares no signal parameter must not create an AbortController. The
  // mapper starts with the run as the current context, so currentSignal() is the run's shared signal.
  const start: ItemStarter<I, R> =
    fn.length >= 2 ? (item) => fn(item, currentSignal()) : (fn as ItemStarter<I, R>);
  return new StreamRun<I, R>(source, start, limit, signal).results();
}
