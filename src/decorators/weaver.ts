import { ConfigError, describeValue } from '../core/errors.js';
import { readingUserValue } from '../core/validate.js';
import { registryOf, type PolicyResolver } from '../registry/binding.js';
import { inlinePolicies } from './inline-policies.js';
import { buildPipeline, type Pipeline } from './pipeline.js';

type AnyFunction = (...args: unknown[]) => unknown;
type AnyClass = abstract new (...args: never[]) => unknown;

/** What the weaver keeps per woven method: the original and its pipelines (one per registry). */
interface WovenMethod {
  readonly original: AnyFunction;
  readonly name: string | symbol;
  /** Known at decoration time in the legacy dialect; found on first call for TC39 decorators. */
  declaringClass: AnyClass | undefined;
  /** The TC39 `context.metadata` of the declaring class, used to find it from an instance. */
  readonly metadata: object | undefined;
  pipelines: WeakMap<PolicyResolver, Pipeline>;
  /** The last registry used and its pipeline: almost every call finds them here, without a WeakMap look-up. */
  lastRegistry: PolicyResolver | undefined;
  lastPipeline: Pipeline | undefined;
}

const wovenMethods = new WeakMap<AnyFunction, WovenMethod>();

/** True when `fn` is a wrapper made by {@link weave}. */
export function isWoven(fn: unknown): boolean {
  return typeof fn === 'function' && wovenMethods.has(fn as AnyFunction);
}

/**
 * Wraps `original` once. The wrapper builds the method's pipeline on first call (per registry, rebuilt when the
 * registry is reconfigured) and from then on only runs it: no metadata look-ups per call. It keeps the original's
 * `name` and `length`, and the metadata other decorators (NestJS routes, Swagger) defined on the original.
 */
export function weave(
  original: AnyFunction,
  name: string | symbol,
  where: { declaringClass?: AnyClass; metadata?: object },
): AnyFunction {
  const state: WovenMethod = {
    original,
    name,
    declaringClass: where.declaringClass,
    metadata: where.metadata,
    pipelines: new WeakMap(),
    lastRegistry: undefined,
    lastPipeline: undefined,
  };
  const woven = function (this: unknown, ...args: unknown[]): unknown {
    const registry = registryOf(this) ?? inlinePolicies;
    let pipeline =
      registry === state.lastRegistry ? state.lastPipeline : state.pipelines.get(registry);
    if (pipeline === undefined || pipeline.version !== registry.version) {
      try {
        pipeline = buildPipeline(
          state,
          findDeclaringClass(state, this),
          state.name,
          state.original,
          registry,
        );
      } catch (error) {
        return Promise.reject(error);
      }
      state.pipelines.set(registry, pipeline);
    }
    if (pipeline !== state.lastPipeline) {
      state.lastRegistry = registry;
      state.lastPipeline = pipeline;
    }
    return pipeline.run(this, args);
  };
  Object.defineProperty(woven, 'name', { value: original.name, configurable: true });
  Object.defineProperty(woven, 'length', { value: original.length, configurable: true });
  for (const key of Reflect.getOwnMetadataKeys(original)) {
    Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, original), woven);
  }
  wovenMethods.set(woven, state);
  return woven;
}

/**
 * Builds the pipelines of every woven method of `instance` for its registry now, instead of on first call, so
 * configuration mistakes (unknown names) surface at bootstrap. Given a class, it prepares the class's static
 * methods (its own and those it inherits), for the registry the class is bound to. Returns the problems found,
 * one per method.
 */
export function prepareInstance(instance: object): { method: string; error: Error }[] {
  if (instance === null || (typeof instance !== 'object' && typeof instance !== 'function'))
    throw ConfigError.invalid('instance', 'an object', instance);
  // Each method's own problem is collected; what throws here is reading the instance (a revoked Proxy).
  return readingUserValue('instance', () => prepareMethods(instance));
}

function prepareMethods(instance: object): { method: string; error: Error }[] {
  const problems: { method: string; error: Error }[] = [];
  const registry = registryOf(instance) ?? inlinePolicies;
  const seen = new Set<string | symbol>();
  // A class holds its static methods itself; an instance's methods are on its prototypes.
  for (
    let proto = (typeof instance === 'function' ? instance : Object.getPrototypeOf(instance)) as
      object | null;
    proto && proto !== Object.prototype && proto !== Function.prototype;
    proto = Object.getPrototypeOf(proto) as object | null
  ) {
    for (const key of Reflect.ownKeys(proto)) {
      if (seen.has(key)) continue;
      seen.add(key);
      const descriptor = Object.getOwnPropertyDescriptor(proto, key);
      const state =
        descriptor && typeof descriptor.value === 'function'
          ? wovenMethods.get(descriptor.value as AnyFunction)
          : undefined;
      if (!state) continue;
      // Already built for this registry's current configuration (another instance of the class): keep it.
      if (state.pipelines.get(registry)?.version === registry.version) continue;
      try {
        const pipeline = buildPipeline(
          state,
          findDeclaringClass(state, instance),
          state.name,
          state.original,
          registry,
        );
        state.pipelines.set(registry, pipeline);
      } catch (error) {
        problems.push({ method: String(key), error: error as Error });
      }
    }
  }
  return problems;
}

// The class that declared the method: the pipeline's inline engines are per (declaring class, method).
function findDeclaringClass(state: WovenMethod, self: unknown): AnyClass {
  const Class = state.declaringClass ?? lookUpDeclaringClass(state, self);
  if (Class) return Class;
  throw new ConfigError(
    `${String(state.name)}: dspu cannot tell which class declares this method, called on ` +
      `${describeValue(self)} before any instance of its class was made; call it on an instance of that class`,
  );
}

/**
 * What a TC39 decorator, which never sees the class, runs as each instance is made (as the class is defined, for a
 * static method): notes which class declares the woven method `fn` from `self`, an instance of it (or the class),
 * so that a call whose `this` is not an instance (a detached method, a callback) still finds it. Once known, it
 * costs each construction one comparison.
 */
export function declaringClassNoter(fn: AnyFunction): (self: unknown) => void {
  const state = wovenMethods.get(fn);
  return (self) => {
    if (state !== undefined && state.declaringClass === undefined)
      lookUpDeclaringClass(state, self);
  };
}

// Walks from `self` to the class whose TC39 metadata holds the method's records, and remembers it.
function lookUpDeclaringClass(state: WovenMethod, self: unknown): AnyClass | undefined {
  for (
    let holder = self as object | null;
    holder !== null && (typeof holder === 'object' || typeof holder === 'function');
    holder = Object.getPrototypeOf(holder) as object | null
  ) {
    const Class = (typeof holder === 'function' ? holder : holder.constructor) as
      AnyClass | undefined;
    const metadata =
      typeof Class === 'function' && Object.hasOwn(Class, Symbol.metadata)
        ? (Class as unknown as Record<symbol, unknown>)[Symbol.metadata as symbol]
        : undefined;
    if (Class && state.metadata !== undefined && metadata === state.metadata) {
      return (state.declaringClass = Class);
    }
  }
  return undefined;
}
