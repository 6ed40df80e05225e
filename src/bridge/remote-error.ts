import { BridgeError, describeValue } from '../core/errors.js';
import type { Target } from './target.js';

/** An error as a worker sends it back (built in worker-source.ts). */
export type ErrorPayload =
  | { bridge: true; message: string }
  | { thrown: unknown }
  | {
      name: string;
      message: string;
      stack: string;
      base: string;
      props: Record<string, unknown>;
      cause?: ErrorPayload;
      errors?: ErrorPayload[];
    };

/** A worker's answer to one call. */
export type Reply =
  | { ok: true; value: unknown; loaded: true }
  | { ok: false; error: ErrorPayload; loaded?: boolean; crashed?: boolean };

type ErrorClass = new (message?: string) => Error;

const BUILT_IN: Readonly<Record<string, ErrorClass>> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

const WORKER_MARK = '\n    --- on the worker thread ---';

/**
 * Rebuilds, in the calling thread, the error a worker reported: same built-in class (a subclass of
 * `TypeError` comes back as a `TypeError` named like the subclass), same message and own properties, and a
 * stack that is the caller's followed by the worker's. Call it where the caller's frames are on the stack
 * (after the `await`, or in the blocked synchronous call) so the stack shows who called the bridge.
 */
export function toCallerError(payload: ErrorPayload, target: Target): Error {
  const captured = capturedVariable(payload, target);
  if (captured !== undefined) {
    const error = new BridgeError(
      'A function sent to a worker thread must be self-contained (no captured variables): ' +
        `${target.label} uses "${captured}", which is not defined on the worker. Only the source of the ` +
        'function is sent, never the variables it captures. ' +
        inserted(captured) +
        'Pass the value as an argument, or export the function from a module and use the module form ' +
        "{ module: new URL('./math.js', import.meta.url), export: 'heavy' }.",
      { cause: rebuild(payload, 1) },
    );
    Error.captureStackTrace(error, toCallerError);
    return error;
  }
  const error = rebuild(payload, 0);
  // Full errors got the caller's frames in rebuild(); bridge-side failures still need them.
  if (!('base' in payload)) Error.captureStackTrace(error, toCallerError);
  return error;
}

/** The error of a call whose worker died under it. */
export function crashError(target: Target, detail: string, cause?: unknown): BridgeError {
  return new BridgeError(
    `The worker thread running ${target.label} ${detail}.`,
    cause === undefined ? undefined : { cause },
  );
}

// Down-levelled async functions call `__awaiter`, Babel's `_asyncToGenerator`, istanbul counts with `cov_…`.
function inserted(name: string): string {
  return /^(_|cov_)/.test(name)
    ? `"${name}" looks like a helper that a compiler or coverage tool inserted: compile for ES2017 or ` +
        'later, or use the module form. '
    : '';
}

// A source-form function reading a name the worker lacks is, nearly always, a captured variable.
function capturedVariable(payload: ErrorPayload, target: Target): string | undefined {
  if (
    !('base' in payload) ||
    payload.base !== 'ReferenceError' ||
    !('source' in target.definition)
  ) {
    return undefined;
  }
  const name = /^(\S+) is not defined$/.exec(payload.message)?.[1];
  return name !== undefined && target.definition.source.includes(name) ? name : undefined;
}

function rebuild(payload: ErrorPayload, depth: number): Error {
  if ('bridge' in payload) return new BridgeError(payload.message);
  if ('thrown' in payload) {
    return new BridgeError(
      `The worker function threw a non-Error value: ${describeValue(payload.thrown)}`,
      { cause: payload.thrown },
    );
  }
  const error = payload.base === 'AggregateError' ? aggregate(payload, depth) : plain(payload);
  for (const [key, value] of Object.entries(payload.props)) {
    Object.defineProperty(error, key, {
      value,
      writable: true,
      configurable: true,
      enumerable: true,
    });
  }
  if (payload.cause !== undefined) {
    const cause =
      'thrown' in payload.cause ? payload.cause.thrown : rebuild(payload.cause, depth + 1);
    Object.defineProperty(error, 'cause', { value: cause, writable: true, configurable: true });
  }
  if (payload.name !== error.name) {
    Object.defineProperty(error, 'name', {
      value: payload.name,
      writable: true,
      configurable: true,
    });
  }
  if (depth === 0) {
    Error.captureStackTrace(error, toCallerError);
    error.stack = joinStacks(error, payload);
  } else {
    error.stack = payload.stack;
  }
  return error;
}

function plain(payload: { base: string; message: string }): Error {
  const ErrorType = BUILT_IN[payload.base] ?? Error;
  return new ErrorType(payload.message);
}

function aggregate(payload: { message: string; errors?: ErrorPayload[] }, depth: number): Error {
  const inner = (payload.errors ?? []).map((item) =>
    'thrown' in item ? item.thrown : rebuild(item, depth + 1),
  );
  return new AggregateError(inner, payload.message);
}

// Caller frames first (where the await resumed), then the worker's frames under a marker line.
function joinStacks(
  error: Error,
  payload: { name: string; message: string; stack: string },
): string {
  const local = error.stack ?? '';
  const frameStart = local.indexOf('\n    at ');
  const callerFrames = frameStart === -1 ? '' : local.slice(frameStart);
  const workerFrameStart = payload.stack.indexOf('\n    at ');
  const workerFrames = workerFrameStart === -1 ? '' : payload.stack.slice(workerFrameStart);
  return `${payload.name}: ${payload.message}${callerFrames}${WORKER_MARK}${workerFrames}`;
}
