import { BridgeError, describeValue } from '../core/errors.js';
import type { Target } from './target.js';

/**
 * Explains why a call's message could not be posted: finds the first argument that structured clone refuses
 * (only on this failure path, so successful calls never pay for a second clone).
 */
export function cloneFailure(
  target: Target,
  args: readonly unknown[],
  error: unknown,
): BridgeError {
  const reason = error instanceof Error ? error.message : String(error);
  for (let index = 0; index < args.length; index++) {
    try {
      structuredClone(args[index]);
    } catch (cloneError) {
      return new BridgeError(
        `Argument ${index} of ${target.label} (${describe(args[index])}) cannot be sent to a worker ` +
          'thread: arguments are copied by structured clone, which cannot copy functions, symbols or ' +
          `objects that hold them (${(cloneError as Error).message}).`,
        { cause: cloneError },
      );
    }
  }
  return new BridgeError(
    `The arguments of ${target.label} cannot be sent to a worker thread: ${reason}`,
    {
      cause: error,
    },
  );
}

function describe(value: unknown): string {
  return typeof value === 'symbol' ? value.toString() : describeValue(value);
}
