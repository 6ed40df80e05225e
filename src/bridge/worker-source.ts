/*
 * The program every bridge worker runs, as source for `new Worker(source, { eval: true })`. Kept as a string
 * rather than a worker file so that no path has to be resolved in either build (ESM or CommonJS), and so that
 * its `import()` stays a real dynamic import: the CommonJS build would turn one written in TypeScript into
 * `require()`, which cannot load ES modules on Node 20. It must run as a script and as an ES module alike: a
 * worker evaluates it as an ES module when the process was started with `--input-type=module`.
 *
 * Protocol. Main → worker: `{ id?, key, definition?, args }`; the definition comes with the first call of a key
 * on this worker. Worker → main: `{ ok: true, value, loaded: true }` or `{ ok: false, error, loaded? }`, where
 * `error` is an error payload (see remote-error.ts) and `loaded` tells the main thread that the key is cached.
 * Pool workers reply on `parentPort`, echoing the call's `id`: the function may post there too. The synchronous worker (`workerData.sync`) replies on its own port, then
 * sets `state[0]` to 1 and notifies the blocked caller; on exit it sets `state[0]` to 2 and `state[1]` to the
 * exit code, so a caller never waits on a worker that is gone. `state[0]` starts at 3; the program moves it to 1
 * once those handlers are in place, and until then the caller waits a bounded time only.
 */
/** Source of the bridge worker program, for `new Worker(WORKER_SOURCE, { eval: true })`. */
export const WORKER_SOURCE = String.raw`'use strict';
const { parentPort, workerData } = process.getBuiltinModule('node:worker_threads');
const BUILT_IN_ERRORS = ['Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError', 'URIError', 'AggregateError'];
const loaded = new Map();

class BridgeFailure extends Error {}

// The sourceURL names the function's frames in stack traces: "at heavy (dspu-bridge/function-3:1:40)".
function compile(source, key) {
  const sourceUrl = '\n//# sourceURL=dspu-bridge/function-' + key;
  try {
    return (0, eval)('"use strict";(' + source + '\n)' + sourceUrl);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    // A method prints without the function keyword ("heavy(n) { ... }"): it parses as an object member.
    let holder;
    try {
      holder = (0, eval)('"use strict";({' + source + '\n})' + sourceUrl);
    } catch {
      throw new BridgeFailure('its source does not compile on the worker: ' + error.message);
    }
    const keys = Reflect.ownKeys(holder);
    const method = keys.length === 1 ? Object.getOwnPropertyDescriptor(holder, keys[0]).value : undefined;
    if (typeof method !== 'function') throw new BridgeFailure('getters and setters cannot run on a worker');
    return method;
  }
}

async function importExport(definition) {
  const namespace = await import(definition.module);
  let fn = namespace[definition.export];
  // A CommonJS module's exports may only be reachable through its default export.
  if (typeof fn !== 'function' && namespace.default != null) fn = namespace.default[definition.export];
  if (typeof fn !== 'function') {
    const names = Object.keys(namespace).join(', ') || 'none';
    throw new BridgeFailure(definition.module + ' has no exported function "' + definition.export + '" (its exports: ' + names + ')');
  }
  return fn;
}

function canClone(value) {
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}

// Never throws: String() refuses null-prototype objects, revoked Proxies and a toString that throws.
function describe(value) {
  try {
    return String(value);
  } catch {}
  try {
    return Object.prototype.toString.call(value);
  } catch {}
  return 'a ' + typeof value + ' that cannot be inspected';
}

// What the user's code threw is read defensively: a getter or a Proxy trap may throw, and a payload that
// cannot be built would crash the worker instead of answering the call.
function read(value, key) {
  try {
    return value[key];
  } catch {
    return undefined;
  }
}

function isInstance(value, type) {
  try {
    return value instanceof type;
  } catch {
    return false;
  }
}

function thrownPayload(value) {
  return { thrown: canClone(value) ? value : describe(value) };
}

// Frames below the first one of this program are the bridge's machinery, not the user's code.
function ownFrames(stack) {
  const lines = stack.split('\n');
  const end = lines.findIndex((line) => line.includes('[worker eval]'));
  return (end === -1 ? lines : lines.slice(0, end)).join('\n');
}

function errorPayload(error, depth) {
  try {
    return fullPayload(error, depth);
  } catch {
    return { thrown: describe(error) };
  }
}

function fullPayload(error, depth) {
  if (isInstance(error, BridgeFailure)) return { bridge: true, message: error.message };
  if (!isInstance(error, Error)) return thrownPayload(error);
  let base = 'Error';
  for (let proto = Object.getPrototypeOf(error); proto !== null; proto = Object.getPrototypeOf(proto)) {
    const ctor = Object.hasOwn(proto, 'constructor') ? proto.constructor : undefined;
    if (ctor !== undefined && BUILT_IN_ERRORS.includes(ctor.name) && globalThis[ctor.name] === ctor) {
      base = ctor.name;
      break;
    }
  }
  const name = read(error, 'name');
  const message = read(error, 'message');
  // V8 prints the stack when it is first read, with the name: a symbol name makes that read throw.
  const stack = read(error, 'stack');
  const payload = {
    name: name === undefined ? base : describe(name),
    message: message === undefined ? '' : describe(message),
    stack: typeof stack === 'string' ? ownFrames(stack) : '',
    base,
    props: {},
  };
  for (const key of Object.keys(error)) {
    if (['name', 'message', 'stack', 'cause', 'errors'].includes(key)) continue;
    const value = read(error, key);
    if (canClone(value)) payload.props[key] = value;
  }
  if (depth < 4 && 'cause' in error) {
    const cause = read(error, 'cause');
    payload.cause = isInstance(cause, Error) ? errorPayload(cause, depth + 1) : thrownPayload(cause);
  }
  const errors = read(error, 'errors');
  if (depth < 4 && base === 'AggregateError' && Array.isArray(errors)) {
    payload.errors = errors.map((inner) => errorPayload(inner, depth + 1));
  }
  return payload;
}

function invoke(fn, args, reply) {
  let result;
  try {
    result = Reflect.apply(fn, undefined, args);
  } catch (error) {
    return reply({ ok: false, error: errorPayload(error, 0), loaded: true });
  }
  if (result !== null && (typeof result === 'object' || typeof result === 'function') && typeof result.then === 'function') {
    Promise.resolve(result).then(
      (value) => reply({ ok: true, value, loaded: true }),
      (error) => reply({ ok: false, error: errorPayload(error, 0), loaded: true }),
    );
  } else {
    reply({ ok: true, value: result, loaded: true });
  }
}

function run(job, reply) {
  const cached = loaded.get(job.key);
  if (cached !== undefined) return invoke(cached, job.args, reply);
  const definition = job.definition;
  if (definition === undefined) {
    return reply({ ok: false, error: { bridge: true, message: 'the worker lost the function (internal error)' } });
  }
  const ready = (fn) => {
    loaded.set(job.key, fn);
    invoke(fn, job.args, reply);
  };
  const failed = (error) => reply({ ok: false, error: errorPayload(error, 0) });
  if ('source' in definition) {
    let fn;
    try {
      fn = compile(definition.source, job.key);
    } catch (error) {
      return failed(error);
    }
    return ready(fn);
  }
  importExport(definition).then(ready, failed);
}

function send(port, message) {
  try {
    port.postMessage(message);
  } catch (error) {
    const what = message.ok ? 'its result' : 'its error';
    port.postMessage({
      id: message.id,
      ok: false,
      loaded: message.loaded,
      error: { bridge: true, message: 'The function ran, but ' + what + ' cannot be sent back from the worker: ' + error.message },
    });
  }
}

if (workerData && workerData.sync) {
  const { port, state } = workerData.sync;
  const flag = new Int32Array(state);
  let busy = false;
  const settle = (value) => {
    Atomics.store(flag, 0, value);
    Atomics.notify(flag, 0);
  };
  process.on('exit', (code) => {
    Atomics.store(flag, 1, code);
    settle(2);
  });
  // An error nobody awaited (a throwing timer) leaves the worker in an unknown state: report it and go.
  process.on('uncaughtException', (error) => {
    if (busy) {
      busy = false;
      send(port, { ok: false, crashed: true, error: errorPayload(error, 0) });
      settle(1);
    }
    process.exit(1);
  });
  // Ready: the handlers above will tell the caller about any exit from now on.
  if (Atomics.compareExchange(flag, 0, 3, 1) === 3) Atomics.notify(flag, 0);
  parentPort.on('message', (job) => {
    busy = true;
    run(job, (message) => {
      if (!busy) return;
      busy = false;
      send(port, message);
      settle(1);
    });
  });
} else {
  parentPort.on('message', (job) => run(job, (message) => {
    message.id = job.id;
    send(parentPort, message);
  }));
}
`;
