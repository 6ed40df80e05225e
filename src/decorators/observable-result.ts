import { ConfigError } from '../core/errors.js';

/*
 * A decorated method that returns an Observable would get a Promise of that Observable from its policies, none
 * of which acted on the work: the Observable runs later, when somebody subscribes, outside every retry, timeout
 * and breaker. dspu depends on no Observable library, so one is recognised by its shape: not a thenable, with
 * the `subscribe` and `pipe` of RxJS's Observable.
 */

/** True for an RxJS-like Observable (and not a promise). */
export function isObservable(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { then?: unknown; subscribe?: unknown; pipe?: unknown };
  return (
    typeof candidate.then !== 'function' &&
    typeof candidate.subscribe === 'function' &&
    typeof candidate.pipe === 'function'
  );
}

/** True for a class whose instances are Observables: a method's return type, as TypeScript records it. */
export function isObservableClass(type: unknown): boolean {
  if (typeof type !== 'function') return false;
  const prototype = (type as { prototype?: unknown }).prototype;
  return (
    typeof prototype === 'object' &&
    prototype !== null &&
    typeof (prototype as { subscribe?: unknown }).subscribe === 'function' &&
    typeof (prototype as { pipe?: unknown }).pipe === 'function'
  );
}

/** The error for method `label`, which returns (or is declared to return) an Observable. */
export function observableResultError(label: string): ConfigError {
  return new ConfigError(
    `${label} returns an Observable: dspu's policies act on promises, so none would apply to the ` +
      `Observable's work, which runs later when it is subscribed. Return a promise instead, such as ` +
      '`return firstValueFrom(source$)` from rxjs (dspu\'s README: "Observables").',
  );
}
