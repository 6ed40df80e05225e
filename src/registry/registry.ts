import { ConfigError, describeValue } from '../core/errors.js';
import type { AnyEvent, EventEmitter, Listener, Unsubscribe } from '../core/events.js';
import { isInstance } from '../core/validate.js';
import { isPolicy, type Policy } from '../core/policy.js';
import type { PolicySource } from '../decorators/metadata.js';
import { EventRelay } from './event-relay.js';
import type { RegistryEvents } from './registry-events.js';
import { sameOptions } from './same-options.js';
import { DEFAULT_ORDER } from './policy-kind.js';
import {
  POLICY_KINDS,
  RESOURCE_KINDS,
  kindSpec,
  resourceSpec,
  type EngineOf,
  type PolicyKind,
  type PolicyKindSpec,
  type ResourceKind,
  type ResourceOf,
  type SharedResources,
} from './policy-kinds.js';
import type { PolicyName } from './policy-names.js';
import {
  CUSTOM_POLICIES,
  validateConfig,
  type ConfigKind,
  type ResilienceConfig,
} from './registry.config.js';
import { ignore } from '../core/ignore.js';

/** A kind the registry holds engines of: a built-in kind, or `'custom'` for policies of your own. */
type HeldKind = PolicyKind | typeof CUSTOM_POLICIES;

/** A shared resource made from its entry, with the merged options it was made from. */
interface HeldResource {
  readonly resource: object;
  readonly options: unknown;
}

/** A shared resource an engine's options named, as it was resolved when the engine was made. */
interface UsedResource {
  readonly key: string;
  readonly resource: object;
}

/** An engine made from a configuration entry or a decorator's inline options, with what it was made from. */
interface Made {
  readonly engine: Policy;
  /** The entry merged over its kind's defaults; the entry itself when it is an engine. */
  readonly options: unknown;
  readonly uses: readonly UsedResource[];
}

interface Held extends Made {
  readonly kind: HeldKind;
  readonly name: string;
  readonly stopRelay: () => void;
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
  private config = new Map<ConfigKind, Map<string, unknown>>();
  private readonly named = new Map<string, Held>();
  private resources = new Map<string, HeldResource>();
  // Inline engines per decorated method (the weaver's site object) and kind, replaced when a pipeline is rebuilt
  // after the kind's defaults changed.
  private readonly inline = new Map<object, Map<HeldKind, Held>>();
  // Engines given to decorators as instances, once a method resolved one here: listed and reset like the rest.
  private readonly instances = new Map<Policy, Held>();
  private readonly relay = new EventRelay<RegistryEvents>();
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
   * Adds or replaces named policies. Everything is validated first, each entry over the defaults it will be
   * merged with: on any problem nothing changes and one `ConfigError` lists every problem by path
   * (`circuitBreaker.payments.timeout: expected a duration, got "30"`). An engine already in use whose options
   * (its entry merged over its kind's defaults) did not change is kept, with its state; one whose options changed
   * gets a new engine with the new options, and a circuit breaker keeps its state.
   *
   * A named entry may also be an engine of its kind that you built (`circuitBreaker: { payments: breaker }`):
   * the name then resolves to that very instance, used as it is (the kind's `defaults` do not apply to it), and
   * a reconfiguration that gives the same instance keeps it. An engine of another kind is a `ConfigError`
   * naming the path. Policies of your own go under `policies` (`policies: { audit: new AuditPolicy() }`), for
   * `@UsePolicy('audit')`. The registry never closes an engine: whoever built one closes it, if it needs closing.
   *
   * @example
   * ```ts
   * const payments = new CircuitBreaker({ failureThreshold: 3, timeout: '30s' });
   * registry.configure({ circuitBreaker: { defaults: { timeout: '10s' }, payments, search: {} } });
   * registry.circuitBreaker('payments') === payments; // true, with its own 30s; `search` gets 10s
   * ```
   */
  configure(config: ResilienceConfig): this {
    const parsed = validateConfig(config, this.config);
    const next = new Map<ConfigKind, Map<string, unknown>>();
    for (const [kind, entries] of this.config) next.set(kind, new Map(entries));
    for (const [kind, entries] of parsed.kinds) {
      const merged = next.get(kind) ?? new Map<string, unknown>();
      for (const [name, entry] of entries) merged.set(name, entry);
      next.set(kind, merged);
    }
    const before = { config: this.config, order: this.currentOrder, resources: this.resources };
    this.config = next;
    if (parsed.order) this.currentOrder = parsed.order;
    this.resources = new Map(before.resources);
    let replacements: Replacement[];
    try {
      this.replaceResources();
      replacements = this.replacements();
    } catch (error) {
      // An engine that cannot be made fails the whole configure(), which then changes nothing.
      this.config = before.config;
      this.currentOrder = before.order;
      this.resources = before.resources;
      throw error;
    }
    for (const { key, held, made } of replacements) {
      held.stopRelay();
      if (made) this.named.set(key, this.hold(held.kind, held.name, made));
      else this.named.delete(key);
    }
    // An engine given as an entry is this registry's from now on, used through it or not: its events are
    // relayed and resetResilience() reaches it.
    for (const [kind, entries] of parsed.kinds) {
      for (const [name, entry] of entries) {
        if (name !== 'defaults' && isGivenEngine(kind, entry)) this.lookup(kind as HeldKind, name);
      }
    }
    this.currentVersion++;
    return this;
  }

  /** The retry policy configured under `name`. @throws ConfigError listing known names when unknown */
  retry(name: PolicyName<'retry'>): EngineOf<'retry'> {
    return this.get('retry', name);
  }

  /** The circuit breaker configured under `name`. @throws ConfigError listing known names when unknown */
  circuitBreaker(name: PolicyName<'circuitBreaker'>): EngineOf<'circuitBreaker'> {
    return this.get('circuitBreaker', name);
  }

  /** The rate limiter configured under `name`. @throws ConfigError listing known names when unknown */
  rateLimiter(name: PolicyName<'rateLimiter'>): EngineOf<'rateLimiter'> {
    return this.get('rateLimiter', name);
  }

  /** The concurrency limiter configured under `name`. @throws ConfigError listing known names when unknown */
  concurrency(name: PolicyName<'concurrency'>): EngineOf<'concurrency'> {
    return this.get('concurrency', name);
  }

  /** The timeout configured under `name`. @throws ConfigError listing known names when unknown */
  timeout(name: PolicyName<'timeout'>): EngineOf<'timeout'> {
    return this.get('timeout', name);
  }

  /**
   * The retry budget configured under `name`, shared by every retry policy whose `budget` names it.
   * @throws ConfigError listing known names when unknown
   */
  retryBudget(name: string): ResourceOf<'retryBudget'> {
    return this.resource('retryBudget', name);
  }

  /** The policy of your own configured under `policies.<name>`. @throws ConfigError when unknown */
  policy(name: string): Policy {
    return this.lookup(CUSTOM_POLICIES, name);
  }

  /** The names configured for `kind` (without `defaults`); `'policies'` for policies of your own. */
  names(kind: ConfigKind): string[] {
    return [...(this.config.get(kind)?.keys() ?? [])].filter((name) => name !== 'defaults');
  }

  /** True when `name` is configured for `kind`. */
  has(kind: ConfigKind, name: string): boolean {
    return name !== 'defaults' && (this.config.get(kind)?.has(name) ?? false);
  }

  /** The shared engine of `kind` named `name`: created on first use, or the engine given as the entry. */
  get<K extends PolicyKind>(kind: K, name: string): EngineOf<K> {
    if (typeof kind !== 'string' || kindSpec(kind)?.named !== true) {
      const named = DEFAULT_ORDER.filter((candidate) => POLICY_KINDS[candidate].named);
      throw ConfigError.invalid('kind', `a policy kind with names (${named.join(', ')})`, kind);
    }
    return this.lookup(kind, name) as EngineOf<K>;
  }

  /**
   * Every engine this registry holds now, once each, with its kind and name: named engines (an engine given as
   * an entry from `configure()` on, others once made), decorators' inline engines, and engines given to
   * decorators as instances once a method has resolved them here (named after that method).
   */
  engines(): { kind: string; name: string; engine: Policy }[] {
    const all = [...this.named.values()];
    for (const bySite of this.inline.values()) all.push(...bySite.values());
    all.push(...this.instances.values());
    const seen = new Set<Policy>();
    return all
      .filter(({ engine }) => !seen.has(engine) && seen.add(engine))
      .map(({ kind, name, engine }) => ({ kind, name, engine }));
  }

  /**
   * Resolves a decorator's policy source to an engine: a name through the registry, inline options as a new
   * engine (over the kind's defaults) labelled `label`, an instance as itself.
   * @internal
   */
  resolvePolicy(
    descriptorKind: PolicyKind | 'custom',
    source: PolicySource,
    label: string,
    site: object,
  ): Policy {
    const kind: HeldKind = descriptorKind === 'custom' ? CUSTOM_POLICIES : descriptorKind;
    switch (source.type) {
      case 'name':
        return this.lookup(kind, source.value);
      case 'instance': {
        const spec = kindSpec(kind);
        if (spec ? !isInstance(source.value, spec.engine) : !isPolicy(source.value)) {
          const expected = spec ? `a ${spec.engine.name} instance` : 'a Policy';
          throw ConfigError.invalid(`${label} ${kind}`, expected, source.value);
        }
        const engine = source.value as Policy;
        // Listed and reset, not relayed: a relay would make the engine, often a module's, hold this registry and
        // its listeners for as long as it lives (an application per test would pile up).
        if (!this.instances.has(engine))
          this.instances.set(engine, {
            engine,
            options: engine,
            uses: [],
            kind,
            name: label,
            stopRelay: ignore,
          });
        return engine;
      }
      default: {
        const bySite = this.inline.get(site) ?? new Map<HeldKind, Held>();
        this.inline.set(site, bySite);
        const previous = bySite.get(kind);
        // Rebuilt after any configure(): the engine stays unless the defaults it merges with changed.
        if (previous && this.isCurrent(previous, source.value)) return previous.engine;
        const made = this.make(kind, source.value, label, previous?.engine);
        previous?.stopRelay();
        bySite.set(kind, this.hold(kind, label, made));
        return made.engine;
      }
    }
  }

  /**
   * Checks a decorator's inline options merged over this registry's defaults of their kind, as configured now,
   * so a decorator applied after configure() fails as it is applied, not at first call. Budget names are not
   * resolved here: they may be configured later.
   * @internal
   */
  checkInline(Engine: abstract new (...args: never[]) => object, options: unknown): void {
    const kind = (Object.keys(POLICY_KINDS) as PolicyKind[]).find(
      (candidate) => POLICY_KINDS[candidate].engine === Engine,
    );
    const defaults = kind === undefined ? undefined : this.config.get(kind)?.get('defaults');
    if (kind === undefined || defaults === undefined) return;
    const spec = kindSpec(kind)!;
    try {
      spec.create(spec.merge(defaults, options), undefined, ANY_RESOURCE);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      throw new ConfigError(
        error.problems.map((problem) => `${problem} (over the registry's ${kind} defaults)`),
      );
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
    return this.relay.on(type, listener);
  }

  /**
   * Stops re-emitting the engines' events, for good, when the registry's work is over: an engine that outlives
   * it (a module's engine given as an entry) then holds nothing of the registry or of its listeners. Its policies
   * still resolve. `dspu/nestjs` calls it when the application shuts down, so a test suite that boots an
   * application per test does not keep every one alive through the engines they shared.
   */
  close(): void {
    this.relay.close();
  }

  private lookup(kind: HeldKind, name: string): Policy {
    if (typeof name !== 'string') throw this.unknown(kind, name);
    const key = `${kind}\u0000${name}`;
    const existing = this.named.get(key);
    if (existing) return existing.engine;
    if (!this.has(kind, name)) throw this.unknown(kind, name);
    const made = this.make(kind, this.config.get(kind)!.get(name), name, undefined);
    this.named.set(key, this.hold(kind, name, made));
    return made.engine;
  }

  private unknown(kind: ConfigKind, name: unknown): ConfigError {
    const known = this.names(kind);
    // Asked for through an accessor with anything but a string (a Proxy, a symbol): no entry can have that name.
    if (typeof name !== 'string') {
      return new ConfigError(
        `${kind} ${describeValue(name)} is not configured: a policy name is a string; known: ${known.length ? known.join(', ') : '(none)'}`,
      );
    }
    const entry = `{ ${kind}: { ${/^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name)}: { ... } } }`;
    // A registry without configuration is most often a NestJS application without the module, or a script
    // whose configure() has not run yet (or ran on another registry).
    const hint =
      this.config.size === 0
        ? '. This registry has no configuration at all: call registry.configure({ ... }) at startup, or ' +
          'import ResilienceModule.forRoot({ ... }) from dspu/nestjs in your application module'
        : known.length === 0
          ? `. Configure it: registry.configure(${entry}), or under NestJS ResilienceModule.forRoot(${entry})`
          : '';
    return new ConfigError(
      `${kind} ${describeValue(name)} is not configured; known: ${known.length ? known.join(', ') : '(none)'}${hint}`,
    );
  }

  /** The shared resource of `kind` named `name`: created on first use, or the instance given as the entry. */
  private resource<K extends ResourceKind>(kind: K, name: string): ResourceOf<K> {
    if (typeof name !== 'string') throw this.unknown(kind, name);
    const key = `${kind}\u0000${name}`;
    const existing = this.resources.get(key);
    if (existing) return existing.resource as ResourceOf<K>;
    if (!this.has(kind, name)) throw this.unknown(kind, name);
    const held = this.makeResource(kind, name);
    this.resources.set(key, held);
    return held.resource as ResourceOf<K>;
  }

  private makeResource(kind: ResourceKind, name: string): HeldResource {
    const spec = resourceSpec(kind)!;
    const entry = this.config.get(kind)!.get(name);
    if (entry instanceof spec.engine) return { resource: entry, options: entry };
    const options = spec.merge(this.config.get(kind)?.get('defaults'), entry);
    try {
      return { resource: spec.create(options), options };
    } catch (error) {
      if (error instanceof ConfigError)
        throw new ConfigError(error.problems.map((problem) => `${name}: ${problem}`));
      throw error;
    }
  }

  // A resource whose entry still says the same keeps its instance (a budget keeps its counts across an unrelated
  // configure()); one whose entry changed or went is made again on next use.
  private replaceResources(): void {
    for (const [key, held] of [...this.resources]) {
      const [kind, name] = key.split('\u0000') as [ResourceKind, string];
      if (!this.has(kind, name)) {
        this.resources.delete(key);
        continue;
      }
      const spec = resourceSpec(kind)!;
      const entry = this.config.get(kind)!.get(name);
      const options =
        entry instanceof spec.engine
          ? entry
          : spec.merge(this.config.get(kind)?.get('defaults'), entry);
      if (!sameOptions(options, held.options)) this.resources.delete(key);
    }
  }

  /**
   * Makes the engine of an entry (or of inline options): merged over its kind's defaults, resolving the shared
   * resources its options name; an engine given as the entry, or a policy of your own, is itself. `previous`
   * is the engine it replaces, for the kind to carry state over.
   */
  private make(kind: HeldKind, entry: unknown, label: string, previous: Policy | undefined): Made {
    const spec = kindSpec(kind);
    if (!spec || isInstance(entry, spec.engine))
      return { engine: entry as Policy, options: entry, uses: [] };
    const options = this.merged(spec, kind, entry);
    const uses: UsedResource[] = [];
    const resources: SharedResources = {
      resource: (resourceKind, name) => {
        const resource = this.resource(resourceKind, name);
        uses.push({ key: `${resourceKind}\u0000${name}`, resource });
        return resource;
      },
    };
    try {
      return { engine: spec.create(options, previous, resources), options, uses };
    } catch (error) {
      if (error instanceof ConfigError) {
        throw new ConfigError(error.problems.map((problem) => `${label}: ${problem}`));
      }
      throw error;
    }
  }

  private merged(spec: PolicyKindSpec<Policy, unknown>, kind: HeldKind, entry: unknown): unknown {
    return spec.merge(this.config.get(kind)?.get('defaults'), entry);
  }

  // True when `held` would be made alike from `entry` now: the same options, naming the same shared resources.
  private isCurrent(held: Held, entry: unknown): boolean {
    const spec = kindSpec(held.kind);
    const options =
      !spec || isInstance(entry, spec.engine) ? entry : this.merged(spec, held.kind, entry);
    return (
      sameOptions(options, held.options) &&
      held.uses.every(({ key, resource }) => this.resources.get(key)?.resource === resource)
    );
  }

  private hold(kind: HeldKind, name: string, made: Made): Held {
    const events: EventEmitter<object> = made.engine.events as EventEmitter<object>;
    const stopRelay = this.relay.add({ kind: made.engine.kind, name, events });
    return { ...made, kind, name, stopRelay };
  }

  // The named engines a reconfiguration replaces: those whose options (entry merged over the kind's defaults) or
  // shared resources changed, each made anew (the kind may carry state over). The others keep their engine and
  // its state. Makes the new engines without holding them, so a failure leaves the held ones as they are.
  private replacements(): Replacement[] {
    const replacements: Replacement[] = [];
    for (const [key, held] of this.named) {
      if (!this.has(held.kind, held.name)) {
        replacements.push({ key, held, made: undefined });
        continue;
      }
      const entry = this.config.get(held.kind)!.get(held.name);
      if (this.isCurrent(held, entry)) continue;
      replacements.push({ key, held, made: this.make(held.kind, entry, held.name, held.engine) });
    }
    return replacements;
  }
}

// An entry that is an engine (of its kind: configure() checked it), or a policy of your own.
function isGivenEngine(kind: ConfigKind, entry: unknown): boolean {
  if (kind === CUSTOM_POLICIES) return true;
  const spec = kindSpec(kind);
  return spec !== undefined && isInstance(entry, spec.engine);
}

// Resolves any resource name to a fresh stand-in: for checks made before the name need be configured.
const ANY_RESOURCE: SharedResources = {
  resource: (kind) => RESOURCE_KINDS[kind].create({}) as ResourceOf<typeof kind>,
};

/** A named engine a reconfiguration replaces, by the engine made for it (none when its name went). */
interface Replacement {
  readonly key: string;
  readonly held: Held;
  readonly made: Made | undefined;
}
