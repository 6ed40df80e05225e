import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import {
  bindRegistry,
  ConfigError,
  getResiliencePolicies,
  prepareInstance,
  registry as defaultRegistry,
  ResilienceRegistry,
  type PolicyInfo,
} from '../index.js';
import { HttpRegistry } from './http-wait.js';

type AnyClass = abstract new (...args: never[]) => unknown;
// Derived rather than imported: Nest exposes the wrapper type only through a deep import path.
type InstanceWrapper = ReturnType<DiscoveryService['getProviders']>[number];

/*
 * Request-scoped and transient instances are created after bootstrap, out of the explorer's sight, so their
 * class prototype is bound instead and every instance inherits the binding. A prototype can hold one registry:
 * this map records which application owns it, so a second running application can warn instead of silently
 * taking it over.
 */
const prototypeOwners = new WeakMap<object, ResilienceRegistry>();

/**
 * Walks every provider and controller at `onModuleInit`, binds those whose methods carry dspu policies to the
 * module's registry, and builds their pipelines at once, so that an unknown policy name fails the bootstrap
 * with one error listing every problem instead of failing a request later.
 * @internal
 */
@Injectable()
export class ResilienceExplorer implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('ResilienceModule');
  private readonly ownedPrototypes: object[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly registry: ResilienceRegistry,
  ) {}

  /** Binds and checks every decorated instance; throws one ConfigError listing every problem. */
  onModuleInit(): void {
    const problems = new Set<string>();
    const seen = new Set<object>();
    const { registry } = this;
    // Controllers' pipelines are built as HTTP handlers': their waits for a rate or concurrency limit are bounded.
    const asHandlers = <T>(build: () => T) =>
      registry instanceof HttpRegistry ? registry.forControllers(build) : build();
    for (const wrapper of this.discovery.getControllers()) {
      for (const problem of asHandlers(() => this.wire(wrapper, seen))) problems.add(problem);
    }
    for (const wrapper of this.discovery.getProviders()) {
      for (const problem of this.wire(wrapper, seen)) problems.add(problem);
    }
    if (problems.size > 0) throw new ConfigError([...problems]);
  }

  /** Gives the prototypes this application bound back to the default registry. */
  onApplicationShutdown(): void {
    for (const prototype of this.ownedPrototypes) {
      if (prototypeOwners.get(prototype) !== this.registry) continue;
      prototypeOwners.delete(prototype);
      bindRegistry(prototype, defaultRegistry);
    }
    this.ownedPrototypes.length = 0;
  }

  private wire(wrapper: InstanceWrapper, seen: Set<object>): string[] {
    const instance: unknown = wrapper.instance;
    if (instance === null || typeof instance !== 'object' || seen.has(instance)) return [];
    seen.add(instance);
    const prototype = Object.getPrototypeOf(instance) as object | null;
    if (prototype === null || prototype === Object.prototype) return [];
    const Class = prototype.constructor as AnyClass;
    const decorated = this.scanner
      .getAllMethodNames(prototype)
      .some((method) => getResiliencePolicies(Class, method).length > 0);
    if (!decorated) return [];

    if (wrapper.isDependencyTreeStatic() && !wrapper.isTransient) {
      bindRegistry(instance, this.registry);
      return this.check(instance, Class);
    }
    this.bindPrototype(prototype, Class, wrapper);
    for (const transient of wrapper.isTransient ? wrapper.getStaticTransientInstances() : []) {
      const value: unknown = transient?.instance;
      if (value !== null && typeof value === 'object') bindRegistry(value, this.registry);
    }
    // An object on the same prototype resolves policies exactly as the future instances will.
    return this.check(Object.create(prototype) as object, Class);
  }

  private bindPrototype(prototype: object, Class: AnyClass, wrapper: InstanceWrapper): void {
    const owner = prototypeOwners.get(prototype);
    if (owner === this.registry) return;
    if (owner !== undefined) {
      this.logger.warn(
        `${Class.name} is ${wrapper.isTransient ? 'transient' : 'request-scoped'} and its class is already ` +
          `bound to the ResilienceRegistry of another running application: its instances here resolve ` +
          `policies there. Make it a singleton, or give each application its own subclass.`,
      );
      return;
    }
    prototypeOwners.set(prototype, this.registry);
    this.ownedPrototypes.push(prototype);
    bindRegistry(prototype, this.registry);
  }

  // prepareInstance says which woven methods fail; the unknown names are spelled out here with where they are used.
  private check(target: object, Class: AnyClass): string[] {
    const problems: string[] = [];
    for (const { method, error } of prepareInstance(target)) {
      const unknown = getResiliencePolicies(Class, method).filter(
        (policy) =>
          policy.source === 'name' &&
          !this.registry.has(configKey(policy.kind), policy.value as string),
      );
      if (unknown.length === 0) problems.push(`${Class.name}.${method}: ${error.message}`);
      for (const policy of unknown) {
        const kind = configKey(policy.kind);
        const known = this.registry.names(kind);
        problems.push(
          `${Class.name}.${method} uses ${policy.kind} ${JSON.stringify(policy.value)}; ` +
            (known.length > 0
              ? `known: ${known.join(', ')}`
              : `known: (none); configure it in ResilienceModule.forRoot({ ${kind}: { ` +
                `${JSON.stringify(policy.value)}: { ... } } })`),
        );
      }
    }
    return problems;
  }
}

// Policies of your own (`@UsePolicy('name')`) are configured under `policies`.
function configKey(kind: PolicyInfo['kind']): Exclude<PolicyInfo['kind'], 'custom'> | 'policies' {
  return kind === 'custom' ? 'policies' : kind;
}
