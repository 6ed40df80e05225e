import { ConfigError } from '../core/errors.js';
import type { Policy } from '../core/policy.js';
import type { PolicyKind } from '../registry/policy-kind.js';
import { loadReflectMetadata } from './reflect-metadata.js';

/*
 * Node 20 lacks Symbol.metadata, which TC39 decorators need for `context.metadata`. TypeScript's emitted code
 * reads it when each class is defined, so it must exist as soon as dspu's decorators are imported.
 */
(Symbol as { metadata?: symbol }).metadata ??= Symbol.for('Symbol.metadata');

/** The reflect-metadata key under which dspu records policies. */
export const POLICIES_KEY = Symbol.for('dspu:policies');
/** The reflect-metadata key of an order override recorded by `@Resilient({ order })`. */
export const ORDER_KEY = Symbol.for('dspu:order');

/**
 * Where a decorator's policy comes from: inline options, a registry name, or an existing engine instance. Inline
 * options come with `make`, which builds their engine where no registry is in use (a registry builds it from its
 * kind's table, over the kind's defaults).
 */
export type PolicySource =
  | {
      readonly type: 'options';
      readonly value: unknown;
      readonly make: (options: unknown) => Policy;
    }
  | { readonly type: 'name'; readonly value: string }
  | { readonly type: 'instance'; readonly value: object };

/**
 * What a decorator records: one policy of one kind (`'custom'` for a policy of your own), plus per-call options
 * (e.g. rate-limit tokens).
 */
export interface PolicyDescriptor {
  readonly kind: PolicyKind | 'custom';
  readonly source: PolicySource;
  readonly call?: Readonly<Record<string, unknown>>;
}

/** Policies and order recorded at one level (a method, or a class). */
export interface LevelRecords {
  readonly policies: readonly PolicyDescriptor[];
  readonly order: readonly PolicyKind[] | undefined;
}

/**
 * Where a decorator records. Legacy (experimentalDecorators) decorators see the prototype and constructor, so
 * they record through reflect-metadata on (prototype, method) for an instance method, (constructor, method) for
 * a static one and on the constructor for the class. TC39 decorators only see `context.metadata`, an object per
 * class: they record there under the same keys, a static method's apart from an instance method's.
 */
export type RecordTarget =
  | {
      readonly dialect: 'legacy';
      readonly holder: object;
      readonly method: string | symbol | undefined;
    }
  | {
      readonly dialect: 'tc39';
      readonly metadata: object;
      readonly method: string | symbol | undefined;
      readonly static: boolean;
    };

interface Level {
  policies: PolicyDescriptor[];
  order?: readonly PolicyKind[];
}

/** A class's TC39 records: its instance methods' and its class level's, and its static methods' apart. */
interface Tc39Records {
  readonly members: Map<string | symbol | typeof CLASS_LEVEL, Level>;
  readonly statics: Map<string | symbol, Level>;
}
const CLASS_LEVEL = Symbol('class');

function tc39Records(metadata: object): Tc39Records {
  const store = metadata as Record<symbol, Tc39Records | undefined>;
  if (!Object.hasOwn(store, POLICIES_KEY)) {
    const records: Tc39Records = { members: new Map(), statics: new Map() };
    Object.defineProperty(store, POLICIES_KEY, { value: records, enumerable: false });
  }
  return store[POLICIES_KEY]!;
}

function tc39Level(
  records: Tc39Records,
  method: string | symbol | undefined,
  isStatic: boolean,
): Level | undefined {
  return method !== undefined && isStatic
    ? records.statics.get(method)
    : records.members.get(method ?? CLASS_LEVEL);
}

function read(target: RecordTarget): Level {
  if (target.dialect === 'tc39') {
    const records = tc39Records(target.metadata);
    const { method } = target;
    let level = tc39Level(records, method, target.static);
    if (!level) {
      level = { policies: [] };
      if (method !== undefined && target.static) records.statics.set(method, level);
      else records.members.set(method ?? CLASS_LEVEL, level);
    }
    return level;
  }
  const { holder, method } = target;
  let policies = Reflect.getOwnMetadata(POLICIES_KEY, holder, method as string) as
    PolicyDescriptor[] | undefined;
  if (!policies) Reflect.defineMetadata(POLICIES_KEY, (policies = []), holder, method as string);
  const order = Reflect.getOwnMetadata(ORDER_KEY, holder, method as string) as
    readonly PolicyKind[] | undefined;
  return { policies, order };
}

// The decorator of each built-in kind, as users write it.
const DECORATOR_NAMES: Record<PolicyKind, string> = {
  fallback: '@Fallback',
  retry: '@Retry',
  hedge: '@Hedge',
  circuitBreaker: '@CircuitBreaker',
  rateLimiter: '@RateLimited',
  timeout: '@Timeout',
  concurrency: '@Concurrency',
};

/**
 * Records a policy. A method (or a class) takes one policy of each built-in kind: a second `@Retry` on it is a
 * ConfigError, as it is applied, rather than a decorator that silently does nothing. Policies of your own all
 * apply.
 * @throws ConfigError naming the member and the decorator
 */
export function recordPolicy(target: RecordTarget, descriptor: PolicyDescriptor): void {
  const { policies } = read(target);
  const { kind } = descriptor;
  if (kind !== 'custom' && policies.some((p) => p.kind === kind)) {
    const where = target.method === undefined ? 'the class' : String(target.method);
    throw new ConfigError(
      `${where}: ${DECORATOR_NAMES[kind]} applied twice; one policy of each kind applies to a method or a ` +
        'class: put both options in one decorator, or name a configured policy',
    );
  }
  policies.push(descriptor);
}

/** Records an order override for a method or a class. */
export function recordOrder(target: RecordTarget, order: readonly PolicyKind[]): void {
  if (target.dialect === 'tc39') read(target).order = order;
  else Reflect.defineMetadata(ORDER_KEY, order, target.holder, target.method as string);
}

type AnyClass = abstract new (...args: never[]) => unknown;

// The functions decorated as static methods, as they were declared: what a pipeline built for one reads.
const staticMethods = new WeakSet<object>();

/** Notes that `fn`, about to be woven, is a static method: its records are the class's static ones. */
export function markStatic(fn: object): void {
  staticMethods.add(fn);
}

/** True when `fn` was decorated as a static method (see {@link markStatic}). */
export function isStaticMethod(fn: object): boolean {
  return staticMethods.has(fn);
}

/**
 * The records a class declares itself (not inherited): for an instance method, a static one (`isStatic`), or
 * (method undefined) at class level.
 */
export function readOwnRecords(
  Class: AnyClass,
  method: string | symbol | undefined,
  isStatic = false,
): LevelRecords {
  // Also read for classes nothing of dspu decorated (introspection, the NestJS explorer).
  loadReflectMetadata();
  const holder = method === undefined || isStatic ? Class : (Class.prototype as object);
  const policies = Reflect.getOwnMetadata(POLICIES_KEY, holder, method as string) as
    PolicyDescriptor[] | undefined;
  const order = Reflect.getOwnMetadata(ORDER_KEY, holder, method as string) as
    readonly PolicyKind[] | undefined;
  if (policies || order) return { policies: policies ?? [], order };
  // A subclass without decorators of its own inherits its parent's Symbol.metadata: those records are not its.
  const metadata = Object.hasOwn(Class, Symbol.metadata)
    ? (Class as unknown as Record<symbol, object | null | undefined>)[Symbol.metadata as symbol]
    : undefined;
  if (metadata && Object.hasOwn(metadata, POLICIES_KEY)) {
    const level = tc39Level(tc39Records(metadata), method, isStatic);
    if (level) return { policies: level.policies, order: level.order };
  }
  return { policies: [], order: undefined };
}
