import { expect } from 'chai';
import sinon from 'sinon';
import {
  CircuitBreaker,
  EventEmitter,
  RateLimited,
  ResilienceRegistry,
  Retry,
  Timeout,
  bindRegistry,
  type AnyEvent,
  type RegistryEvents,
} from '../../src/index.js';
import { observe, useFakeClock } from '../support/fake-clock.js';

class Down extends Error {}

const config = () =>
  new ResilienceRegistry({
    retry: { flaky: { maxAttempts: 3, baseDelay: 10, strategy: 'constant' } },
    circuitBreaker: { payments: { failureThreshold: 2, timeout: '1m' } },
    rateLimiter: { github: { rate: 1, per: '1s' } },
  });

// A stack that retries, opens a breaker, throttles and times out: every kind of event has a reason to fire.
function busyService(registry: ResilienceRegistry) {
  class Service {
    @Retry('flaky')
    @CircuitBreaker('payments')
    async pay() {
      throw new Down('declined');
    }

    @RateLimited('github')
    @Timeout(50)
    async slow() {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return bindRegistry(new Service(), registry);
}

async function exercise(registry: ResilienceRegistry, clock: sinon.SinonFakeTimers) {
  const service = busyService(registry);
  const calls = [observe(service.pay()), observe(service.slow()), observe(service.slow())];
  await clock.tickAsync(2000);
  expect(calls.every((call) => call.error !== undefined)).to.equal(true);
}

describe('events: registry', () => {
  const time = useFakeClock();

  it("delivers every event to a '*' listener with its type, kind and name (a logging hook)", async () => {
    const registry = config();
    const log: string[] = [];
    registry.on('*', (e) => log.push(`${e.kind} ${e.name}: ${e.type}`));
    await exercise(registry, time.clock);
    expect(log).to.deep.equal([
      'rateLimiter github: throttled',
      'circuitBreaker payments: failure',
      'retry flaky: retry',
      'circuitBreaker payments: failure',
      'circuitBreaker payments: stateChange',
      'retry flaky: retry',
      'circuitBreaker payments: rejected',
      'retry flaky: giveUp',
      'timeout Service.slow: timeout',
      'timeout Service.slow: timeout',
    ]);
  });

  it("gives a '*' listener the event's own payload fields", async () => {
    const registry = config();
    const seen: AnyEvent<RegistryEvents>[] = [];
    registry.on('*', (e) => seen.push(e));
    const breaker = registry.circuitBreaker('payments');
    await breaker.protect(() => Promise.resolve(1));
    expect(seen).to.deep.equal([
      { type: 'success', kind: 'circuitBreaker', name: 'payments', state: 'closed' },
    ]);
  });

  it('names the inline policies of a decorated method Class.method', async () => {
    const registry = new ResilienceRegistry();
    const names: string[] = [];
    registry.on('retry', ({ kind, name }) => names.push(`${kind} ${name}`));
    class Client {
      @Retry({ maxAttempts: 2, baseDelay: 1 })
      async fetch() {
        throw new Down('x');
      }
    }
    const call = observe(bindRegistry(new Client(), registry).fetch());
    await time.clock.tickAsync(1);
    expect(call.error).to.be.instanceOf(Down);
    expect(names).to.deep.equal(['retry Client.fetch']);
  });

  it('builds no event object while nobody listens', async () => {
    const emit = sinon.spy(EventEmitter.prototype, 'emit');
    try {
      await exercise(config(), time.clock);
      expect(emit.callCount).to.equal(0);
    } finally {
      emit.restore();
    }
  });

  it('leaves engines without listeners until someone listens to the registry', () => {
    const registry = config();
    const breaker = registry.circuitBreaker('payments');
    expect(breaker.events.has('stateChange')).to.equal(false);
    const off = registry.on('stateChange', () => undefined);
    expect(breaker.events.has('stateChange')).to.equal(true);
    off();
    expect(breaker.events.has('stateChange')).to.equal(false);
  });

  it('asks engines only for the event types someone listens to', () => {
    const registry = config();
    const breaker = registry.circuitBreaker('payments');
    registry.on('stateChange', () => undefined);
    expect(breaker.events.has('success')).to.equal(false);
    const off = registry.on('*', () => undefined);
    expect(breaker.events.has('success')).to.equal(true);
    off();
    expect(breaker.events.has('success')).to.equal(false);
  });

  it("delivers an event once to a typed listener while a '*' listener also listens", async () => {
    const registry = config();
    const typed: unknown[] = [];
    const any: unknown[] = [];
    registry.on('stateChange', (event) => typed.push(event));
    registry.on('*', (event) => any.push(event));
    registry.circuitBreaker('payments').isolate();
    expect(typed).to.have.length(1);
    expect(any).to.have.length(1);
  });

  it('forwards the events of an engine created after the listener', async () => {
    const registry = config();
    const seen: unknown[] = [];
    registry.on('stateChange', (event) => seen.push(event));
    await registry
      .circuitBreaker('payments')
      .protect(() => Promise.reject(new Down('x')))
      .catch(() => undefined);
    registry.circuitBreaker('payments').isolate();
    expect(seen).to.deep.equal([
      { from: 'closed', to: 'open', kind: 'circuitBreaker', name: 'payments' },
    ]);
  });

  it('keeps forwarding after configure() replaces a named engine', async () => {
    const registry = config();
    const seen: unknown[] = [];
    registry.on('stateChange', (event) => seen.push(event));
    registry.circuitBreaker('payments');
    registry.configure({ circuitBreaker: { payments: { failureThreshold: 1 } } });
    await registry
      .circuitBreaker('payments')
      .protect(() => Promise.reject(new Down('x')))
      .catch(() => undefined);
    expect(seen).to.deep.equal([
      { from: 'closed', to: 'open', kind: 'circuitBreaker', name: 'payments' },
    ]);
  });

  it('stops delivering once the listener is disposed', async () => {
    const registry = config();
    const seen: unknown[] = [];
    {
      using _listening = registry.on('*', (event) => seen.push(event));
      registry.circuitBreaker('payments').isolate();
    }
    await registry.circuitBreaker('payments').reset();
    expect(seen).to.have.length(1);
  });

  it('keeps the call and the other listeners going when a listener throws', async () => {
    const registry = config();
    const seen: string[] = [];
    registry.on('*', () => {
      throw new Error('broken logger');
    });
    registry.on('*', (event) => seen.push(event.type));
    expect(await registry.circuitBreaker('payments').protect(() => Promise.resolve('ok'))).to.equal(
      'ok',
    );
    expect(seen).to.deep.equal(['success']);
  });
});
