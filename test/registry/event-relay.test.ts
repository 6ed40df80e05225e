import { expect } from 'chai';
import { EventEmitter } from '../../src/index.js';
import { EventRelay } from '../../src/registry/event-relay.js';

interface Events {
  ping: { n: number };
  pong: { n: number };
}

function engineEvents(): EventEmitter<object> {
  return new EventEmitter<Events>() as unknown as EventEmitter<object>;
}

function has(events: EventEmitter<object>, type: keyof Events): boolean {
  return (events as unknown as EventEmitter<Events>).has(type);
}

function emit(events: EventEmitter<object>, type: keyof Events, n: number): void {
  (events as unknown as EventEmitter<Events>).emit(type, { n });
}

/** Listens to `types` on `relay`, noting each event as `name type n`. */
function listen(relay: EventRelay<Events>, ...types: (keyof Events)[]): string[] {
  const heard: string[] = [];
  for (const type of types) {
    relay.on(type, (event: { name: string; n: number }) =>
      heard.push(`${event.name} ${type} ${event.n}`),
    );
  }
  return heard;
}

describe('EventRelay', () => {
  it('relays an event once when listeners of another type come after', () => {
    const relay = new EventRelay<Events>();
    const events = engineEvents();
    relay.add({ kind: 'test', name: 'a', events });
    const heard = listen(relay, 'ping', 'pong');
    emit(events, 'ping', 1);
    emit(events, 'pong', 2);
    expect(heard).to.deep.equal(['a ping 1', 'a pong 2']);
  });

  it('stops one holder once however often its stop is called: the engine stays relayed for the others', () => {
    const relay = new EventRelay<Events>();
    const events = engineEvents();
    relay.add({ kind: 'test', name: 'a', events });
    const stopB = relay.add({ kind: 'test', name: 'b', events });
    const heard = listen(relay, 'ping');
    stopB();
    stopB();
    emit(events, 'ping', 1);
    expect(heard).to.deep.equal(['a ping 1']);
  });

  it('relays nothing once closed: neither an engine added later nor one whose name passes to another holder', () => {
    const relay = new EventRelay<Events>();
    const shared = engineEvents();
    const stopA = relay.add({ kind: 'test', name: 'a', events: shared });
    relay.add({ kind: 'test', name: 'b', events: shared });
    const heard = listen(relay, 'ping');
    relay.close();
    const later = engineEvents();
    const stopLater = relay.add({ kind: 'test', name: 'later', events: later });
    expect(stopLater).not.to.throw();
    stopA();
    emit(shared, 'ping', 1);
    emit(later, 'ping', 2);
    expect(heard).to.deep.equal([]);
    expect(has(shared, 'ping')).to.equal(false);
    expect(has(later, 'ping')).to.equal(false);
  });

  it('keeps relaying a type to its other listeners when one is disposed, however often', () => {
    const relay = new EventRelay<Events>();
    const events = engineEvents();
    relay.add({ kind: 'test', name: 'a', events });
    const heard: string[] = [];
    const dispose = relay.on('ping', () => heard.push('first'));
    relay.on('ping', () => heard.push('second'));
    dispose();
    dispose();
    emit(events, 'ping', 1);
    expect(heard).to.deep.equal(['second']);
  });
});
