// Compiled twice: with experimentalDecorators (build/test) and with TC39 standard decorators (build/tc39).
import { expect } from 'chai';
import {
  CircuitBreaker,
  Concurrency,
  Fallback,
  RateLimited,
  ResilienceRegistry,
  Retry,
  Timeout,
  bindRegistry,
  currentSignal,
  withSignal,
} from '../../src/index.js';
import { observe, useFakeClock } from '../support/fake-clock.js';

class Down extends Error {}

describe("decorators: a caller's signal through every policy", () => {
  const time = useFakeClock();

  describe('a decorated stack of every policy, called through withSignal', () => {
    function stack() {
      const registry = new ResilienceRegistry();
      const events = new Set<string>();
      const calls: AbortSignal[] = [];
      class Reports {
        @Fallback(() => 'fallback')
        @Retry({ maxAttempts: 3, baseDelay: 10 })
        @CircuitBreaker({ failureThreshold: 5 })
        @RateLimited({ rate: 100 })
        @Timeout('10s')
        @Concurrency(2)
        async build(): Promise<string> {
          calls.push(currentSignal());
          await new Promise((resolve) => setTimeout(resolve, 1_000));
          throw new Down('late');
        }
      }
      registry.on('*', (event) => events.add(`${event.kind}:${String(event.type)}`));
      return { reports: bindRegistry(new Reports(), registry), events, calls, registry };
    }

    it("ends at once with the caller's reason, aborts currentSignal() in the method, and runs nothing after", async () => {
      const { reports, events, calls } = stack();
      const controller = new AbortController();
      const result = observe(withSignal(controller.signal, () => reports.build()));
      await time.clock.tickAsync(100);
      expect(calls).to.have.length(1);
      const reason = new Error('caller left');
      controller.abort(reason);
      expect(calls[0].aborted).to.equal(true);
      expect(calls[0].reason).to.equal(reason);
      await time.clock.tickAsync(0);
      expect(result.error).to.equal(reason);
      const before = [...events];
      await time.clock.tickAsync(60_000);
      expect(calls).to.have.length(1);
      expect([...events]).to.deep.equal(before);
    });

    it('runs as usual when the signal never aborts', async () => {
      const { reports, calls } = stack();
      const result = observe(withSignal(new AbortController().signal, () => reports.build()));
      await time.clock.tickAsync(10_000);
      expect(calls).to.have.length(3);
      expect(result.value).to.equal('fallback');
    });
  });
});
