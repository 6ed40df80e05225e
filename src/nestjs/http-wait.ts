import {
  ConcurrencyLimiter,
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
  if (engine instanceof RateLimiter) return new BoundedWait(engine, maxWaitMs);
  if (engine instanceof ConcurrencyLimiter && engine.options.maxWait === Infinity)
    return new BoundedWait(engine, maxWaitMs);
  return engine;
}

/**
 * A limiter whose calls have `maxWait` unless the decorator gave one: the limiter refuses a call that would wait
 * longer (429 or 503). It is the limiter to everyone who looks (kind, events).
 */
class BoundedWait<L extends RateLimiter | ConcurrencyLimiter> implements Policy {
  readonly kind: string;
  readonly events: L['events'];

  constructor(
    private readonly limiter: L,
    private readonly maxWait: number,
  ) {
    this.kind = limiter.kind;
    this.events = limiter.events;
  }

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
