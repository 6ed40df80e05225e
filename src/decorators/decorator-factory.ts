import { ConfigError } from '../core/errors.js';
import type { PolicyKind } from '../registry/policy-kind.js';
import {
  markStatic,
  recordOrder,
  recordPolicy,
  type PolicyDescriptor,
  type RecordTarget,
} from './metadata.js';
import { loadReflectMetadata } from './reflect-metadata.js';
import { declaringClassNoter, isWoven, weave } from './weaver.js';

type AnyFunction = (...args: unknown[]) => unknown;
type AnyClass = abstract new (...args: never[]) => unknown;

/**
 * Part of {@link ResilienceDecorator}'s signature: `never` for a promise that resolves to an Observable, whose
 * work runs later, when subscribed, outside every policy, so a decorated method that resolves to one does not
 * compile (checking each call's value at run time would cost every call); `unknown` for any other promise.
 *
 * @typeParam P - the decorated method's return type
 */
export type NotObservablePromise<P> = [Awaited<P>] extends [never]
  ? unknown // a method that only ever throws
  : Awaited<P> extends Record<'subscribe' | 'pipe', (...args: never[]) => unknown>
    ? never // an RxJS-like Observable
    : unknown;

/**
 * A dspu decorator, usable on a method or a class, under TypeScript's `experimentalDecorators` and under TC39
 * standard decorators alike. Only methods that return a promise can carry one: anything else fails to compile.
 *
 * @typeParam R - what the decorated method's promise must resolve to: the type a result predicate
 *   (`retryOnResult`, `isFailureResult`) was written for; `any` when the options do not say
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface ResilienceDecorator<R = any> {
  /**
   * Legacy (experimentalDecorators) method decorator.
   * @typeParam M - the decorated method's type
   */
  <M extends (...args: never[]) => PromiseLike<R>>(
    target: object,
    key: string | symbol,
    descriptor: TypedPropertyDescriptor<M> & NotObservablePromise<ReturnType<M>>,
  ): void;
  /** TC39 method decorator. */
  <This, Args extends unknown[], P extends PromiseLike<R>>(
    method: (this: This, ...args: Args) => P,
    context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => P> &
      NotObservablePromise<P>,
  ): void;
  /** Legacy class decorator. */
  <C extends AnyClass>(target: C): void;
  /** TC39 class decorator. */
  <C extends AnyClass>(target: C, context: ClassDecoratorContext<C>): void;
}

/** What a decorator does with its target: record something, through whichever dialect applies it. */
type Recorder = (target: RecordTarget) => void;

/** Makes a decorator that records one policy. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function policyDecorator<R = any>(descriptor: PolicyDescriptor): ResilienceDecorator<R> {
  return decorator<R>((target) => recordPolicy(target, descriptor));
}

/** Makes a decorator that records a composition order. */
export function orderDecorator(order: readonly PolicyKind[]): ResilienceDecorator {
  return decorator((target) => recordOrder(target, order));
}

// One implementation serves every result type: the type parameter only constrains the decorated method.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function decorator<R = any>(record: Recorder): ResilienceDecorator<R> {
  // Before the decorator runs: TypeScript's emitted `design:*` metadata for the same member, evaluated after
  // this factory, then finds reflect-metadata loaded too.
  loadReflectMetadata();
  return function applyDecorator(target: unknown, key?: unknown, descriptor?: unknown): unknown {
    if (isTc39Context(key)) return applyTc39(record, target, key);
    if (typeof target === 'function' && key === undefined)
      return applyLegacyClass(record, target as AnyClass);
    if (descriptor !== undefined && (typeof key === 'string' || typeof key === 'symbol')) {
      return applyLegacyMethod(record, target as object, key, descriptor as PropertyDescriptor);
    }
    // A legacy field decorator gets a key and no descriptor: name the field as the other cases name theirs.
    const member = typeof key === 'string' || typeof key === 'symbol' ? `${String(key)}: ` : '';
    throw new ConfigError(`${member}dspu decorators apply to methods and classes only`);
  };
}

function applyLegacyMethod(
  record: Recorder,
  target: object,
  key: string | symbol,
  descriptor: PropertyDescriptor,
): PropertyDescriptor {
  if (typeof descriptor.value !== 'function') {
    throw new ConfigError(
      `${String(key)}: dspu decorators apply to methods, not accessors or fields`,
    );
  }
  // A static method's target is the constructor, an instance method's the prototype.
  const isStatic = typeof target === 'function';
  record({ dialect: 'legacy', holder: target, method: key });
  if (!isWoven(descriptor.value)) {
    const method = descriptor.value as AnyFunction;
    if (isStatic) markStatic(method);
    const declaringClass = (isStatic ? target : target.constructor) as AnyClass;
    descriptor.value = weave(method, key, { declaringClass });
  }
  return descriptor;
}

function applyLegacyClass(record: Recorder, Class: AnyClass): void {
  record({ dialect: 'legacy', holder: Class, method: undefined });
  weaveAsyncMethods(Class, { declaringClass: Class });
}

function applyTc39(record: Recorder, value: unknown, context: DecoratorContext): unknown {
  const metadata = context.metadata as object;
  if (context.kind === 'class') {
    record({ dialect: 'tc39', metadata, method: undefined, static: false });
    weaveAsyncMethods(value as AnyClass, { declaringClass: value as AnyClass, metadata });
    return undefined;
  }
  if (context.kind !== 'method')
    throw new ConfigError(
      `${String(context.name)}: dspu decorators apply to methods and classes only`,
    );
  record({ dialect: 'tc39', metadata, method: context.name, static: context.static });
  if (isWoven(value)) return value;
  if (context.static) markStatic(value as AnyFunction);
  const woven = weave(value as AnyFunction, context.name, { metadata });
  // A TC39 method decorator never sees its class: it learns it from the first instance made (the class itself,
  // for a static method), so a call whose `this` is no instance (a detached method) still finds it.
  const note = declaringClassNoter(woven);
  context.addInitializer(function (this: unknown) {
    note(this);
  });
  return woven;
}

// A class-level policy covers the async instance methods the class declares; inherited ones keep their own
// class's, and static methods only their own decorators'.
function weaveAsyncMethods(
  Class: AnyClass,
  where: { declaringClass?: AnyClass; metadata?: object },
): void {
  const prototype = Class.prototype as object;
  for (const key of Reflect.ownKeys(prototype)) {
    if (key === 'constructor') continue;
    const descriptor = Object.getOwnPropertyDescriptor(prototype, key)!;
    const method = descriptor.value as unknown;
    if (typeof method !== 'function' || isWoven(method) || !isAsyncFunction(method)) continue;
    Object.defineProperty(prototype, key, {
      ...descriptor,
      value: weave(method as AnyFunction, key, where),
    });
  }
}

// An async generator method is no async method: it returns an iterator, whose work runs as it is iterated, outside
// any policy; wrapped, it would return a promise that `for await` cannot iterate.
function isAsyncFunction(fn: unknown): boolean {
  return (fn as { constructor?: { name?: string } }).constructor?.name === 'AsyncFunction';
}

function isTc39Context(value: unknown): value is DecoratorContext {
  return typeof value === 'object' && value !== null && 'kind' in value && 'name' in value;
}
