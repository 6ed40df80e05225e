import { AsyncLocalStorage } from 'node:async_hooks';
import { ConfigError, ResilienceError } from './errors.js';
import type { LazyAbort } from './lazy-abort.js';

/** What a policy knows about the call it is running: its abort and the attempt number. */
export interface CallContext {
  /** Aborts on timeout, fail-fast or the caller's abort; undefined when nothing can abort the call. */
  readonly cancellation: LazyAbort | undefined;
  /** 1-based number of the current try (1 outside any retry). */
  readonly attempt: number;
}

/*
 * Context without a tax: on Node 20 and 22, one AsyncLocalStorage.run() anywhere turns on promise hooks and
 * makes every await in the process ~2.6x slower. There the context is by default a plain variable, set while a
 * policy calls the user's function and restored as soon as the function has returned its promise;
 * enableAsyncContext() opts into AsyncLocalStorage. From Node 24 on, AsyncLocalStorage is built on
 * AsyncContextFrame and leaves awaits as fast as they were, so it is the default there; each policy call then
 * pays for one run(), a few hundred nanoseconds.
 */
let syncContext: CallContext | undefined;
let asyncContext: AsyncLocalStorage<CallContext> | undefined = asyncContextIsFree()
  ? new AsyncLocalStorage<CallContext>()
  : undefined;

/** True on Node >= 24, unless AsyncContextFrame was turned off with `--no-async-context-frame`. */
function asyncContextIsFree(): boolean {
  const major = Number(process.versions.node.split('.')[0]);
  const options = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
  return major >= 24 && !options.includes('--no-async-context-frame');
}

/*
 * Where the context follows awaits, code outside any policy is in this context: nothing can abort it, it is the
 * first try. A policy whose call context would say the same (a retry's first try outside any policy) then runs
 * the call without AsyncLocalStorage.run(), which costs a few hundred nanoseconds even on Node 24.
 */
const ROOT: CallContext = Object.freeze({ cancellation: undefined, attempt: 1 });

/** Calls `fn(arg)` with `context` as the current call context. */
export function runInContext<A, R>(context: CallContext, fn: (arg: A) => R, arg: A): R {
  if (asyncContext) {
    const current = asyncContext.getStore() ?? ROOT;
    if (current.cancellation === context.cancellation && current.attempt === context.attempt)
      return fn(arg);
    return asyncContext.run(context, fn, arg);
  }
  const previous = syncContext;
  syncContext = context;
  try {
    return fn(arg);
  } finally {
    syncContext = previous;
  }
}

/**
 * True when no call context is current and contexts live in a plain variable (no {@link enableAsyncContext}):
 * a policy's hot path may then make its own context current with {@link setOutermostContext} and clear it
 * after, instead of going through {@link runInContext}, whose call site sees every policy's function and which
 * V8 therefore cannot inline through.
 * @internal
 */
export function isOutsideContext(): boolean {
  return syncContext === undefined && asyncContext === undefined;
}

/**
 * Sets (or, with `undefined`, clears) the context of an outermost call: only after {@link isOutsideContext}.
 * @internal
 */
export function setOutermostContext(context: CallContext | undefined): void {
  syncContext = context;
}

/** The current call context, or undefined outside any policy. */
export function activeContext(): CallContext | undefined {
  return asyncContext ? asyncContext.getStore() : syncContext;
}

/**
 * Makes `currentSignal()` and `currentAttempt()` follow `await`s by switching to `AsyncLocalStorage`.
 * Cost: on Node 20 and 22 this turns on promise hooks, and every `await` in the whole process becomes about
 * 2.6× slower. Call it once at startup, only if you need the context after an `await`. On Node 24 and later
 * the context already follows awaits (there `AsyncLocalStorage` leaves awaits as fast as they were), and this
 * does nothing.
 */
export function enableAsyncContext(): void {
  asyncContext ??= new AsyncLocalStorage<CallContext>();
}

/** True when the context follows awaits: on Node 24 and later, or once {@link enableAsyncContext} was called. */
export function isAsyncContextEnabled(): boolean {
  return asyncContext !== undefined;
}

/**
 * Returns `fn` bound to the current call context, so that code it runs later (after an `await`, in a `.then`)
 * still sees this call's `currentSignal()` and `currentAttempt()` while it starts. Outside any policy, or once
 * {@link enableAsyncContext} lets the context follow awaits, `fn` itself is returned.
 *
 * @throws ConfigError when `fn` is not a function
 * @example
 * ```ts
 * const start = bindContext((url: string) => fetch(url, { signal: currentSignal() }));
 * await permits.acquire();
 * await start(url); // the signal of the call that created `start`
 * ```
 */
export function bindContext<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
  if (typeof fn !== 'function') throw ConfigError.invalid('fn', 'a function', fn);
  const context = activeContext();
  if (context === undefined || asyncContext) return fn;
  const spread = (args: A) => fn(...args);
  return (...args: A) => runInContext(context, spread, args);
}

let neverAborted: AbortSignal | undefined;

function requireContext(what: string): CallContext {
  const context = activeContext();
  if (context) return context;
  // Following awaits, outside any policy is a context too: nothing can abort it (see ROOT).
  if (asyncContext) return ROOT;
  throw new ResilienceError(
    `${what} was called outside a policy's synchronous context. Call it before the first \`await\` of the ` +
      `decorated method or policy callback (\`const signal = currentSignal();\` on its first line), or call ` +
      `enableAsyncContext() once at startup so the context follows awaits (on Node 20 and 22 this slows every ` +
      `await in the process; on Node 24 and later the context follows awaits by default).`,
    'ERR_NO_CONTEXT',
  );
}

/**
 * The signal of the call the code runs in, when something can abort it (a caller's `signal` or `withSignal`, an
 * outer timeout, a retry or hedge that gave up on it); undefined when nothing can, and outside a policy. Unlike
 * {@link currentSignal} it never throws: it is for a policy of your own, which reads it at the start of its
 * `executeWith` and, once it aborts, does nothing more for the call.
 */
export function callerSignal(): AbortSignal | undefined {
  return activeContext()?.cancellation?.signal;
}

/**
 * The `AbortSignal` of the current call: it aborts on timeout, fail-fast or the caller's abort. On Node 24
 * and later it can be read anywhere in the call; on Node 20 and 22, read it before the first `await` of a
 * decorated method (or anywhere, after {@link enableAsyncContext}).
 *
 * @example
 * ```ts
 * class Api {
 *   @Timeout('2s')
 *   async load(url: string) {
 *     const signal = currentSignal();
 *     return (await fetch(url, { signal })).json();
 *   }
 * }
 * ```
 * @throws ResilienceError when called outside a policy's synchronous context while the context does not follow
 *   awaits (Node 20 and 22 without {@link enableAsyncContext}); where it does, code outside any policy gets a
 *   signal that never aborts
 */
export function currentSignal(): AbortSignal {
  const context = requireContext('currentSignal()');
  if (context.cancellation) return context.cancellation.signal;
  return (neverAborted ??= new AbortController().signal);
}

/**
 * The 1-based number of the current try inside a retried call (1 outside a retry). Same rules as
 * {@link currentSignal}.
 * @throws ResilienceError when called outside a policy's context
 */
export function currentAttempt(): number {
  return requireContext('currentAttempt()').attempt;
}
