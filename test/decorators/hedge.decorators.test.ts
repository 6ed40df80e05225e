// Compiled twice: with experimentalDecorators (build/test) and with TC39 standard decorators (build/tc39).
import { expect } from 'chai';
import {
  CircuitBreaker,
  Hedge,
  HedgeLostError,
  ResilienceRegistry,
  Retry,
  Timeout,
  bindRegistry,
  currentSignal,
  getResiliencePolicies,
} from '../../src/index.js';
import { observe, useFakeClock } from '../support/fake-clock.js';

describe('decorators: @Hedge', () => {
  const time = useFakeClock();

  it('composes inside Retry and outside the breaker and the timeout, each attempt timed on its own', async () => {
    const signals: AbortSignal[] = [];
    class Search {
      @Timeout('1s')
      @CircuitBreaker({ failureThreshold: 5 })
      @Hedge({ delay: 100 })
      @Retry({ maxAttempts: 2 })
      async query(q: string) {
        signals.push(currentSignal());
        const ms = signals.length === 1 ? 5_000 : 20;
        await new Promise((resolve) => setTimeout(resolve, ms));
        return `${q}:${signals.length}`;
      }
    }
    expect(getResiliencePolicies(Search, 'query').map((p) => p.kind)).to.deep.equal([
      'retry',
      'hedge',
      'circuitBreaker',
      'timeout',
    ]);
    const result = observe(new Search().query('dspu'));
    await time.clock.tickAsync(120);
    expect(result.value).to.equal('dspu:2');
    expect(signals[0].reason).to.be.instanceOf(HedgeLostError);
  });

  it('resolves a named hedge from the registry and relays its events', async () => {
    const registry = new ResilienceRegistry().configure({ hedge: { search: { delay: 50 } } });
    const events: string[] = [];
    registry.on('hedge', ({ name, attempt }) => events.push(`${name} ${attempt}`));
    let calls = 0;
    class Search {
      @Hedge('search')
      async query() {
        calls++;
        await new Promise((resolve) => setTimeout(resolve, calls === 1 ? 1_000 : 10));
        return calls;
      }
    }
    const result = observe(bindRegistry(new Search(), registry).query());
    await time.clock.tickAsync(60);
    expect(result.value).to.equal(2);
    expect(events).to.deep.equal(['search 2']);
    expect(registry.get('hedge', 'search').options.delay).to.equal(50);
  });
});
