import { type Duration, toMs } from '../core/duration.js';
import { Timeout as TimeoutEngine } from '../patterns/timeout/index.js';
import { callableClass } from './callable-class.js';
import { policyDecorator, type ResilienceDecorator } from './decorator-factory.js';
import type { PolicySource } from './metadata.js';
import { sourceOf } from './source.js';
import type { PolicyName } from '../registry/policy-names.js';

/**
 * Bounds each call of the decorated method by a time budget. Inside the method,
 * `currentSignal()` aborts at the deadline.
 *
 * @param policy - a duration (`'2s'`, `2000`), `{ timeout }`, a registry name, or a Timeout instance
 */
function timeoutDecorator(
  // Redundant only while no timeout names are declared; then `Duration` keeps '2s' legal beside the names.
  // eslint-disable-next-line @typescript-eslint/no-redundant-type-constituents
  policy: Duration | PolicyName<'timeout'> | { timeout: Duration } | TimeoutEngine,
): ResilienceDecorator {
  return policyDecorator({ kind: 'timeout', source: timeoutSource(policy) });
}

// A string that starts like a number ('3000', '2 s', '1.5min', '-1s') was meant as a duration, not as the
// name of a registry policy: refuse it now rather than fail at first call with an unknown name.
const LOOKS_LIKE_DURATION = /^\s*[+-]?(?:\d|\.\d)/;

function timeoutSource(policy: unknown): PolicySource {
  if (
    typeof policy === 'number' ||
    (typeof policy === 'string' && (isDuration(policy) || LOOKS_LIKE_DURATION.test(policy)))
  ) {
    toMs(policy, 'timeout');
    return {
      type: 'options',
      value: policy,
      make: (duration) => new TimeoutEngine(duration as Duration),
    };
  }
  return sourceOf(
    policy,
    TimeoutEngine,
    (options) => new TimeoutEngine(options as { timeout: Duration }),
  );
}

function isDuration(text: string): boolean {
  try {
    toMs(text, 'timeout');
    return true;
  } catch {
    return false;
  }
}

/**
 * A time budget: `new Timeout('10s').run(fn)` as a class, `@Timeout('2s')` as a decorator — one export, so
 * `instanceof Timeout` holds for instances made either way.
 *
 * @example
 * ```ts
 * await new Timeout('10s').run(async (signal) => fetch(url, { signal }));
 *
 * class Svc {
 *   @Timeout('2s')
 *   async slow() { await fetch(url, { signal: currentSignal() }); }
 * }
 * ```
 * @class
 */
export const Timeout = callableClass(TimeoutEngine, timeoutDecorator);
/** An instance of {@link Timeout}. */
export type Timeout = TimeoutEngine;
