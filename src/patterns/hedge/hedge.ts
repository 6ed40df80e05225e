import { callAbort, untilAborted } from '../../core/cancellation.js';
import { now } from '../../core/clock.js';
import { activeContext, runInContext } from '../../core/context.js';
import { DeadlineQueue, type DeadlineEntry } from '../../core/deadline-queue.js';
import { ConfigError, HedgeLostError, toError } from '../../core/errors.js';
import { EventEmitter } from '../../core/events.js';
import { LazyAbort } from '../../core/lazy-abort.js';
import type { LinkedQueue, QueueNode } from '../../core/linked-queue.js';
import { Invocation, type CallOptions, type Next, type Policy } from '../../core/policy.js';
import { isThenable } from '../../core/thenable.js';
import { OptionsChecker, isInstance, readEntry } from '../../core/validate.js';
import {
  resolveHedgeOptions,
  type HedgeBudget,
  type HedgeOptions,
  type ResolvedHedgeOptions,
} from './hedge.options.js';
import { LatencyQuantile } from './latency-quantile.js';
import { ignore } from '../../core/ignore.js';

/** Events of a {@link HedgePolicy}. */
export interface HedgeEvents {
  /** Extra attempt `attempt` (2 for the first hedge) was sent after waiting `delay` ms. */
  hedge: { attempt: number; delay: number };
  /** A call that sent hedges succeeded with attempt `attempt` (1: the first one won after all). */
  hedgeWon: { attempt: number };
}

/** Per-call options of {@link HedgePolicy.execute}. */
export type HedgeCallOptions = CallOptions;

const CALL_OPTION_KEYS = ['signal'] as const;

/*
 * Distinct delays with a queue (and a timer) of their own. A quantile delay moves, so older queues drain and are
 * dropped; when every one still holds calls, a call joins the queue that sends its hedge soonest after its delay.
 */
const MAX_QUEUES = 64;

/*
 * One hedged call: its attempts, and its place in the deadline queue of its delay while a hedge is due. Every
 * attempt runs with an abort of its own, a child of the call's, so the losers can be told they lost.
 */
class HedgedCall<I, T> implements DeadlineEntry {
  declare previous: QueueNode | undefined;
  declare next: QueueNode | undefined;
  declare queue: LinkedQueue<QueueNode> | undefined;
  declare expiresAt: number;
  /** The delay this call waits before its next hedge (a quantile delay may have moved since). */
  declare delay: number;
  declare sent: number;
  declare running: number;
  declare settled: boolean;
  declare lastError: unknown;
  declare readonly attempts: LazyAbort[];
  /** The deadline queue holding this call while a hedge is due. */
  declare deadlines: DeadlineQueue | undefined;
  declare resolve: (value: T) => void;
  declare reject: (error: unknown) => void;

  constructor(
    private readonly policy: HedgePolicy,
    private readonly run: Next<I, T>,
    private readonly invocation: I,
    private readonly abort: LazyAbort | undefined,
    private readonly outerAttempt: number,
  ) {
    this.previous = this.next = this.queue = undefined;
    this.expiresAt = Infinity;
    this.delay = 0;
    this.sent = this.running = 0;
    this.settled = false;
    this.lastError = undefined;
    this.attempts = [];
    this.deadlines = undefined;
    this.resolve = this.reject = ignore;
  }

  start(): Promise<T> {
    const promise = new Promise<T>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    const budget = this.policy.budget;
    if (budget !== undefined) deposit(budget);
    this.launch();
    if (!this.settled) this.policy.schedule(this);
    return promise;
  }

  /** The deadline queue found the delay passed with no attempt settled: send a hedge, if allowed. */
  expire(): void {
    if (this.settled) return;
    if (this.abort?.aborted) return this.finish(undefined, toError(this.abort.reason));
    const budget = this.policy.budget;
    let allowed: boolean | PromiseLike<boolean>;
    try {
      allowed = budget === undefined ? true : budget.withdraw();
    } catch {
      return; // a budget that cannot answer sends no hedge (and must not break the queue's timer)
    }
    if (allowed === true) this.hedge();
    else if (allowed !== false)
      void Promise.resolve(allowed).then(
        (granted) => granted === true && this.afterWait() && this.hedge(),
        () => undefined, // a budget that cannot answer sends no hedge
      );
  }

  // Still to be hedged after waiting for the budget: not settled, and not aborted by the caller meanwhile.
  private afterWait(): boolean {
    if (this.settled) return false;
    if (!this.abort?.aborted) return true;
    this.finish(undefined, toError(this.abort.reason));
    return false;
  }

  private hedge(): void {
    const attempt = this.sent + 1;
    if (this.policy.events.has('hedge'))
      this.policy.events.emit('hedge', { attempt, delay: this.delay });
    this.launch();
    if (!this.settled && this.sent <= this.policy.options.maxHedges) this.policy.schedule(this);
  }

  private launch(): void {
    const attempt = ++this.sent;
    const abort = new LazyAbort(this.abort);
    this.attempts.push(abort);
    this.running++;
    const started = now();
    let result: T | PromiseLike<T>;
    try {
      result = runInContext(
        { cancellation: abort, attempt: this.outerAttempt },
        this.run,
        this.invocation,
      );
      // Inside the try: a value whose `then` cannot be read fails the attempt, and must not throw out of the
      // hedge timer (which would stop the hedges of every call queued behind this one).
      if (isThenable(result)) {
        result.then(
          (value) => this.succeeded(attempt, started, value),
          (error: unknown) => this.failed(error),
        );
        return;
      }
    } catch (error) {
      this.failed(error);
      return;
    }
    this.succeeded(attempt, started, result);
  }

  private succeeded(attempt: number, started: number, value: T): void {
    if (this.settled) return;
    if (this.abort?.aborted) return this.finish(undefined, toError(this.abort.reason));
    this.policy.observe(now() - started);
    if (this.sent > 1 && this.policy.events.has('hedgeWon'))
      this.policy.events.emit('hedgeWon', { attempt });
    this.finish(attempt, undefined, value);
  }

  private failed(error: unknown): void {
    if (this.settled) return;
    this.running--;
    this.lastError = error;
    if (this.abort?.aborted) return this.finish(undefined, toError(this.abort.reason));
    // Hedges are sent for latency, not for failures (a retry outside does that): once every attempt sent has
    // failed, the call fails with the last error. A mistake in the code fails it at once: no attempt mends it.
    if (this.running === 0 || isConfigError(error)) this.finish(undefined, error);
  }

  private finish(winner: number | undefined, error: unknown, value?: T): void {
    this.settled = true;
    this.policy.unschedule(this);
    for (let i = 0; i < this.attempts.length; i++) {
      const abort = this.attempts[i];
      if (i + 1 !== winner && !abort.aborted && this.attempts.length > 1)
        abort.abort(new HedgeLostError(winner ?? 0));
      abort.release();
    }
    if (winner === undefined) this.reject(error);
    else this.resolve(value as T);
  }
}

// A budget of your own that cannot count a call loses the count: the call is sent all the same.
function deposit(budget: HedgeBudget): void {
  try {
    budget.deposit();
  } catch {
    // Lost: the call does not depend on its count.
  }
}

// An error whose class cannot be read (a revoked Proxy) is no ConfigError: looking must not throw from the
// attempt's reaction, where nothing would catch it.
function isConfigError(error: unknown): boolean {
  try {
    return error instanceof ConfigError;
  } catch {
    return false;
  }
}

/**
 * The hedging engine: sends the call, and while no attempt has succeeded, another copy after each `delay`, up to
 * `maxHedges` extra ones. The first success wins and every other attempt's signal aborts with a
 * {@link HedgeLostError}; a failure does not end the call while another attempt runs; when every attempt sent has
 * failed, the last error is thrown. Only hedge work that is safe to run twice (idempotent): a read, or a write
 * with an idempotency key.
 *
 * @example
 * ```ts
 * const policy = new HedgePolicy({ delay: 'p95', maxHedges: 1, fallbackDelay: '50ms' });
 * const body = await policy.execute((signal) => fetch(url, { signal }));
 * ```
 */
export class HedgePolicy implements Policy<HedgeEvents, HedgeCallOptions> {
  /** `'hedge'`. */
  readonly kind = 'hedge';
  /** The resolved options (durations in ms, defaults applied). */
  readonly options: ResolvedHedgeOptions;
  /** Typed events: `hedge`, `hedgeWon`. */
  readonly events = new EventEmitter<HedgeEvents>();
  /** The budget extra attempts draw on, once resolved (a registry resolves a budget's name). */
  readonly budget: HedgeBudget | undefined;
  private readonly latency: LatencyQuantile | undefined;
  // A call whose delay has no queue of its own joins one at no earlier a deadline than its latest, so every queue
  // stays in deadline order (its timer waits for its head).
  private readonly queues = new Map<number, DeadlineQueue>();

  /**
   * @param options - the hedge options; a budget given by name is resolved by a registry (configure the hedge
   *   there, or use `@Hedge`)
   * @throws ConfigError naming each invalid option
   */
  constructor(options: HedgeOptions) {
    const checker = new OptionsChecker(options);
    this.options = resolveHedgeOptions(checker);
    checker.throwIfInvalid();
    const budget = this.options.budget;
    if (typeof budget === 'string')
      throw ConfigError.invalid(
        'budget',
        'a RetryBudget instance (a budget name is resolved by a registry: configure the hedge there)',
        budget,
      );
    this.budget = budget;
    if (this.options.quantile !== undefined)
      this.latency = new LatencyQuantile(this.options.quantile);
  }

  /**
   * The delay before the next hedge now, in ms: the fixed delay, or the latency quantile (`fallbackDelay` until
   * `minSamples` calls have succeeded; `Infinity`, no hedge, without one).
   */
  delayFor(): number {
    const { delay, minSamples, fallbackDelay } = this.options;
    if (delay !== undefined) return delay;
    const latency = this.latency!;
    return latency.size < minSamples ? fallbackDelay : Math.ceil(latency.value());
  }

  /**
   * Runs `fn` hedged. `fn` receives the attempt's signal, which aborts with a {@link HedgeLostError} when another
   * attempt wins (and with the caller's reason when `options.signal` aborts).
   */
  execute<T>(
    fn: (signal: AbortSignal) => T | PromiseLike<T>,
    options?: HedgeCallOptions,
  ): Promise<T> {
    const checked = readEntry(fn, options, CALL_OPTION_KEYS);
    return checked instanceof ConfigError
      ? Promise.reject(checked)
      : this.executeWith(callWithSignal<T>, fn, checked);
  }

  /** Runs `next(invocation)` hedged: the policy contract's entry, which the decorator pipeline calls. */
  executeWith<I, T>(next: Next<I, T>, invocation: I, options?: HedgeCallOptions): Promise<T> {
    const signal = options?.signal;
    const outer = activeContext();
    if (signal?.aborted) return Promise.reject(toError(signal.reason));
    const abort = signal === undefined ? outer?.cancellation : callAbort(signal, outer)!;
    if (abort?.aborted) return Promise.reject(toError(abort.reason));
    const call = new HedgedCall(this, next, invocation, abort, outer?.attempt ?? 1);
    const promise = call.start();
    return signal === undefined ? promise : untilAborted(promise, signal, abort);
  }

  /**
   * Returns the policy to its initial state: the latency samples of a quantile delay are forgotten and the
   * hedge timers let go. Calls in flight go on with the attempts they have started, and send no more.
   */
  reset(): void {
    this.latency?.clear();
    for (const queue of this.queues.values())
      for (const entry of queue.drain())
        (entry as HedgedCall<unknown, unknown>).deadlines = undefined;
    this.queues.clear();
  }

  /** @internal Puts `call` in line for its next hedge (no timer of its own: one per distinct delay). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  schedule(call: HedgedCall<any, any>): void {
    const delay = this.delayFor();
    if (delay === Infinity) return;
    const time = now();
    const queue = this.queues.get(delay) ?? this.queueFor(delay, time);
    queue.observe(time); // before reading its latest deadline, which a clock step back moves
    // Later than now + delay only in a queue of another delay, when every queue holds calls.
    const expiresAt = queue.size === 0 ? time + delay : Math.max(time + delay, queue.latest);
    call.expiresAt = expiresAt;
    call.delay = expiresAt - time;
    call.deadlines = queue;
    queue.add(call, time);
  }

  // A queue for a delay that has none: a new one while there are fewer than MAX_QUEUES (after dropping the empty
  // ones), else the one whose latest deadline is nearest after now + delay (none later than it, when one can be).
  private queueFor(delay: number, time: number): DeadlineQueue {
    if (this.queues.size >= MAX_QUEUES)
      for (const [key, old] of this.queues) if (old.size === 0) this.queues.delete(key);
    if (this.queues.size < MAX_QUEUES) {
      const queue = new DeadlineQueue();
      this.queues.set(delay, queue);
      return queue;
    }
    const due = time + delay;
    let best: DeadlineQueue | undefined;
    for (const queue of this.queues.values()) {
      if (
        best === undefined ||
        (best.latest > due
          ? queue.latest < best.latest
          : queue.latest <= due && queue.latest > best.latest)
      )
        best = queue;
    }
    return best!;
  }

  /** @internal */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  unschedule(call: HedgedCall<any, any>): void {
    call.deadlines?.remove(call);
    call.deadlines = undefined;
  }

  /** @internal A successful attempt's latency, for a quantile delay. */
  observe(ms: number): void {
    // A wall clock that stepped back during the call (NTP) measured no latency: a negative sample would make the
    // quantile delay negative, hedging every call at once.
    if (ms >= 0) this.latency?.record(ms);
  }
}

function callWithSignal<T>(fn: (signal: AbortSignal) => T | PromiseLike<T>): T | PromiseLike<T> {
  return fn.length === 0
    ? (fn as () => T | PromiseLike<T>)()
    : fn(activeContext()!.cancellation!.signal);
}

/**
 * Wraps `fn` so each call is hedged: after `delay` with no answer another copy is sent, up to `maxHedges`, and the
 * first success wins. The wrapper keeps `fn`'s parameters and `this`. The attempt's signal, which aborts when
 * another attempt wins, comes as one more argument when `fn` declares more parameters than it was called with
 * (`(signal) => fetch(url, { signal })`), and as `currentSignal()` before the first `await`. The work must be safe
 * to run more than once.
 *
 * @example
 * ```ts
 * const get = hedge((signal: AbortSignal) => fetch(url, { signal }), { delay: '50ms', maxHedges: 1 });
 * const response = await get();
 * ```
 * @typeParam T - what `fn` resolves to
 * @typeParam F - the type of `fn`, whose parameters and `this` the wrapper keeps
 * @throws ConfigError at once when an option is invalid
 */
export function hedge<T>(
  fn: (signal: AbortSignal) => T | PromiseLike<T>,
  options: HedgeOptions | HedgePolicy,
): () => Promise<Awaited<T>>;
export function hedge<F extends (...args: never[]) => unknown>(
  fn: F,
  options: HedgeOptions | HedgePolicy,
): (this: ThisParameterType<F>, ...args: Parameters<F>) => Promise<Awaited<ReturnType<F>>>;
export function hedge(
  fn: (...args: never[]) => unknown,
  options: HedgeOptions | HedgePolicy,
): (...args: unknown[]) => Promise<unknown> {
  if (typeof fn !== 'function') throw ConfigError.invalid('fn', 'a function', fn);
  const apply = fn as (...args: unknown[]) => unknown;
  const policy = isInstance(options, HedgePolicy) ? options : new HedgePolicy(options);
  const call = (invocation: Invocation) => {
    const args = invocation.args as unknown[];
    // A parameter beyond the arguments given is the attempt's signal.
    return apply.apply(
      invocation.target,
      fn.length > args.length ? [...args, activeContext()!.cancellation!.signal] : args,
    );
  };
  return function hedged(this: unknown, ...args: unknown[]) {
    return policy.executeWith(call, new Invocation(this, args));
  };
}
