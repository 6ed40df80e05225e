import { randomUUID } from 'node:crypto';
import {
  bindContext,
  CircuitBreaker,
  callerSignal,
  CircuitBreakerError,
  CircuitState,
  checkAll,
  EventEmitter,
  OptionsChecker,
  retryAfterOf,
  splitOptions,
  toError,
  windowMetrics,
  withSignal,
  type CircuitBreakerCallOptions,
  type CircuitBreakerOptions,
  type CircuitSnapshot,
  type Duration,
  type ResolvedCircuitBreakerOptions,
  type WindowMetrics,
} from '../index.js';
import { ABANDON, ADMIT, FORCE, REPORT } from './circuit-scripts.js';
import {
  checkName,
  REDIS_STORE_OPTION_KEYS,
  RedisLink,
  wholeMs,
  type RedisClient,
  type RedisStoreEvents,
  type RedisStoreOptions,
} from './redis-link.js';
import { SUBSCRIBE_ON_FIRST_USE, Subscription } from './subscription.js';
import { ReportBatch, type Outcome } from './report-batch.js';

/** Options of {@link RedisCircuitBreaker}: the breaker's own, plus where and how it is shared. */
export interface RedisCircuitBreakerOptions<T = unknown>
  extends CircuitBreakerOptions<T>, RedisStoreOptions {
  /** How long a half-open trial holds its fleet-wide slot if its process never reports back. Default `'60s'`. */
  trialLease?: Duration;
}

// The mark withRedisStores sets travels with the Redis options, which know it.
const REDIS_KEYS = [...REDIS_STORE_OPTION_KEYS, 'trialLease', SUBSCRIBE_ON_FIRST_USE];

type Reply = [
  verdict: string,
  state: CircuitState,
  gen: number,
  remaining: number,
  isolated: number,
  // REPORT only: the window's totals after the batch.
  calls?: number,
  failed?: number,
  slow?: number,
];

const EMPTY = { calls: 0, failed: 0, slow: 0 };

// The start time of a call that is not timed (no slowCallDuration).
const NOT_TIMED = -1;

/**
 * The suffix of the window's key: it names the window's shape, so processes sharing the circuit with different
 * `slidingWindow` options never read one another's ring or buckets as their own.
 */
function windowKey({ rate }: ResolvedCircuitBreakerOptions): string {
  const window = rate?.window;
  if (window === undefined) return 'window';
  return 'calls' in window ? `window:${window.calls}` : `window:${window.time}ms/${window.buckets}`;
}

/**
 * Checks every option at once (the breaker's, the store's, the trial lease) and the name: one ConfigError lists
 * every problem. Each option is read once, into the copies the breaker and the link are built from.
 */
function checkOptions(
  client: RedisClient,
  name: unknown,
  options: unknown,
): [breaker: CircuitBreakerOptions, link: RedisLink, leaseMs: number] {
  const [breakerOptions, redisOptions] = splitOptions(options, REDIS_KEYS);
  const [, link, , leaseMs] = checkAll(
    () => new CircuitBreaker(breakerOptions as CircuitBreakerOptions),
    () => new RedisLink(client, redisOptions, ['trialLease', SUBSCRIBE_ON_FIRST_USE]),
    () => checkName(name),
    () => {
      const o = new OptionsChecker(redisOptions);
      const ms = wholeMs(o, 'trialLease', 60_000);
      o.throwIfInvalid();
      return ms;
    },
  );
  return [breakerOptions as CircuitBreakerOptions, link, leaseMs];
}

/**
 * A {@link CircuitBreaker} whose state and counters live in Redis, shared by every process using the same
 * name, in either mode (consecutive failures, or rate mode with its sliding window kept in Redis). Transitions
 * are atomic Lua scripts; at most `halfOpenMaxCalls` trials run at once across the fleet. A closed call runs at
 * once and reports its outcome afterwards without delaying its result (the reports of one tick share one
 * script call); an open circuit is
 * known locally until its `retryAfter` (and learned through pub/sub as soon as any process opens or resets it),
 * so a rejected call costs no round trip. It holds a subscriber connection (a duplicate of `client`): call
 * {@link RedisCircuitBreaker.close} when done, or quit `client`, which ends it too. Use it wherever a breaker
 * instance goes: `@CircuitBreaker(shared)`, or as a registry entry.
 *
 * @example
 * ```ts
 * const payments = new RedisCircuitBreaker(redis, 'payments', { failureThreshold: 5, timeout: '30s' });
 * class Checkout {
 *   @CircuitBreaker(payments)
 *   async charge(order: Order) { return psp.charge(order); }
 * }
 * ```
 */
export class RedisCircuitBreaker extends CircuitBreaker {
  /** Fault events of the shared store: `storeError`, `fallback`, `recovered`. */
  readonly storeEvents: EventEmitter<RedisStoreEvents>;
  private readonly link: RedisLink;
  private readonly keys: string[];
  private readonly channel: string;
  private readonly leaseMs: number;
  private readonly changes: Subscription;
  private readonly reports: ReportBatch;
  // Rate mode with slowCallDuration: calls are timed.
  private readonly slowMs: number;
  // The window's totals as the last REPORT answered them, and when.
  private totals = { calls: 0, failed: 0, slow: 0 };
  private totalsAt = 0;
  // How many forced moves (reset, isolate) this process asked for: only the newest is sent again after a failure.
  private forcedMoves = 0;
  // False from the moment the subscriber is (again) in place until Redis next tells this process the state.
  private viewConfirmed = true;
  // What this process last learned of the shared circuit; gen -1 means "not yet asked".
  private view = {
    state: CircuitState.CLOSED as CircuitState,
    gen: -1,
    openUntil: 0,
    isolated: false,
  };

  /**
   * @param client - an ioredis client; a duplicate of it subscribes to the circuit's changes
   * @param name - processes using the same name share one circuit
   * @throws ConfigError naming each invalid option
   */
  constructor(client: RedisClient, name: string, options?: RedisCircuitBreakerOptions<never>) {
    const [breakerOptions, link, leaseMs] = checkOptions(client, name, options);
    super(breakerOptions);
    this.link = link;
    this.storeEvents = this.link.events;
    this.keys = ['circuit', 'trials', 'done', windowKey(this.options)].map((suffix) =>
      this.link.key(name, suffix),
    );
    this.channel = this.link.key(name, 'changes');
    this.leaseMs = leaseMs;
    this.slowMs = this.options.rate?.slowCallDuration ?? Infinity;
    this.reports = new ReportBatch(this.options, this.link.timeoutMs, this.leaseMs, (args, trial) =>
      this.script(REPORT, args).catch(() => {
        // A trial's report frees its slot: send it until Redis answers rather than hold the slot a whole lease.
        if (trial) void this.link.insist(REPORT, this.keys, this.argv(args), this.leaseMs);
      }),
    );
    this.changes = new Subscription(
      client,
      this.channel,
      (message) => this.heard(message),
      options,
      // What was published before the subscriber was (again) in place was missed: a reset among it would leave
      // a cached open circuit rejecting calls, an isolated one for good. Ask Redis before trusting the cache.
      () => (this.viewConfirmed = false),
    );
  }

  /** The state this process knows; an OPEN circuit whose timeout has passed reads as HALF_OPEN. */
  override get state(): CircuitState {
    this.changes.open();
    if (this.local) return super.state;
    const { view } = this;
    if (view.state === CircuitState.OPEN && !view.isolated && Date.now() >= view.openUntil)
      return CircuitState.HALF_OPEN;
    return view.state;
  }

  /** Like {@link RedisCircuitBreaker.state}, without moving the local breaker that serves while Redis is down. */
  override peekState(): CircuitState {
    return this.local ? super.peekState() : this.state;
  }

  /**
   * What the shared window held when Redis last answered one of this process's reports (this process's own
   * window while its local breaker serves): the calls, failed and slow calls, and the rates in percent. A time
   * window with no report for its whole duration reads empty.
   */
  override metrics(): WindowMetrics {
    if (this.local) return super.metrics();
    const window = this.options.rate?.window;
    // Nothing reported for a whole time window: every call it held has aged out since.
    if (window !== undefined && 'time' in window && Date.now() - this.totalsAt >= window.time)
      return windowMetrics(EMPTY);
    return windowMetrics(this.totals);
  }

  /** Runs `next(invocation)` through the shared breaker: the policy contract's entry. */
  override executeWith<A, T>(
    fn: (arg: A) => T | PromiseLike<T>,
    arg: A,
    options?: CircuitBreakerCallOptions,
  ): Promise<T> {
    const signal = options?.signal;
    // A caller's signal travels in the call context, which every path below keeps for the call.
    if (signal !== undefined) return withSignal(signal, () => this.shared(fn, arg, signal));
    return this.shared(fn, arg, undefined);
  }

  /**
   * Runs a call through the shared circuit. Once the caller's `signal` aborts, nothing more of the call runs or
   * counts: work admitted after it does not start, its outcome is not reported, and a trial frees its slot at once.
   */
  private shared<A, T>(
    fn: (arg: A) => T | PromiseLike<T>,
    arg: A,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    this.changes.open();
    if (!this.link.tryRedis()) return this.degraded(fn, arg, signal);
    const { view } = this;
    // A cached rejection sends nothing.
    if (view.gen >= 0 && view.state === CircuitState.CLOSED)
      return this.runCall(fn, arg, view.gen, '', signal);
    const cachedOpen = this.viewConfirmed && (view.isolated || Date.now() < view.openUntil);
    if (view.state === CircuitState.OPEN && cachedOpen && this.link.healthy)
      return this.rejected(CircuitState.OPEN, view.isolated ? 0 : view.openUntil - Date.now());
    const token = randomUUID();
    // The call starts after the round trip: keep the caller's context (currentSignal()) for it.
    const start = bindContext(fn);
    // From here the call watches every abort that reaches it: its caller's signal, and one that comes through the
    // call context (withSignal, an outer timeout, a retry or hedge that gives up). Read only on this path, which
    // takes a round trip anyway: the context's signal costs an AbortController.
    const watched = callerSignal() ?? signal;
    return this.script(ADMIT, [this.options.halfOpenMaxCalls, token]).then(
      (reply) => {
        if (watched?.aborted === true) return this.admittedTooLate(reply, token, watched);
        if (reply[0] === 'closed') return this.runCall(start, arg, reply[2], '', watched);
        if (reply[0] === 'trial') return this.runCall(start, arg, reply[2], token, watched);
        return this.rejected(reply[1], reply[3]);
      },
      (error: unknown) => {
        // Redis may still run the ADMIT (it was stalled, not gone): its trial slot must not go to nobody.
        void this.link.insist(ABANDON, this.keys, this.argv([token]), this.leaseMs);
        return this.degraded(start, arg, signal, error);
      },
    );
  }

  /** The caller gave up while its call was being admitted: the work never starts, and a trial slot goes back. */
  private admittedTooLate<T>(reply: Reply, token: string, signal: AbortSignal): Promise<T> {
    if (reply[0] === 'trial') this.reports.add('ignored', reply[2], token, false, 0);
    return Promise.reject(toError(signal.reason));
  }

  /** Forces the shared circuit CLOSED with counters cleared; every process learns it through pub/sub. */
  override async reset(): Promise<void> {
    this.changes.open();
    await super.reset();
    await this.force('reset').catch((error: unknown) => {
      // The error was reported as a storeError event; only a fail-closed breaker makes it the caller's.
      if (this.link.mode === 'fail-closed') throw error;
    });
  }

  /** Forces the shared circuit OPEN until {@link RedisCircuitBreaker.reset}, for every process. */
  override isolate(): void {
    this.changes.open();
    // The local breaker only serves while Redis is down; isolating it otherwise would report the move twice.
    if (this.local) super.isolate();
    // Known at once, between the generation Redis last gave and the one the FORCE makes: an answer to a command
    // sent before (a report's, from the generation it ran in) must not undo it before the FORCE's answer arrives.
    // From the last whole generation: isolating again must not climb past what the FORCE (sent once) will make.
    this.learn(['ok', CircuitState.OPEN, Math.floor(Math.max(this.view.gen, 0)) + 0.5, 0, 1]);
    this.force('isolate').catch(() => undefined);
  }

  /**
   * Forces a move on the shared circuit. It was asked for, so a command that failed is sent again until Redis
   * answers (it runs once, by its id), unless a newer forced move of this process took its place: a reset()
   * that failed during an outage must not undo an isolate() that followed it.
   */
  private force(move: 'reset' | 'isolate'): Promise<Reply> {
    const args = [move, randomUUID()];
    const number = ++this.forcedMoves;
    return this.script(FORCE, args).catch((error: unknown) => {
      const wanted = () => this.forcedMoves === number;
      void this.link.insist(FORCE, this.keys, this.argv(args), this.leaseMs, wanted);
      throw error;
    });
  }

  /** The state this process knows, as plain data (the shared record lives in Redis). */
  override toJSON(): CircuitSnapshot {
    if (this.local) return super.toJSON();
    const { view } = this;
    const open = view.state === CircuitState.OPEN;
    // Redis tells this process when the open time ends, not when it began (a backed-off open time is longer
    // than `timeout`): the snapshot says "open from now for what is left", which ends when the shared one does.
    const now = Date.now();
    return {
      state: view.state,
      failures: 0,
      successes: 0,
      openedAt: open ? now : null,
      isolated: view.isolated,
      openMs: open ? Math.max(0, view.openUntil - now) : null,
    };
  }

  /** Stops listening for changes of the shared circuit (closes the subscriber connection for good). */
  close(): Promise<void> {
    return this.changes.close();
  }

  private get local(): boolean {
    return this.link.mode === 'local' && !this.link.healthy;
  }

  private runCall<A, T>(
    fn: (arg: A) => T | PromiseLike<T>,
    arg: A,
    gen: number,
    token: string,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    const started = this.slowMs === Infinity ? NOT_TIMED : Date.now();
    // A trial whose caller gives up frees its fleet-wide slot at once: its work may never end.
    const stopWatching =
      signal !== undefined && token !== '' ? this.freeSlotOnAbort(signal, gen, token) : undefined;
    let result: T | PromiseLike<T>;
    try {
      result = fn(arg);
    } catch (error) {
      this.reportOutcome(this.outcomeOf(error), gen, token, started, retryAfterOf(error), signal);
      stopWatching?.();
      return Promise.reject(error);
    }
    return Promise.resolve(result).then(
      (value) => {
        stopWatching?.();
        this.reportOutcome(this.resultOutcome(value), gen, token, started, 0, signal);
        return value;
      },
      (error: unknown) => {
        stopWatching?.();
        this.reportOutcome(this.outcomeOf(error), gen, token, started, retryAfterOf(error), signal);
        throw error;
      },
    );
  }

  /** Reports how a call ended, unless its caller gave up on it: its outcome then says nothing it waited for. */
  private reportOutcome(
    outcome: Outcome,
    gen: number,
    token: string,
    started: number,
    retryAfterMs: number,
    signal: AbortSignal | undefined,
  ): void {
    if (signal?.aborted === true) return;
    this.reports.add(outcome, gen, token, this.slow(started), retryAfterMs);
  }

  /** Reports the trial `token` as ignored (freeing its slot) if `signal` aborts first; returns the unwatch. */
  private freeSlotOnAbort(signal: AbortSignal, gen: number, token: string): () => void {
    const leave = (): void => this.reports.add('ignored', gen, token, false, 0);
    signal.addEventListener('abort', leave, { once: true });
    return () => signal.removeEventListener('abort', leave);
  }

  /** Rate mode with `slowCallDuration`: whether a call that started at `started` was slow. */
  private slow(started: number): boolean {
    return started !== NOT_TIMED && Date.now() - started > this.slowMs;
  }

  private outcomeOf(error: unknown): Outcome {
    return this.counts(error) ? 'failure' : 'ignored';
  }

  private resultOutcome(value: unknown): Outcome {
    return this.isFailureResult(value) ? 'failure' : 'success';
  }

  private argv(args: readonly (string | number)[]): (string | number)[] {
    return [this.options.timeout, this.channel, this.leaseMs, ...args];
  }

  private script(script: typeof ADMIT, args: readonly (string | number)[]): Promise<Reply> {
    return this.link.run(script, this.keys, this.argv(args)).then(
      (reply) => {
        this.link.succeeded();
        this.learn(reply as Reply);
        return reply as Reply;
      },
      (error: unknown) => {
        throw this.link.failed(error);
      },
    );
  }

  private heard(message: string): void {
    const [state, gen, remaining, isolated] = message.split(' ');
    this.learn(['heard', state as CircuitState, Number(gen), Number(remaining), Number(isolated)]);
  }

  /** Adopts what Redis said, if it is newer than what this process knew, and tells listeners of a change. */
  private learn([, state, gen, remaining, isolated, calls, failed, slow]: Reply): void {
    const { view } = this;
    if (gen < view.gen) return;
    this.viewConfirmed = true;
    if (calls !== undefined) {
      this.totals = { calls, failed: failed!, slow: slow! };
      this.totalsAt = Date.now();
    } else if (gen > view.gen) this.totals = EMPTY; // a move clears the window
    const from = view.gen < 0 ? CircuitState.CLOSED : view.state;
    this.view = { state, gen, openUntil: Date.now() + remaining, isolated: isolated === 1 };
    if (from !== state) void this.announce(from, state);
  }

  private rejected<T>(state: CircuitState, retryAfter: number): Promise<T> {
    if (this.events.has('rejected')) this.events.emit('rejected', { state, retryAfter });
    return Promise.reject(
      this.view.isolated
        ? CircuitBreakerError.isolated(state)
        : new CircuitBreakerError(state, Math.max(0, retryAfter)),
    );
  }

  /** While Redis fails: this process's own breaker ('local'), no breaker ('fail-open'), or refusal. */
  private degraded<A, T>(
    fn: (arg: A) => T | PromiseLike<T>,
    arg: A,
    signal: AbortSignal | undefined,
    error?: unknown,
  ): Promise<T> {
    if (signal?.aborted === true) return Promise.reject(toError(signal.reason));
    if (this.link.mode === 'local')
      return super.executeWith(fn, arg, signal === undefined ? undefined : { signal });
    if (this.link.mode === 'fail-open') {
      try {
        return Promise.resolve(fn(arg));
      } catch (failure) {
        return Promise.reject(failure);
      }
    }
    return Promise.reject(error instanceof Error ? error : this.link.unavailable());
  }
}
