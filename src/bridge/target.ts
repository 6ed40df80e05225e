import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BridgeError, ConfigError, describeValue } from '../core/errors.js';
import { OptionsChecker, isInstance, isPlainObject } from '../core/validate.js';

/**
 * A function exported by a module, run on a worker by importing the module there. Use it when the function
 * needs imports or shared helpers: unlike a function sent as source, it may use anything its module imports.
 *
 * @example
 * ```ts
 * const heavy = syncToAsync<[number], number>({
 *   module: new URL('./math.js', import.meta.url),
 *   export: 'heavy',
 * });
 * ```
 */
export interface ModuleFunction {
  /** The module: a `URL`, an absolute path, a URL string (`file:`, `data:`), or a package name. */
  module: URL | string;
  /** The name of the exported function (default `'default'`). */
  export?: string;
}

/**
 * What the bridge can run on a worker: a self-contained function (sent as source) or a module export.
 * @typeParam F - the function's type
 */
export type BridgeTarget<F extends (...args: never[]) => unknown> = F | ModuleFunction;

/**
 * How a worker finds the function: by `key` once it has loaded it, by `definition` the first time. Keys are
 * shared by every function with the same source, so a worker compiles each distinct source once.
 */
export interface Target {
  readonly key: number;
  readonly definition: Definition;
  /** For messages: `function heavy`, `an anonymous function`, `export "heavy" of file:///…/math.js`. */
  readonly label: string;
}

/** What a worker needs to load a target, as sent in the first message that uses it. */
export type Definition =
  { readonly source: string } | { readonly module: string; readonly export: string };

let nextKey = 1;
const keysBySource = new Map<string, number>();
const targetsByFunction = new WeakMap<object, Target>();
const targetsByModule = new Map<string, Target>();

/**
 * Turns what the user passed into a {@link Target}, once per function or module export. Throws a
 * `BridgeError` for functions whose source cannot run elsewhere and a `ConfigError` for anything else.
 */
export function toTarget(value: unknown, option = 'fn'): Target {
  if (typeof value === 'function') {
    return (
      targetsByFunction.get(value) ?? fromFunction(value as (...args: never[]) => unknown, option)
    );
  }
  if (isPlainObject(value)) {
    // Own keys only, each read once: an inherited `module` does not make `{}` a module target.
    const checker = new OptionsChecker(value, `${option}.`).onlyKnown(['module', 'export']);
    checker.throwIfInvalid();
    if (checker.raw('module') !== undefined)
      return fromModule(checker.raw('module'), checker.raw('export'), option);
  }
  throw ConfigError.invalid(option, 'a self-contained function or { module, export }', value);
}

function fromFunction(fn: (...args: never[]) => unknown, option: string): Target {
  let source: string;
  let name: unknown;
  try {
    source = Function.prototype.toString.call(fn);
    name = fn.name;
  } catch {
    // a revoked Proxy of a function, or a name getter that throws
    throw ConfigError.invalid(option, 'a self-contained function or { module, export }', fn);
  }
  const label = typeof name === 'string' && name ? `function ${name}` : 'an anonymous function';
  // Bound and built-in functions print as `function name() { [native code] }`: nothing a worker can compile.
  if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
    throw new BridgeError(
      `The ${label.replace(/^an /, '')} cannot run on a worker thread: it is a native or bound function, whose source is not ` +
        'available. Wrap it in a self-contained function, or use the module form ' +
        "{ module: new URL('./math.js', import.meta.url), export: 'heavy' }.",
    );
  }
  if (/^class\b/.test(source)) {
    throw new BridgeError(
      `The class ${typeof name === 'string' && name ? name : '(anonymous)'} cannot run on a worker thread: pass a function.`,
    );
  }
  let key = keysBySource.get(source);
  if (key === undefined) {
    key = nextKey++;
    keysBySource.set(source, key);
  }
  const target: Target = { key, definition: { source }, label };
  targetsByFunction.set(fn, target);
  return target;
}

function fromModule(module: unknown, exported: unknown, option: string): Target {
  const name = exported ?? 'default';
  if (typeof name !== 'string' || name === '') {
    throw ConfigError.invalid(`${option}.export`, 'the name of an exported function', name);
  }
  const url = moduleUrl(module, `${option}.module`);
  const id = `${url}#${name}`;
  let target = targetsByModule.get(id);
  if (target === undefined) {
    target = {
      key: nextKey++,
      definition: { module: url, export: name },
      label: `export "${name}" of ${url}`,
    };
    targetsByModule.set(id, target);
  }
  return target;
}

// A relative path has no good base here (the caller's file is unknown and the cwd is a trap), so it is refused.
function moduleUrl(value: unknown, option: string): string {
  if (isInstance(value, URL)) {
    try {
      return value.href;
    } catch {
      // a Proxy of a URL: its getters refuse it
      throw ConfigError.invalid(option, 'a URL, an absolute path or a package name', value);
    }
  }
  if (typeof value === 'string' && value !== '') {
    if (isAbsolute(value)) return pathToFileURL(value).href;
    if (/^\.\.?[/\\]/.test(value)) {
      throw new ConfigError(
        `${option}: expected a URL, an absolute path or a package name, got the relative path ` +
          `${describeValue(value)}; resolve it first, e.g. new URL(${JSON.stringify(value)}, import.meta.url)`,
      );
    }
    return value;
  }
  throw ConfigError.invalid(option, 'a URL, an absolute path or a package name', value);
}
