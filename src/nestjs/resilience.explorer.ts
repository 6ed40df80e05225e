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
 * class prototype is bound instead and every instance inherits the binding; static methods resolve through the
 * binding of their class. A prototype or a class can hold one registry: this map records the running applications
 * that bound it, the owner first, so a second one warns instead of silently taking it over, and takes it over
 * when the owner shuts down.
 */
const sharedOwners = new WeakMap<object, ResilienceRegistry[]>();

/**
 * Walks every provider and controller at `onModuleInit`, binds those whose methods (or static methods) carry dspu
 * policies to the module's registry, and builds their pipelines at once, so that an unknown policy name fails the
 * bootstrap with one error listing every problem instead of failing a request later.
 * @internal
 */
@Injectable()
export class ResilienceExplorer implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('ResilienceModule');
  private readonly ownedTargets: object[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly registry: ResilienceRegistry,
  ) {}

  /** Binds and checks every decorated instance and class; throws one ConfigError listing every problem. */
  onModuleInit(): void {
    const problems = new Set<string>();
    const seen = new Set<object>();
    const { registry } = this;
    // Controllers' pipelines are built as HTTP handlers': their waits for a rate or concurrency limit are bounded.
    // Their static methods are no handlers: those are built as a provider's are.
    const asHandlers = <T>(build: () => T) =>
      registry instanceof HttpRegistry ? registry.forControllers(build) : build();
    for (const wrapper of this.discovery.getControllers()) {
      for (const problem of this.wire(wrapper, seen, asHandlers)) problems.add(problem);
    }
    try {
      for (const wrapper of this.discovery.getProviders()) {
        for (const problem of this.wire(wrapper, seen, (build) => build())) problems.add(problem);
      }
      if (problems.size > 0) throw new ConfigError([...problems]);
    } catch (error) {
      // An application that fails to boot is never shut down: it gives back what it bound now.
      this.onApplicationShutdown();
      throw error;
    }
  }

  /**
   * Gives back the prototypes and classes this application bound: to the next running application that bound
   * them, or else to the default registry.
   */
  onApplicationShutdown(): void {
    for (const target of this.ownedTargets) {
      const owners = sharedOwners.get(target) ?? [];
      const wasOwner = owners[0] === this.registry;
      const left = owners.filter((owner) => owner !== this.registry);
      if (left.length > 0) sharedOwners.set(target, left);
      else sharedOwners.delete(target);
      if (wasOwner) bindRegistry(target, left[0] ?? defaultRegistry);
    }
    this.ownedTargets.length = 0;
  }

  private wire(
    wrapper: InstanceWrapper,
    seen: Set<object>,
    asInstances: (build: () => string[]) => string[],
  ): string[] {
    const instance: unknown = wrapper.instance;
    if (instance === null || typeof instance !== 'object' || seen.has(instance)) return [];
    seen.add(instance);
    const prototype = Object.getPrototypeOf(instance) as object | null;
    if (prototype === null || prototype === Object.prototype) return [];
    const Class = prototype.constructor as AnyClass;
    return [
      ...asInstances(() => this.wireInstance(wrapper, instance, prototype, Class)),
      ...this.wireStatics(Class, seen),
    ];
  }

  private wireInstance(
    wrapper: InstanceWrapper,
    instance: object,
    prototype: object,
    Class: AnyClass,
  ): string[] {
    const decorated = this.scanner
      .getAllMethodNames(prototype)
      .some((method) => getResiliencePolicies(Class, method).length > 0);
    if (!decorated) return [];

    const singleton = wrapper.isDependencyTreeStatic() && !wrapper.isTransient;
    if (singleton && canTakeBinding(instance)) {
      bindRegistry(instance, this.registry);
      return this.check(instance, Class, false);
    }
    // Instances made later, or a singleton that cannot take the binding (frozen): their prototype takes it.
    const kind = singleton ? 'frozen' : wrapper.isTransient ? 'transient' : 'request-scoped';
    this.bindShared(
      prototype,
      `${Class.name} is ${kind} and its class is already bound to the ResilienceRegistry of another ` +
        `running application: its instances here resolve policies there. ` +
        (singleton
          ? 'Bind it before freezing it: bindRegistry(this, registry).'
          : 'Make it a singleton, or give each application its own subclass.'),
    );
    for (const transient of wrapper.isTransient ? wrapper.getStaticTransientInstances() : []) {
      const value: unknown = transient?.instance;
      if (value !== null && typeof value === 'object') bindRegistry(value, this.registry);
    }
    // An object on the same prototype resolves policies exactly as the future instances will.
    return this.check(Object.create(prototype) as object, Class, false);
  }

  // Static methods resolve their policies through their class, which every application shares.
  private wireStatics(Class: AnyClass, seen: Set<object>): string[] {
    if (seen.has(Class)) return [];
    seen.add(Class);
    const decorated = staticMethodNames(Class).some(
      (method) => getResiliencePolicies(Class, method, { static: true }).length > 0,
    );
    if (!decorated) return [];
    this.bindShared(
      Class,
      `${Class.name} has static methods with policies and the class is already bound to the ` +
        `ResilienceRegistry of another running application: its static methods here resolve policies ` +
        `there. Give each application its own subclass, or call them on an instance.`,
    );
    return this.check(Class, Class, true);
  }

  private bindShared(target: object, warning: string): void {
    const owners = sharedOwners.get(target) ?? [];
    if (owners.includes(this.registry)) return;
    owners.push(this.registry);
    sharedOwners.set(target, owners);
    this.ownedTargets.push(target);
    if (owners.length > 1) this.logger.warn(warning);
    else bindRegistry(target, this.registry);
  }

  // prepareInstance says which woven methods fail; the unknown names are spelled out here with where they are used.
  private check(target: object, Class: AnyClass, isStatic: boolean): string[] {
    const problems: string[] = [];
    for (const { method, error } of prepareInstance(target)) {
      const where = `${Class.name}.${method}${isStatic ? ' (static)' : ''}`;
      const unknown = getResiliencePolicies(Class, method, { static: isStatic }).filter(
        (policy) =>
          policy.source === 'name' &&
          !this.registry.has(configKey(policy.kind), policy.value as string),
      );
      if (unknown.length === 0) problems.push(...labelled(where, `${Class.name}.${method}`, error));
      for (const policy of unknown) {
        const kind = configKey(policy.kind);
        const known = this.registry.names(kind);
        // A policy of your own (@UsePolicy) is configured as an instance, the built-in kinds as options.
        const [what, entry] = kind === 'policies' ? ['policy', 'yourPolicy'] : [kind, '{ ... }'];
        problems.push(
          `${where} uses ${what} ${JSON.stringify(policy.value)}; ` +
            (known.length > 0
              ? `known: ${known.join(', ')}`
              : `known: (none); configure it in ResilienceModule.forRoot({ ${kind}: { ` +
                `${JSON.stringify(policy.value)}: ${entry} } })`),
        );
      }
    }
    return problems;
  }
}

// A frozen or sealed instance (or one whose Proxy refuses) cannot hold its own binding.
function canTakeBinding(instance: object): boolean {
  try {
    return Object.isExtensible(instance);
  } catch {
    return false;
  }
}

// Each problem of a method's error, labelled `where` once: the registry labels an inline policy's problems with
// the same `Class.method` already.
function labelled(where: string, label: string, error: Error): string[] {
  const problems = error instanceof ConfigError ? error.problems : [error.message];
  return problems.map(
    (problem) =>
      `${where}: ${problem.startsWith(`${label}: `) ? problem.slice(label.length + 2) : problem}`,
  );
}

// The names of a class's static methods, its own and inherited (not Function.prototype's).
function staticMethodNames(Class: AnyClass): (string | symbol)[] {
  const names = new Set<string | symbol>();
  for (
    let holder: object | null = Class;
    holder && holder !== Function.prototype;
    holder = Object.getPrototypeOf(holder) as object | null
  ) {
    for (const key of Reflect.ownKeys(holder)) {
      if (typeof Object.getOwnPropertyDescriptor(holder, key)?.value === 'function') names.add(key);
    }
  }
  return [...names];
}

// Policies of your own (`@UsePolicy('name')`) are configured under `policies`.
function configKey(kind: PolicyInfo['kind']): Exclude<PolicyInfo['kind'], 'custom'> | 'policies' {
  return kind === 'custom' ? 'policies' : kind;
}
