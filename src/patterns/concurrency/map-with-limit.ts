import { currentSignal } from '../../core/context.js';
import { ConfigError } from '../../core/errors.js';
import { resolveMapOptions, type MapWithLimitOptions } from './concurrency.options.js';
import { LimitedRun, isItemSource, type ItemSource, type ItemStarter } from './limited-run.js';

/** The function {@link mapWithLimit} applies to each item; it may take the run's signal as 2nd parameter. */
export type LimitedMapper<I, R> = (item: I, signal: AbortSignal) => R | PromiseLike<R>;

const EMPTY: unique symbol = Symbol('empty slot');

type Slot<R> = R | typeof EMPTY;

/** A next() call waiting for a result. */
interface Reader<R> {
  resolve: (result: IteratorResult<R, void>) => void;
  reject: (error: unknown) => void;
}

/** What step() found: a result to hand over, nothing yet, or the error that ends the stream. */
const PENDING: unique symbol = Symbol('pending');
const FAILED: unique symbol = Symbol('failed');

/*
 * Results wait in a ring until the consumer takes them in input order. A task may start only while fewer
 * than `limit` results are started-but-untaken, so memory stays bounded whatever the source's length and
 * however slowly the consumer reads; a slow head task holds the others back (ordered output).
 *
 * The run is read through a hand-written iterator rather than an async generator: a generator's return()
 * waits behind a pending next(), and that next() may wait for tasks that end only when the run aborts.
 */
class StreamRun<I, R> extends LimitedRun<I, R> {
  // Slot `head` holds result number `taken`, the next ones follow. A power of two long, doubled when a result
  // lands beyond it: it holds what is in flight and waiting, so a huge limit allocates no more than that.
  private ring: Slot<R>[] = [EMPTY];
  private head = 0;
  private begun = false;
  /** The consumer has seen the end (done, the error, or its own return()): every later next() is done. */
  private done = false;
  private finished = false;
  private failure: { error: unknown } | undefined;
  private readonly readers: Reader<R>[] = [];

  constructor(
    source: ItemSource<I>,
    start: ItemStarter<I, R>,
    limit: number,
    signal?: AbortSignal,
  ) {
    super(source, start, limit, signal, limit, undefined);
  }

  protected onValue(index: number, value: R): void {
    const offset = index - this.taken;
    if (offset >= this.ring.length) this.grow(offset);
    this.ring[(this.head + offset) & (this.ring.length - 1)] = value;
    if (offset === 0 && this.readers.length > 0) this.serve();
  }

  protected onError(_index: number, error: unknown): void {
    this.stop(error);
  }

  protected onComplete(): void {
    this.finished = true;
    this.serve();
  }

  protected onStop(error: unknown): void {
    this.failure = { error };
    this.serve();
  }

  next(): Promise<IteratorResult<R, void>> {
    if (!this.begun && !this.done) {
      this.begun = true;
      this.begin();
    }
    if (this.readers.length === 0) {
      const step = this.step();
      if (step === FAILED) return Promise.reject(this.failure!.error);
      if (step !== PENDING) return Promise.resolve(step);
    }
    return new Promise((resolve, reject) => this.readers.push({ resolve, reject }));
  }

  /** Ends the stream at once: the work stops, pending reads end as done, the source is closed. */
  async return(value?: void | PromiseLike<void>): Promise<IteratorResult<R, void>> {
    this.close();
    await this.sourceClosed;
    return { value: await value, done: true };
  }

  async throw(error: unknown): Promise<IteratorResult<R, void>> {
    this.close();
    await this.sourceClosed;
    throw error;
  }

  private close(): void {
    if (this.done) return;
    this.done = true;
    if (this.begun && !this.ended) this.stop(closedEarly());
    else this.serve();
  }

  /** What the next read gets now. The error is handed out once; then the stream is done. */
  private step(): IteratorResult<R, void> | typeof PENDING | typeof FAILED {
    if (this.done) return { value: undefined, done: true };
    if (this.finished && this.failure === undefined) {
      // A completed run no longer listens: what it left for the consumer must not outlive an abort either.
      const error = this.abortedOutside();
      if (error !== undefined) this.failure = { error };
    }
    if (this.failure !== undefined) {
      this.done = true;
      return FAILED;
    }
    const ring = this.ring;
    const value = ring[this.head];
    if (value !== EMPTY) {
      ring[this.head] = EMPTY;
      this.head = (this.head + 1) & (ring.length - 1);
      this.tookOne(); // lets a worker start the next task while the consumer handles this result
      return { value, done: false };
    }
    if (!this.finished) return PENDING;
    this.done = true;
    return { value: undefined, done: true };
  }

  /** Answers waiting reads, oldest first, while there is something to answer with. */
  private serve(): void {
    const readers = this.readers;
    while (readers.length > 0) {
      // Out of the line before step(): taking a result may start a pull, and a source that throws at once
      // stops the run, which serves the readers after this one from within.
      const reader = readers.shift()!;
      const step = this.step();
      if (step === PENDING) {
        readers.unshift(reader);
        return;
      }
      if (step === FAILED) reader.reject(this.failure!.error);
      else reader.resolve(step);
    }
  }

  private grow(offset: number): void {
    const old = this.ring;
    let size = old.length * 2;
    while (size <= offset) size *= 2;
    const ring = new Array<Slot<R>>(size).fill(EMPTY);
    for (let i = 0; i < old.length; i++) ring[i] = old[(this.head + i) & (old.length - 1)];
    this.ring = ring;
    this.head = 0;
  }
}

/** What {@link mapWithLimit} returns: the run's iterator, without the run's own members. */
class MapStream<I, R> implements AsyncGenerator<R, void, undefined> {
  constructor(private readonly run: StreamRun<I, R>) {}

  next(): Promise<IteratorResult<R, void>> {
    return this.run.next();
  }

  return(value?: void | PromiseLike<void>): Promise<IteratorResult<R, void>> {
    return this.run.return(value);
  }

  throw(error: unknown): Promise<IteratorResult<R, void>> {
    return this.run.throw(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.run.return();
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
 * argument and `currentSignal()`) aborts with that error, and iteration throws it. An abort of
 * `options.signal`, or of the enclosing call (a timeout around the loop, `withSignal`), stops the work the
 * same way at once: the next read throws the abort's reason, and no result reaches the loop after it.
 *
 * Leaving the loop early (`break`, or `return()` on the iterator, even while a `next()` is pending) stops the
 * work at once, ends pending reads as done and closes the source: when the loop exits the source has run its
 * `finally` blocks, unless it was still producing an item the stream asked for ahead of the consumer; it then
 * closes once it yields that item, and the loop does not wait for it (the item may never come).
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
    arity(fn) >= 2 ? (item) => fn(item, currentSignal()) : (fn as ItemStarter<I, R>);
  return new MapStream(new StreamRun<I, R>(source, start, limit, signal));
}

// A function behind a revoked Proxy cannot tell its length: it fails when called, as any throwing mapper does.
function arity(fn: (...args: never[]) => unknown): number {
  try {
    return fn.length;
  } catch {
    return 0;
  }
}
