import { ConfigError } from './errors.js';

/** A listener of one event type. */
export type Listener<T> = (event: T) => void;

/** What `on()` returns: call it (or dispose it with `using`) to stop listening. */
export type Unsubscribe = (() => void) & Disposable;

/** An event of any type of a map, tagged with its type name; what a `'*'` listener receives. */
export type AnyEvent<Events> = { [K in keyof Events]: { type: K } & Events[K] }[keyof Events];

/**
 * A tiny typed event emitter. Engines call {@link EventEmitter.has} before building an event, so an engine
 * nobody listens to builds no event objects and takes no timestamps.
 */
export class EventEmitter<Events extends object> {
  // Keyed by PropertyKey, not keyof Events, so an emitter of any event map is an EventEmitter<object>.
  private readonly listeners = new Map<PropertyKey, Listener<never>[]>();

  /**
   * Listens to one event type, or to every event with `'*'` (the listener then receives `{ type, ...payload }`).
   * A listener that throws is isolated: the engine and the other listeners carry on.
   */
  on<K extends keyof Events>(type: K, listener: Listener<Events[K]>): Unsubscribe;
  on(type: '*', listener: Listener<AnyEvent<Events>>): Unsubscribe;
  on(type: keyof Events | '*', listener: Listener<never>): Unsubscribe {
    // Delivery swallows what a listener throws: a non-function would fail there unseen, on every event.
    if (typeof listener !== 'function')
      throw ConfigError.invalid('listener', 'a function', listener);
    // Lists are replaced, never changed in place, so emit() can iterate one without copying it per event.
    const list = this.listeners.get(type);
    this.listeners.set(type, list ? [...list, listener] : [listener]);
    const off = () => {
      const current = this.listeners.get(type);
      const index = current ? current.indexOf(listener) : -1;
      if (index < 0) return;
      if (current!.length === 1) this.listeners.delete(type);
      else
        this.listeners.set(
          type,
          current!.filter((_, i) => i !== index),
        );
    };
    return Object.assign(off, { [Symbol.dispose]: off });
  }

  /** True when someone listens to `type` (directly or through `'*'`). */
  has(type: keyof Events): boolean {
    return this.listeners.size !== 0 && (this.listeners.has(type) || this.listeners.has('*'));
  }

  /** Delivers `payload` to the listeners of `type`, then to the `'*'` listeners. */
  emit<K extends keyof Events>(type: K, payload: Events[K]): void {
    const direct = this.listeners.get(type);
    if (direct) for (const listener of direct) deliver(listener as Listener<Events[K]>, payload);
    const any = this.listeners.get('*');
    if (any) {
      const tagged = { type, ...payload } as AnyEvent<Events>;
      for (const listener of any) deliver(listener as Listener<AnyEvent<Events>>, tagged);
    }
  }
}

function deliver<T>(listener: Listener<T>, event: T): void {
  try {
    const result = listener(event) as unknown;
    // An async listener's rejection must not become an unhandled rejection of the user's process.
    if (result instanceof Promise) result.catch(() => undefined);
  } catch {
    // A broken listener must never break the policy that emitted the event.
  }
}

/**
 * What `callback`, one of the user's, answers for `arg`. One that throws answers `false`, and its error goes to
 * `report` (an engine's `callbackError` event): a broken callback never decides the outcome of a call.
 */
export function askCallback<A>(
  callback: (arg: A) => unknown,
  arg: A,
  report: (error: unknown) => void,
): unknown {
  try {
    return callback(arg);
  } catch (error) {
    report(error);
    return false;
  }
}
