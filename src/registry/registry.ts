import { ConfigError, describeValue } from '../core/errors.js';
import { EventEmitter, type AnyEvent, type Listener, type Unsubscribe } from '../core/events.js';
import type { CircuitBreaker, CircuitBreakerEvents } from '../patterns/circuit-breaker/index.js';
import type {
  ConcurrencyLimiter,
  ConcurrencyLimiterEvents,
} from '../patterns/concurrency/index.js';
import type { FallbackEvents } from '../patterns/fallback/index.js';
import type { RateLimiter, RateLimiterEvents } from '../patterns/rate-limit/index.js';
import type { RetryEvents, RetryPolicy } from '../patterns/retry/index.js';
import type { Timeout, TimeoutEvents } from '../patterns/timeout/index.js';
import type { PolicySource } from '../decorators/metadata.js';
import { POLICY_FACTORIES } from './policy-factories.js';
import { DEFAULT_ORDER, type PolicyKind } from './policy-kind.js';
import type { PolicyName } from './policy-names.js';
import { validateConfig, type ResilienceConfig } from './registry.config.js';

/** Fields the registry adds to every event it re-emits. */
export interface EventSource {
  /** The policy kind of the engine that emitted the event. */
  readonly kind: PolicyKind;
  /** The registry name, or `Class.method` for a decorator's inline policy. */
  readonly name: string;
}

type Sourced<E> = { [K in keyof E]: E[K] & EventSource };
type Merge<A, B> = {
  [K in keyof A | keyof B]: (K extends keyof A ? A[K] : never) | (K extends keyof B ? B[K] : never);
};

/** Every event the registry re-emits, by type, with its payload plus `kind` and `name`. */
export type RegistryEvents = Merge<
  Merge<
    Merge<Sourced<RetryEvents>, Sourced<TimeoutEvents>>,
    Merge<Sourced<CircuitBreakerEvents>, Sourced<RateLimiterEvents>>
  >,
  Merge<Sourced<FallbackEvents>, Sourced<ConcurrencyLimiterEvents>>
>;

interface Managed {
  readonly kind: PolicyKind;
  readonly name: string;
  readonly engine: { events: EventEmitter<object> };
  /** The engine listeners that re-emit its events here, by event type (or `'*'`). */
  forwards?: Map<PropertyKey, Unsubscribe>;
}

/**
 * Named policies configured in one place, each name one shared engine created on first use from its entry
 * merged over its kind's `defaults`. Decorators resolve names here; the registry re-emits every engine's events
 * with the engine's kind and name. Two registries never share state.
 *
 * @example
 * ```ts
 * const policies = new ResilienceRegistry().configure({
 *   retry: { defaults: { maxAttempts: 3 }, payments: { maxAttempts: 5, baseDelay: '200ms' } },
 *   timeout: { slow: '2s' },
 * });
 * policies.on('retry', ({ name, attempt }) => console.warn(`${name}: retry ${attempt}`));
 * ```
 */
export class ResilienceRegistry {
  private config: Map<PolicyKind, Map<string, unknown>> = new Map();
  private readonly named = new Map<string, Managed>();
  private readonly managed = new Set<Managed>();
  // Inline engines per decorated method (the weaver's site object) and kind, replaced when a pipeline is rebuilt.
  private readonly inline = new Map<object, Map<PolicyKind, Managed>>();
  private readonly emitter = new EventEmitter<RegistryEvents>();
  // Listeners per event type (or '*'): an engine forwards only the types somebody listens to.
  private readonly listened = new Map<PropertyKey, number>();
  private currentOrder: readonly PolicyKind[] = DEFAULT_ORDER;
  private currentVersion = 0;

  /** @param config - optional initial configuration, as for {@link ResilienceRegistry.configure} */
  constructor(config?: ResilienceConfig) {
    if (config !== undefined) this.configure(config);
  }

  /** Bumped by every `configure()`: woven methods rebuild their pipelines when it changes. */
  get version(): number {
    return this.currentVersion;
  }

  /** The order policies compose in for this registry, outermost first. */
  get order(): readonly PolicyKind[] {
    return this.currentOrder;
  }

  /**
   * Adds or replaces named policies. Everything is validated first: on any problem nothing changes and one
   * `ConfigError` lists every problem by path (`circuitBreaker.payments.timeout: expected a duration, got "30"`).
   * A name already in use gets a new engine with the new options; a circuit breaker keeps its state.
   *
   * A named entry may also be an engine of its kind that you built (`circuitBreaker: { payments: breaker }`):
   * the name then resolves to that very instance, used as it is (the kind's `defaults` do not apply to it), and
   * a reconfiguration that gives the same instance keeps it. An engine of another kind is a `ConfigError`
   * naming the path. The registry never closes an engine: whoever built one closes it, if it needs closing.
   *
   * @example
   * ```ts
   * const payments = new CircuitBreaker({ failureThreshold: 3, timeout: '30s' });
   * registry.configure({ circuitBreaker: { defaults: { timeout: '10s' }, payments, search: {} } });
   * registry.circuitBreaker('payments') === payments; // true, with its own 30s; `search` gets 10s
   * ```
   */
  configure(config: ResilienceConfig): this {
    const parsed = validateConfig(config);
    const next = new Map<PolicyKind, Map<string, unknown>>();
    for (const [kind, entries] of this.config) next.set(kind, new Map(entries));
    for (const [kind, entries] of parsed.kinds) {
      const merged = next.get(kind) ?? new Map<string, unknown>();
      for (const [name, entry] of entries) merged.set(name, entry);
      next.set(kind, merged);
    }
    this.config = next;
    if (parsed.order) this.currentOrder = parsed.order;
    this.replaceConfigured();
    this.currentVersion++;
    return this;
  }

  /** The retry policy configured under `name`. @throws ConfigError listing known names when unknown */
  retry(name: PolicyName<'retry'>): RetryPolicy {
    return this.get('retry', name) as RetryPolicy;
  }

  /** The circuit breaker configured under `name`. @throws ConfigError listing known names when unknown */
  circuitBreaker(name: PolicyName<'circuitBreaker'>): CircuitBreaker {
    return this.get('circuitBreaker', name) as CircuitBreaker;
  }

  /** The rate limiter configured under `name`. @throws ConfigError listing known names when unknown */
  rateLimiter(name: PolicyName<'rateLimiter'>): RateLimiter {
    return this.get('rateLimiter', name) as RateLimiter;
  }

  /** The concurrency limiter configured under `name`. @throws ConfigError listing known names when unknown */
  concurrency(name: PolicyName<'concurrency'>): ConcurrencyLimiter {
    return this.get('concurrency', name) as ConcurrencyLimiter;
  }

  /** The timeout configured under `name`. @throws ConfigError listing known names when unknown */
  timeout(name: PolicyName<'timeout'>): Timeout {
    return this.get('timeout', name) as Timeout;
  }

  /** The names configured for `kind` (without `defaults`). */
  names(kind: PolicyKind): string[] {
    return [...(this.config.get(kind)?.keys() ?? [])].filter((name) => name !== 'defaults');
  }

  /** True when `name` is configured for `kind`. */
  has(kind: PolicyKind, name: string): boolean {
    return name !== 'defaults' && (this.config.get(kind)?.has(name) ?? false);
  }

  /** The shared engine of `kind` named `name`: created on first use, or the engine given as the entry. */
  get(kind: PolicyKind, name: string): object {
    const key = `${kind}\u0000${name}`;
    const existing = this.named.get(key);
    if (existing) return existing.engine;
    if (!this.has(kind, name)) {
      const known = this.names(kind);
      throw new ConfigError(
        `${kind} ${describeValue(name)} is not configured; known: ${known.length ? known.join(', ') : '(none)'}`,
      );
    }
    const engine = this.create(kind, this.config.get(kind)!.get(name), name);
    this.named.set(key, this.manage(kind, name, engine));
    return engine;
  }

  /**
   * Resolves a decorator's policy source to an engine: a name through {@link ResilienceRegistry.get}, inline
   * options as a new engine (over the kind's defaults) labelled `label`, an instance as itself.
   * @internal
   */
  resolvePolicy(kind: PolicyKind, source: PolicySource, label: string, site: object): object {
    const factory = POLICY_FACTORIES[kind]!;
    switch (source.type) {
      case 'name':
        return this.get(kind, source.value);
      case 'instance':
        if (!(source.value instanceof factory.engine)) {
          throw ConfigError.invalid(
            `${label} ${kind}`,
            `a ${factory.engine.name} instance`,
            source.value,
          );
        }
        return source.value;
      default: {
        const bySite = this.inline.get(site) ?? new Map<PolicyKind, Managed>();
        this.inline.set(site, bySite);
        const previous = bySite.get(kind);
        const engine = this.create(kind, source.value, label, previous?.engine);
        if (previous) {
          this.managed.delete(previous);
          this.unforward(previous);
        }
        bySite.set(kind, this.manage(kind, label, engine));
        return engine;
      }
    }
  }

  /**
   * Listens to events re-emitted from every engine of this registry, with `kind` and `name` added; `'*'` for
   * all of them. Engines build no event objects while nobody listens, and only the types someone listens to
   * while somebody does (every type while a `'*'` listener exists).
   */
  on<K extends keyof RegistryEvents>(type: K, listener: Listener<RegistryEvents[K]>): Unsubscribe;
  on(type: '*', listener: Listener<AnyEvent<RegistryEvents>>): Unsubscribe;
  on(type: keyof RegistryEvents | '*', listener: Listener<never>): Unsubscribe {
    const off = this.emitter.on(type as '*', listener as Listener<AnyEvent<RegistryEvents>>);
    const count = (this.listened.get(type) ?? 0) + 1;
    this.listened.set(type, count);
    if (count === 1) for (const item of this.managed) this.forward(item);
    let active = true;
    const unsubscribe = () => {
      if (!active) return;
      active = false;
      off();
      const left = this.listened.get(type)! - 1;
      if (left > 0) {
        this.listened.set(type, left);
        return;
      }
      this.listened.delete(type);
      for (const item of this.managed) this.forward(item);
    };
    return Object.assign(unsubscribe, { [Symbol.dispose]: unsubscribe });
  }

  private create(kind: PolicyKind, entry: unknown, label: string, previous?: object): object {
    const factory = POLICY_FACTORIES[kind]!;
    if (entry instanceof factory.engine) return entry;
    const options = factory.merge(this.config.get(kind)?.get('defaults'), entry);
    try {
      return factory.create(options, previous);
    } catch (error) {
      if (error instanceof ConfigError) {
        throw new ConfigError(error.problems.map((problem) => `${label}: ${problem}`));
      }
      throw error;
    }
  }

  private manage(kind: PolicyKind, name: string, engine: object): Managed {
    const item: Managed = { kind, name, engine: engine as Managed['engine'] };
    this.managed.add(item);
    if (this.listened.size > 0) this.forward(item);
    return item;
  }

  // Named engines created before a reconfiguration are replaced (the factory may carry state over), except an
  // engine that was itself the entry and still is.
  private replaceConfigured(): void {
    for (const [key, item] of [...this.named]) {
      if (this.config.get(item.kind)?.get(item.name) === item.engine) continue;
      this.managed.delete(item);
      this.unforward(item);
      this.named.delete(key);
      if (!this.has(item.kind, item.name)) continue;
      const engine = this.create(
        item.kind,
        this.config.get(item.kind)!.get(item.name),
        item.name,
        item.engine,
      );
      this.named.set(key, this.manage(item.kind, item.name, engine));
    }
  }

  /**
   * Makes `item` forward exactly the listened types: one `'*'` forward while a `'*'` listener exists, else one
   * forward per listened type. An engine then builds no event that no registry listener will read.
   */
  private forward(item: Managed): void {
    const wanted: PropertyKey[] = this.listened.has('*') ? ['*'] : [...this.listened.keys()];
    const forwards = (item.forwards ??= new Map<PropertyKey, Unsubscribe>());
    for (const [type, off] of forwards) {
      if (wanted.includes(type)) continue;
      off();
      forwards.delete(type);
    }
    for (const type of wanted)
      if (!forwards.has(type)) forwards.set(type, this.forwardOne(item, type));
  }

  private forwardOne(item: Managed, type: PropertyKey): Unsubscribe {
    const { kind, name } = item;
    // `{ kind, name, ...payload }`, not `{ ...payload, kind, name }`: on Node 20 properties added after a
    // spread take V8's slow path (about 1 µs against 20 ns). No engine payload has a `kind` or `name` field.
    const events = item.engine.events as EventEmitter<Record<PropertyKey, object>>;
    if (type === '*') {
      return events.on('*', (event: { type: PropertyKey }) => {
        const { type: eventType, ...payload } = event;
        this.emitter.emit(eventType as keyof RegistryEvents, { kind, name, ...payload } as never);
      });
    }
    return events.on(type, (payload) =>
      this.emitter.emit(type as keyof RegistryEvents, { kind, name, ...payload } as never),
    );
  }

  private unforward(item: Managed): void {
    if (item.forwards) for (const off of item.forwards.values()) off();
    item.forwards = undefined;
  }
}
