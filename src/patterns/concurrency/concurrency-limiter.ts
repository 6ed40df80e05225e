import { AsyncResource } from 'node:async_hooks';
import { onAbort } from '../../core/abort-listener.js';
import { callAbort, untilAborted } from '../../core/cancellation.js';
import { clearTimer, now, setTimer, type TimerHandle } from '../../core/clock.js';
import { toMs, type Duration } from '../../core/duration.js';
import { activeContext, runInContext, type CallContext } from '../../core/context.js';
import { DeadlineQueue, type DeadlineEntry } from '../../core/deadline-queue.js';
import {
  ConcurrencyLimitError,
  ConfigError,
  PolicyResetError,
  TimeoutError,
  toError,
} from '../../core/errors.js';
import { EventEmitter } from '../../core/events.js';
import type { LinkedQueue, QueueNode } from '../../core/linked-queue.js';
import { callThunk, type CallOptions, type Next, type Policy } from '../../core/policy.js';
import { isThenable } from '../../core/thenable.js';
import { OptionsChecker, readCallOptions, readEntry } from '../../core/validate.js';
import {
  resolveConcurrencyLimiterOptions,
  type ConcurrencyLimiterOptions,
  type ResolvedConcurrencyLimiterOptions,
} from './concurrency.options.js';
import {
  HeldPermit,
  LocalPermitStore,
  SUCCEEDED,
  type Permit,
  type PermitOutcome,
  type PermitStore,
} from './permit-store.js';
import { ignore } from '../../core/ignore.js';

/** Per-call options of {@link ConcurrencyLimiter.run} and {@link ConcurrencyLimiter.acquire}. */
export interface ConcurrencyCallOptions extends CallOptions {
  /**
   * Fail with `ConcurrencyLimitError` instead of waiting longer than this for a permit (0: never wait). It can
   * only shorten the wait: the limiter's own `maxWait`, when shorter, still applies.
   */
  readonly maxWait?: Duration;
}

/** Events of a {@link ConcurrencyLimiter}. */
export interface ConcurrencyLimiterEvents {
  /** A call found every permit taken and waits; `pending` counts the waiters, this one included. */
  queued: { pending: number };
  /** A call was refused with `ConcurrencyLimitError`: the queue was full, or it waited `maxWait`. */
  rejected: { reason: 'queueFull' | 'maxWait'; pending: number };
  /** The limit of an adaptive limiter moved from `from` to `to` (a fixed limit never moves). */
  limitChange: { from: number; to: number };
  /** A store of your own threw from `give()`: the call keeps its own outcome and the queue goes on. */
  callbackError: { error: unknown };
}

type Work = (invocation: never) => unknown;

const CALL_OPTION_KEYS = ['signal', 'maxWait'] as const;
// What `take()` answers when the store was asked and answers later.
const ASKED = Symbol('asked');

/*
 * A queued call. Every waiter of a limiter has the same maxWait, so they expire in arrival order: the limiter's
 * deadline queue is its FIFO too, and one timer serves the whole queue. A call that asked for a shorter wait
 * (`run(fn, { maxWait })`) has a timer of its own besides: only the calls that ask pay for it.
 */
class Waiter implements DeadlineEntry {
  declare previous: QueueNode | undefined;
  declare next: QueueNode | undefined;
  declare queue: LinkedQueue<QueueNode> | undefined;
  declare expiresAt: number;
  declare resolve: (value: unknown) => void;
  declare reject: (error: unknown) => void;
  declare unlinkSignal: (() => void) | undefined;
  /** The timer of a call's own, shorter maxWait. */
  declare deadline: TimerHandle | undefined;
  /** It will not wait for a permit to come back (maxWait 0): it only waits for a shared store's answer. */
  declare readonly asksOnce: boolean;
  /**
   * The caller's async context (AsyncLocalStorage stores), restored when the work starts: queued path only. An
   * `acquire()` needs none: its caller resumes in its own context when the permit promise resolves.
   */
  declare readonly resource: AsyncResource | undefined;

  constructor(
    private readonly onExpire: (waiter: Waiter) => void,
    /** The work to run once a permit is granted; undefined for `acquire()`, which gets a Permit. */
    readonly work: Work | undefined,
    readonly invocation: unknown,
    /** The call's policy context (signal, attempt), current when the work starts. */
    readonly context: CallContext | undefined,
    expiresAt: number,
    asksOnce: boolean,
  ) {
    this.previous = this.next = this.queue = undefined;
    this.expiresAt = expiresAt;
    this.asksOnce = asksOnce;
    this.resolve = this.reject = ignore;
    this.unlinkSignal = this.deadline = undefined;
    this.resource = work === undefined ? undefined : new AsyncResource('dspu.ConcurrencyLimiter');
  }

  expire(): void {
    this.onExpire(this);
  }

  /** It left the queue: lets go of what watched it (its caller's signal, its own deadline). */
  detach(): void {
    this.unlinkSignal?.();
    if (this.deadline !== undefined) clearTimer(this.deadline);
  }
}

/** The call's own maxWait in ms, or undefined; throws a ConfigError for a value that is not a duration. */
function callMaxWait(options: ConcurrencyCallOptions): number | undefined {
  const { maxWait } = options;
  return maxWait === undefined ? undefined : toMs(maxWait, 'maxWait');
}

/*
 * How work ended, for a store that measures. A call whose deadline passed failed with its TimeoutError, even when
 * its late work succeeded; a call whose caller gave up for another reason says nothing about the work.
 */
function failure(error: unknown, context: CallContext | undefined): PermitOutcome | undefined {
  const abort = context?.cancellation;
  if (abort?.aborted !== true) return { ok: false, error };
  return abort.reason instanceof TimeoutError ? { ok: false, error: abort.reason } : undefined;
}

function success(context: CallContext | undefined): PermitOutcome | undefined {
  const abort = context?.cancellation;
  return abort?.aborted === true ? failure(abort.reason, context) : SUCCEEDED;
}

/**
 * Bounds how many calls run at once; the others wait in a FIFO queue (O(1) per operation at any depth).
 * Beyond `maxQueue` waiters, or after waiting `maxWait`, a call is rejected with `ConcurrencyLimitError`.
 * A call that finds a permit free costs no timer, no `AbortController` and no `Error`. Permits come from a
 * {@link PermitStore}: this process's counter by default, or a store shared by a fleet (`dspu/redis`).
 *
 * @example
 * ```ts
 * const db = new ConcurrencyLimiter({ limit: 10, maxQueue: 1000, maxWait: '5s' });
 * const rows = await db.run(() => pool.query(sql));
 *
 * await using permit = await db.acquire();
 * await copyTable(); // the permit is released when the block ends
 * ```
 */
export class ConcurrencyLimiter implements Policy<
  ConcurrencyLimiterEvents,
  ConcurrencyCallOptions
> {
  /** `'concurrency'`. */
  readonly kind = 'concurrency';
  /** The resolved options (`maxWait` in ms, `Infinity` when unbounded). */
  readonly options: ResolvedConcurrencyLimiterOptions;
  /** Typed events: `queued`, `rejected`. */
  readonly events = new EventEmitter<ConcurrencyLimiterEvents>();
  /** Where permits come from. */
  readonly store: PermitStore;
  // The waiters, oldest first; they share maxWait, so this FIFO is also their deadline queue.
  private readonly waiters = new DeadlineQueue();
  // A shared store is answering for the head; nothing else may take meanwhile (FIFO).
  private asking = false;
  // The store woke the limiter while it was answering: an answer of "none free" may be out of date already.
  private wokenWhileAsking = false;
  // The pump's loop is running (see pump).
  private pumping = false;
  // Waiters queued that ask once (maxWait 0), or more: a hint that "none free" must refuse some, not a count.
  private askingOnce = 0;

  /**
   * @param options - the limiter options, or just the limit
   * @throws ConfigError naming each invalid option
   */
  constructor(options: ConcurrencyLimiterOptions | number) {
    const checker = new OptionsChecker(typeof options === 'number' ? { limit: options } : options);
    this.options = resolveConcurrencyLimiterOptions(checker);
    checker.throwIfInvalid();
    const store = checker.raw('store') as PermitStore | undefined;
    this.store = store ?? new LocalPermitStore(this.options.limit);
    this.store.watch?.(this.wake);
  }

  /** How many calls may run at once. */
  get limit(): number {
    return this.options.limit;
  }

  /** How many calls hold a permit now (in this process). */
  get active(): number {
    return this.store.active;
  }

  /** How many calls wait for a permit (in this process). */
  get pending(): number {
    return this.waiters.size;
  }

  /**
   * Runs `fn` once a permit is free and releases the permit when its promise settles. Resolves or rejects
   * like `fn`; rejects with `ConcurrencyLimitError` when the queue is full or the wait exceeds `maxWait`, and
   * at once with the signal's reason when `options.signal` aborts (the permit of a call already running is
   * held until its work settles: it still runs).
   */
  run<T>(fn: () => T | PromiseLike<T>, options?: ConcurrencyCallOptions): Promise<T> {
    const checked = readEntry(fn, options, CALL_OPTION_KEYS);
    return checked instanceof ConfigError
      ? Promise.reject(checked)
      : this.executeWith(callThunk<T>, fn, checked);
  }

  /** Runs `next(invocation)` under a permit: the policy contract's entry, which the pipeline calls. */
  executeWith<I, T>(next: Next<I, T>, invocation: I, options?: ConcurrencyCallOptions): Promise<T> {
    const outer = activeContext();
    if (options === undefined) return this.admit(next, invocation, outer) as Promise<T>;
    const { signal } = options;
    let maxWait: number | undefined;
    try {
      maxWait = callMaxWait(options);
    } catch (error) {
      return Promise.reject(error);
    }
    if (signal === undefined) return this.admit(next, invocation, outer, maxWait) as Promise<T>;
    if (signal.aborted) return Promise.reject(toError(signal.reason));
    const abort = callAbort(signal, outer)!;
    const context = { cancellation: abort, attempt: outer?.attempt ?? 1 };
    const admitted = this.admit(next, invocation, context, maxWait) as Promise<T>;
    return untilAborted(admitted, signal, abort);
  }

  /**
   * Waits for a permit and returns it; the caller must release it (`await using` does so).
   * Same rejections as {@link ConcurrencyLimiter.run}.
   *
   * @example
   * ```ts
   * await using permit = await limiter.acquire({ signal });
   * ```
   */
  acquire(given?: ConcurrencyCallOptions): Promise<Permit> {
    const options = readCallOptions(given, CALL_OPTION_KEYS);
    if (options instanceof ConfigError) return Promise.reject(options);
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(toError(signal.reason));
    let maxWait: number | undefined;
    try {
      maxWait = options === undefined ? undefined : callMaxWait(options);
    } catch (error) {
      return Promise.reject(error);
    }
    const outer = activeContext();
    if (signal === undefined)
      return this.admit(undefined, undefined, outer, maxWait) as Promise<Permit>;
    const abort = callAbort(signal, outer)!;
    const acquired = this.admit(undefined, undefined, { cancellation: abort, attempt: 1 }, maxWait);
    // A permit granted after the caller gave up goes straight back.
    acquired.then((permit) => signal.aborted && (permit as Permit).release(), ignore);
    return untilAborted(acquired as Promise<Permit>, signal, abort);
  }

  /**
   * Returns the limiter to its initial state: every queued call is rejected with {@link PolicyResetError}, the
   * queue's timer is let go, and a store that can (the in-memory one) forgets the permits it handed out, so a
   * call that never settled holds none. Work still running goes on: when it settles, its permit's release
   * frees one more (at most one extra call at once per call that was running at the reset).
   */
  reset(): void {
    const error = new PolicyResetError(`The concurrency limiter (limit ${this.limit})`);
    for (const entry of this.waiters.drain()) {
      const waiter = entry as Waiter;
      waiter.detach();
      waiter.reject(error);
    }
    this.store.reset?.();
  }

  /**
   * Runs the work now when a permit is free and nobody waits (FIFO), else queues it for at most `maxWait` (the
   * call's own) or the limiter's maxWait, whichever is shorter.
   */
  private admit(
    work: Work | undefined,
    invocation: unknown,
    context: CallContext | undefined,
    maxWait?: number,
  ) {
    const abort = context?.cancellation;
    if (abort?.aborted) return Promise.reject(toError(abort.reason));
    if (this.waiters.size === 0 && !this.asking) {
      let answer: unknown;
      try {
        answer = this.take();
      } catch (error) {
        return Promise.reject(toError(error)); // a store of your own that throws: this call fails, not the process
      }
      if (answer !== undefined && answer !== ASKED)
        return this.granted(answer, work, invocation, context);
      // When the store is asked, a call that will not wait still waits for the answer.
      return this.enqueue(work, invocation, context, maxWait);
    }
    const waiting = this.enqueue(work, invocation, context, maxWait);
    this.pump();
    return waiting;
  }

  /** Hands a taken permit to its call: runs the work holding it, or gives an `acquire()` caller its Permit. */
  private readonly granted = (
    ticket: unknown,
    work: Work | undefined,
    invocation: unknown,
    context: CallContext | undefined,
  ): Promise<unknown> => {
    if (work === undefined)
      return Promise.resolve(new HeldPermit(() => this.giveBack(ticket, undefined)));
    let result: unknown;
    let thenable: boolean;
    try {
      result =
        context === undefined
          ? work(invocation as never)
          : runInContext(context, work, invocation as never);
      // Inside the try: a `then` getter that throws (a revoked Proxy) fails the call as `await` would.
      thenable = isThenable(result);
    } catch (error) {
      this.giveBack(ticket, failure(error, context));
      return Promise.reject(error);
    }
    if (!thenable) {
      this.giveBack(ticket, SUCCEEDED);
      return Promise.resolve(result);
    }
    const measures = this.store.measures === true;
    // The common case, a counter's permit (its ticket is `true`) that measures nothing: two callbacks bound once,
    // no closure per call, and no `finally`, which costs two promises more (measured: 185 against 100 ns).
    if (ticket === true && !measures)
      return Promise.resolve(result).then(this.releasedValue, this.releasedError);
    return Promise.resolve(result).then(
      (value) => {
        this.giveBack(ticket, measures ? success(context) : undefined);
        return value;
      },
      (error: unknown) => {
        this.giveBack(ticket, measures ? failure(error, context) : undefined);
        throw error;
      },
    );
  };

  private giveBack(ticket: unknown, outcome: PermitOutcome | undefined): void {
    this.give(ticket, outcome);
    this.wake();
  }

  // The happy path's give-backs, written out rather than through give(): one call less per call.
  private readonly releasedValue = (value: unknown): unknown => {
    try {
      this.store.give(true);
    } catch (error) {
      this.storeThrew(error);
    }
    if (this.waiters.size > 0) this.pump();
    return value;
  };

  private readonly releasedError = (error: unknown): never => {
    try {
      this.store.give(true);
    } catch (storeError) {
      this.storeThrew(storeError);
    }
    if (this.waiters.size > 0) this.pump();
    throw error;
  };

  /**
   * Gives a permit back to the store. A store of your own that throws here must not take the call's outcome or
   * the queue's next turn with it: its error is a `callbackError` event.
   */
  private give(ticket: unknown, outcome: PermitOutcome | undefined): void {
    try {
      if (outcome === undefined) this.store.give(ticket);
      else this.store.give(ticket, outcome);
    } catch (error) {
      this.storeThrew(error);
    }
  }

  private storeThrew(error: unknown): void {
    if (this.events.has('callbackError')) this.events.emit('callbackError', { error });
  }

  private enqueue(
    work: Work | undefined,
    invocation: unknown,
    context: CallContext | undefined,
    callWait: number | undefined,
  ): Promise<unknown> {
    const { maxQueue } = this.options;
    const maxWait = Math.min(callWait ?? Infinity, this.options.maxWait);
    // A call that will not wait is refused when no permit is free, known now unless a shared store is still
    // answering: then it waits for the answer, and "none free" refuses it (noneFree).
    if (this.waiters.size >= maxQueue || (maxWait === 0 && !this.asking)) {
      return Promise.reject(this.refusal(this.waiters.size >= maxQueue ? 'queueFull' : 'maxWait'));
    }
    const shared = this.options.maxWait;
    // A limiter whose calls never wait has nothing to expire: "none free" refuses its waiters (noneFree).
    const expires = shared !== Infinity && shared !== 0;
    const time = expires ? now() : 0;
    const expiresAt = expires ? time + shared : Infinity;
    const waiter = new Waiter(this.expire, work, invocation, context, expiresAt, maxWait === 0);
    if (maxWait === 0) this.askingOnce++;
    const promise = new Promise<unknown>((resolve, reject) => {
      waiter.resolve = resolve;
      waiter.reject = reject;
    });
    this.waiters.add(waiter, time);
    if (maxWait < shared && maxWait > 0) {
      waiter.deadline = setTimer(() => {
        if (this.waiters.remove(waiter)) this.expired(waiter, maxWait);
      }, maxWait);
    }
    const abort = context?.cancellation;
    if (abort !== undefined) {
      // Its caller (or the enclosing policy) gave up: it leaves the queue at once, wherever it stands.
      const signal = abort.signal;
      waiter.unlinkSignal = onAbort(signal, () => this.leave(waiter, toError(signal.reason)));
    }
    if (this.events.has('queued')) this.events.emit('queued', { pending: this.waiters.size });
    return promise;
  }

  /** The error of a call refused without waiting, announced by a `rejected` event. */
  private refusal(reason: 'queueFull' | 'maxWait'): ConcurrencyLimitError {
    if (this.events.has('rejected'))
      this.events.emit('rejected', { reason, pending: this.waiters.size });
    return new ConcurrencyLimitError(
      reason === 'queueFull'
        ? `Concurrency limit ${this.limit} reached and the queue is full (${this.options.maxQueue} waiting)`
        : `Concurrency limit ${this.limit} reached and maxWait is 0`,
    );
  }

  /** No permit is free: the waiters that asked once leave (they do not wait for one to come back). */
  private noneFree(): void {
    if (this.askingOnce === 0) return;
    this.askingOnce = 0;
    // Taken out first, then refused: a `rejected` listener may make other waiters leave (their caller gives
    // up as it hears the news), which a walk along the queue would not survive.
    const refused: Waiter[] = [];
    for (const entry of this.waiters.entries()) {
      const waiter = entry as Waiter;
      if (waiter.asksOnce) refused.push(waiter);
    }
    for (const waiter of refused) {
      if (!this.waiters.remove(waiter)) continue;
      waiter.detach();
      waiter.reject(this.refusal('maxWait'));
    }
  }

  // Called by the deadline queue when a waiter has waited `maxWait` (it has already left the queue).
  private readonly expire = (waiter: Waiter): void => {
    this.expired(waiter, this.options.maxWait);
  };

  // A waiter that left the queue because it waited `waited` ms.
  private expired(waiter: Waiter, waited: number): void {
    waiter.detach();
    waiter.reject(
      new ConcurrencyLimitError(`No permit within ${waited} ms (concurrency limit ${this.limit})`),
    );
    if (this.events.has('rejected'))
      this.events.emit('rejected', { reason: 'maxWait', pending: this.waiters.size });
  }

  private leave(waiter: Waiter, error: Error): void {
    if (!this.waiters.remove(waiter)) return;
    waiter.detach();
    waiter.reject(error);
  }

  /**
   * A permit may have been freed (given back here, or elsewhere as the store says). While the store answers for
   * the head, the answer may already be out of date: remember to ask again if it is "none free".
   */
  private readonly wake = (): void => {
    if (this.asking) this.wokenWhileAsking = true;
    else this.pump();
  };

  /**
   * Hands free permits to waiters, oldest first; with a shared store, one question at a time. Work that settles
   * synchronously gives its permit back while this loop serves it: the loop's next turn takes that permit, so a
   * wake meanwhile need not (and must not) pump again, which would nest one stack frame per queued call.
   */
  private readonly pump = (): void => {
    if (this.pumping) return;
    this.pumping = true;
    try {
      this.serveQueue();
    } finally {
      this.pumping = false;
    }
  };

  private serveQueue(): void {
    while (!this.asking) {
      const head = this.waiters.oldest() as Waiter | undefined;
      if (head === undefined) return;
      let answer: unknown;
      try {
        answer = this.take();
      } catch (error) {
        this.leave(head, toError(error));
        continue;
      }
      if (answer === ASKED) return;
      if (answer === undefined) {
        this.noneFree();
        return;
      }
      this.serve(head, answer);
    }
  }

  /** A shared store's answer for the head of the queue. */
  /**
   * Takes a permit from the store: its ticket, `undefined` when none is free, or `ASKED` when the store answers
   * with a promise, which `answered` now waits for. Throws what the store throws, as a store of your own may.
   */
  private take(): unknown {
    const answer = this.store.take();
    if (!isThenable(answer)) return answer;
    this.answered(answer);
    return ASKED;
  }

  private answered(answer: PromiseLike<unknown>): void {
    this.asking = true;
    this.wokenWhileAsking = false;
    try {
      answer.then(this.onTicket, this.onStoreError);
    } catch (error) {
      this.asking = false; // a `then` that throws: no answer will come
      throw error;
    }
  }

  private readonly onTicket = (ticket: unknown): void => {
    this.asking = false;
    if (ticket === undefined) {
      // The store wakes us when a permit may be free; if it did while answering, the permit freed after the
      // store looked, and nothing else will say so: ask again.
      if (this.wokenWhileAsking) this.pump();
      else this.noneFree();
      return;
    }
    const head = this.waiters.oldest() as Waiter | undefined;
    // Everyone left while the store answered: the permit goes straight back.
    if (head === undefined) this.give(ticket, undefined);
    else this.serve(head, ticket);
    this.pump();
  };

  private readonly onStoreError = (error: unknown): void => {
    this.asking = false;
    const head = this.waiters.oldest() as Waiter | undefined;
    if (head !== undefined) this.leave(head, toError(error));
    this.pump();
  };

  private serve(waiter: Waiter, ticket: unknown): void {
    this.waiters.remove(waiter);
    waiter.detach();
    const { work, invocation, context, resource } = waiter;
    waiter.resolve(
      work === undefined
        ? this.granted(ticket, undefined, undefined, undefined)
        : resource!.runInAsyncScope(this.granted, undefined, ticket, work, invocation, context),
    );
  }
}
