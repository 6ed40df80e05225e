import {
  ConcurrencyLimiter,
  ConcurrencyLimitError,
  RateLimiter,
  ResilienceRegistry,
  type CallOptions,
  type Next,
  type Policy,
  type ResilienceConfig,
} from '../index.js';

type ResolveArgs = Parameters<ResilienceRegistry['resolvePolicy']>;

/**
 * The registry of an application with `http` on. It resolves policies like any registry, except for the methods
 * of controllers (their pipelines are built at bootstrap under {@link HttpRegistry.forControllers}): there a rate
 * limiter or concurrency limiter that would let an HTTP caller wait without bound waits at most `maxWaitMs`, then
 * answers 429 or 503. A caller that waits for a slot it may never get holds a connection, a socket and memory,
 * and its client has often given up long before; a bounded wait turns overload into an answer it can act on.
 *
 * What a decorator says wins: `@RateLimited(policy, { maxWait })` keeps its own `maxWait`, a concurrency limiter
 * configured with a `maxWait` keeps it. Methods of providers (services, jobs) are not bounded.
 * @internal
 */
export class HttpRegistry extends ResilienceRegistry {
  // The weaver's sites (one per decorated method) of controller methods: their pipelines keep the bound when a
  // reconfiguration rebuilds them.
  private readonly handlerSites = new WeakSet<object>();
  private readonly wrapped = new WeakMap<Policy, Policy>();
  private building = false;

  /** @param maxWaitMs - the longest an HTTP caller may wait for a rate limit or a concurrency limit */
  constructor(
    config: ResilienceConfig,
    readonly maxWaitMs: number,
  ) {
    super(config);
  }

  /** Runs `build`, which builds controllers' pipelines: the methods built meanwhile are HTTP handlers. */
  forControllers<T>(build: () => T): T {
    this.building = true;
    try {
      return build();
    } finally {
      this.building = false;
    }
  }

  override resolvePolicy(...args: ResolveArgs): Policy {
    const engine = super.resolvePolicy(...args);
    const site = args[3];
    if (this.building) this.handlerSites.add(site);
    if (!this.handlerSites.has(site)) return engine;
    let bounded = this.wrapped.get(engine);
    if (bounded === undefined) {
      bounded = boundWait(engine, this.maxWaitMs);
      this.wrapped.set(engine, bounded);
    }
    return bounded;
  }
}

/** `engine`, or a policy in front of it that bounds how long a call waits to be admitted. */
function boundWait(engine: Policy, maxWaitMs: number): Policy {
  if (engine instanceof RateLimiter) return new BoundedRateLimit(engine, maxWaitMs);
  if (engine instanceof ConcurrencyLimiter && engine.options.maxWait === Infinity)
    return maxWaitMs === 0 ? new NoQueue(engine, 0) : new BoundedQueue(engine, maxWaitMs);
  return engine;
}

/** A policy in front of a limiter: it is the limiter to everyone who looks (kind, events), and bounds the wait. */
abstract class InFrontOf<L extends RateLimiter | ConcurrencyLimiter> implements Policy {
  readonly kind: string;
  readonly events: L['events'];

  constructor(
    protected readonly limiter: L,
    protected readonly maxWait: number,
  ) {
    this.kind = limiter.kind;
    this.events = limiter.events;
  }

  abstract executeWith<I, T>(next: Next<I, T>, invocation: I, options?: CallOptions): Promise<T>;
}

/** A rate limit whose calls have `maxWait` unless the decorator gave one: the limiter refuses at once (429). */
class BoundedRateLimit extends InFrontOf<RateLimiter> {
  executeWith<I, T>(
    next: Next<I, T>,
    invocation: I,
    options?: CallOptions & { maxWait?: unknown },
  ): Promise<T> {
    const call =
      options?.maxWait === undefined ? { ...options, maxWait: this.maxWait } : (options as never);
    return this.limiter.executeWith(next, invocation, call);
  }
}

/** A concurrency limit that an HTTP call does not queue behind: no free permit answers 503 at once. */
class NoQueue extends InFrontOf<ConcurrencyLimiter> {
  executeWith<I, T>(next: Next<I, T>, invocation: I, options?: CallOptions): Promise<T> {
    const { limiter } = this;
    if (limiter.pending > 0 || limiter.active >= limiter.limit) {
      if (this.events.has('rejected'))
        this.events.emit('rejected', { reason: 'maxWait', pending: limiter.pending });
      return Promise.reject(
        new ConcurrencyLimitError(
          `Concurrency limit ${limiter.limit} reached; an HTTP request does not queue ` +
            `(ResilienceModule's http maxWait is 0)`,
        ),
      );
    }
    return limiter.executeWith(next, invocation, options);
  }
}

/**
 * A concurrency limit an HTTP call queues behind for at most `maxWait`: a signal of its own aborts the wait
 * (the limiter lets a waiter whose signal aborts leave at once) and is never aborted once the call has a permit.
 */
class BoundedQueue extends InFrontOf<ConcurrencyLimiter> {
  executeWith<I, T>(next: Next<I, T>, invocation: I, options?: CallOptions): Promise<T> {
    const { limiter } = this;
    if (limiter.pending === 0 && limiter.active < limiter.limit)
      return limiter.executeWith(next, invocation, options);
    const waiting = new AbortController();
    const timer = globalThis.setTimeout(() => {
      waiting.abort(
        new ConcurrencyLimitError(
          `No permit within ${this.maxWait} ms (concurrency limit ${limiter.limit}, ` +
            `ResilienceModule's http maxWait)`,
        ),
      );
    }, this.maxWait);
    const admitted = (call: I) => {
      globalThis.clearTimeout(timer);
      return next(call);
    };
    const signal = options?.signal
      ? AbortSignal.any([options.signal, waiting.signal])
      : waiting.signal;
    return limiter.executeWith(admitted, invocation, { ...options, signal }).finally(() => {
      globalThis.clearTimeout(timer);
    });
  }
}
