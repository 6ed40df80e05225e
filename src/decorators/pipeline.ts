import { holdClock, releaseClock } from '../core/clock.js';
import { Invocation } from '../core/policy.js';
import type { PolicyResolver } from '../registry/binding.js';
import { effectivePolicies } from './introspection.js';
import { isStaticMethod } from './metadata.js';
import { isObservable, isObservableClass, observableResultError } from './observable-result.js';
import { stageFor, type Stage } from './stages.js';

type AnyFunction = (...args: unknown[]) => unknown;
type AnyClass = abstract new (...args: never[]) => unknown;

/** A method's composed policies for one registry, built once and run on every call. */
export interface Pipeline {
  /** The registry version it was built for: a reconfigured registry makes the weaver rebuild it. */
  readonly version: number;
  run(target: unknown, args: unknown[]): unknown;
}

/**
 * Composes the engines of a method's policies, outermost first, into one chain of stages. Each stage is a
 * closure made here, once; a call allocates only its {@link Invocation}.
 */
export function buildPipeline(
  site: object,
  Class: AnyClass,
  method: string | symbol,
  original: AnyFunction,
  registry: PolicyResolver,
): Pipeline {
  const version = registry.version;
  const label = `${Class.name}.${String(method)}`;
  const isStatic = isStaticMethod(original);
  const policies = effectivePolicies(Class, method, { static: isStatic, order: registry.order });
  // Declared to return an Observable (emitDecoratorMetadata, as NestJS projects compile): fail now, which under
  // NestJS is at bootstrap, rather than at a call.
  if (isObservableClass(declaredReturnType(isStatic ? Class : (Class.prototype as object), method)))
    throw observableResultError(label);
  let next: Stage = (invocation: Invocation) => {
    releaseClock(); // the method itself always reads a fresh clock
    const result = original.apply(invocation.target, invocation.args as unknown[]);
    // An async method's promise passes at the cost of one check; anything else is looked at. An async method
    // that resolves to an Observable does not compile (ResilienceDecorator): looking inside every call's promise
    // would cost every call a reaction.
    if (result instanceof Promise || !isObservable(result)) return result;
    throw observableResultError(label);
  };
  for (let i = policies.length - 1; i >= 0; i--) {
    const policy = policies[i];
    const engine = registry.resolvePolicy(policy.kind, policy.source, label, site);
    next = stageFor(engine, policy.call, next);
  }
  const entry = next;
  return {
    version,
    run: (target, args) => {
      holdClock();
      try {
        return entry(new Invocation(target, args));
      } finally {
        releaseClock();
      }
    },
  };
}

/** The return type TypeScript recorded for the method on `holder` (`design:returntype`), when it did. */
function declaredReturnType(holder: object, method: string | symbol): unknown {
  const read = (
    Reflect as {
      getOwnMetadata?: (key: string, target: object, property: string | symbol) => unknown;
    }
  ).getOwnMetadata;
  return read?.('design:returntype', holder, method);
}
