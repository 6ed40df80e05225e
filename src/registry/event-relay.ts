import { EventEmitter, type AnyEvent, type Listener, type Unsubscribe } from '../core/events.js';
import { ignore } from '../core/ignore.js';

/** What a relay knows of one engine: its kind and name (added to every event it relays) and its events. */
export interface RelayedEngine {
  readonly kind: string;
  readonly name: string;
  readonly events: EventEmitter<object>;
}

interface Relayed {
  /** Whose kind and name the events carry: the earliest holder still holding. */
  source: RelayedEngine;
  /** The engine listeners that relay its events, by event type (or `'*'`). */
  readonly forwards: Map<PropertyKey, Unsubscribe>;
  /** Every holder that asked to relay this engine, earliest first: it is relayed once, under the first. */
  readonly holders: RelayedEngine[];
}

/**
 * Re-emits the events of many engines from one emitter, each with the engine's `kind` and `name` added. It listens
 * to an engine only for the event types somebody listens to here, so an engine nobody observes builds no event
 * objects at all (engines check `events.has(type)` first).
 */
export class EventRelay<Events extends object> {
  private readonly emitter = new EventEmitter<Events>();
  // By the engine's emitter: one engine held twice (two names, a name and a decorator) is relayed once.
  private readonly engines = new Map<EventEmitter<object>, Relayed>();
  // Listeners per event type (or '*').
  private readonly listened = new Map<PropertyKey, number>();
  private closed = false;

  /** Listens to one type of relayed event, or to all of them with `'*'`. */
  on(type: keyof Events | '*', listener: Listener<never>): Unsubscribe {
    const off = this.emitter.on(type as '*', listener as Listener<AnyEvent<Events>>);
    const count = (this.listened.get(type) ?? 0) + 1;
    this.listened.set(type, count);
    if (count === 1) for (const relayed of this.engines.values()) this.forward(relayed);
    let active = true;
    const unsubscribe = () => {
      if (!active) return;
      active = false;
      off();
      const left = this.listened.get(type)! - 1;
      if (left > 0) {
        this.listened.set(type, left);
        return;
      }
      this.listened.delete(type);
      for (const relayed of this.engines.values()) this.forward(relayed);
    };
    return Object.assign(unsubscribe, { [Symbol.dispose]: unsubscribe });
  }

  /**
   * Starts relaying `source`'s events, unless they are relayed already (the same engine under another name):
   * then they stay relayed once, under the name of the earliest holder still holding, until every holder has
   * stopped. The returned function stops.
   */
  add(source: RelayedEngine): () => void {
    if (this.closed) return ignore;
    const holder = { ...source };
    let relayed = this.engines.get(source.events);
    if (relayed === undefined) {
      relayed = { source: holder, forwards: new Map(), holders: [] };
      this.engines.set(source.events, relayed);
      if (this.listened.size > 0) this.forward(relayed);
    }
    const held = relayed;
    held.holders.push(holder);
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      held.holders.splice(held.holders.indexOf(holder), 1);
      if (held.holders.length > 0 && held.source !== holder) return;
      // The name the events carried went: they carry the next holder's from now on, or stop.
      this.stopForwards(held);
      if (held.holders.length === 0) {
        this.engines.delete(holder.events);
        return;
      }
      held.source = held.holders[0]!;
      if (this.engines.get(holder.events) === held) this.forward(held);
    };
  }

  /**
   * Stops relaying, for good: every engine's forwards are removed, so an engine that outlives this relay holds
   * nothing of it or of its listeners, and engines added later are not relayed.
   */
  close(): void {
    this.closed = true;
    for (const relayed of this.engines.values()) this.stopForwards(relayed);
    this.engines.clear();
  }

  private stopForwards({ forwards }: Relayed): void {
    for (const off of forwards.values()) off();
    forwards.clear();
  }

  /** Makes `relayed` forward exactly the listened types: one `'*'` forward while a `'*'` listener exists. */
  private forward(relayed: Relayed): void {
    const wanted: PropertyKey[] = this.listened.has('*') ? ['*'] : [...this.listened.keys()];
    const { forwards } = relayed;
    for (const [type, off] of forwards) {
      if (wanted.includes(type)) continue;
      off();
      forwards.delete(type);
    }
    for (const type of wanted)
      if (!forwards.has(type)) forwards.set(type, this.forwardOne(relayed.source, type));
  }

  private forwardOne(source: RelayedEngine, type: PropertyKey): Unsubscribe {
    const { kind, name } = source;
    // `{ kind, name, ...payload }`, not `{ ...payload, kind, name }`: on Node 20 properties added after a
    // spread take V8's slow path (about 1 µs against 20 ns). No engine payload has a `kind` or `name` field.
    const events = source.events as EventEmitter<Record<PropertyKey, object>>;
    if (type === '*') {
      return events.on('*', (event: { type: PropertyKey }) => {
        const { type: eventType, ...payload } = event;
        this.emitter.emit(eventType as keyof Events, { kind, name, ...payload } as never);
      });
    }
    return events.on(type, (payload) =>
      this.emitter.emit(type as keyof Events, { kind, name, ...payload } as never),
    );
  }
}
