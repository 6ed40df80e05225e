import { expect } from 'chai';
import fc from 'fast-check';
import sinon from 'sinon';
import { CircuitBreaker, type CircuitState } from '../../../src/index.js';

class CountedError extends Error {}
class IgnoredError extends Error {}

type Step = 'success' | 'failure' | 'ignored' | 'badResult' | { advance: number };
type Outcome = 'ok' | 'error' | 'rejected';

interface Settings {
  failureThreshold: number;
  successThreshold: number;
  timeout: number;
}

/** The breaker the README describes, as plainly as it can be written, for calls made one after another. */
class ReferenceBreaker {
  state: CircuitState = 'closed';
  failures = 0;
  successes = 0;
  openedAt = 0;
  readonly transitions: string[] = [];

  constructor(private readonly settings: Settings) {}

  look(now: number): CircuitState {
    if (this.state === 'open' && now - this.openedAt >= this.settings.timeout)
      this.move('half_open', now);
    return this.state;
  }

  call(step: 'success' | 'failure' | 'ignored' | 'badResult', now: number): Outcome {
    if (this.look(now) === 'open') return 'rejected';
    const outcome: Outcome = step === 'success' || step === 'badResult' ? 'ok' : 'error';
    if (step === 'ignored') return outcome;
    const failed = step === 'failure' || step === 'badResult';
    if (this.state === 'half_open') {
      if (failed) this.move('open', now);
      else if (++this.successes >= this.settings.successThreshold) this.move('closed', now);
    } else if (!failed) this.failures = 0;
    else if (++this.failures >= this.settings.failureThreshold) this.move('open', now);
    return outcome;
  }

  private move(to: CircuitState, now: number): void {
    this.transitions.push(`${this.state}->${to}`);
    this.state = to;
    this.failures = 0;
    this.successes = 0;
    if (to === 'open') this.openedAt = now;
  }
}

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.constantFrom<Step>('success', 'failure', 'ignored', 'badResult'),
  fc.record({ advance: fc.integer({ min: 0, max: 1_500 }) }),
);

describe('CircuitBreaker (properties)', () => {
  it('makes the same transitions and answers as a reference model for any sequence of calls and time steps', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          failureThreshold: fc.integer({ min: 1, max: 4 }),
          successThreshold: fc.integer({ min: 1, max: 3 }),
          timeout: fc.integer({ min: 1, max: 1_000 }),
        }),
        fc.array(step, { maxLength: 60 }),
        async (settings, steps) => {
          const clock = sinon.useFakeTimers({ now: 1_000 });
          try {
            const transitions: string[] = [];
            const breaker = new CircuitBreaker({
              ...settings,
              exceptions: [CountedError],
              isFailureResult: (value: string) => value === 'bad',
              onStateChange: (from, to) => void transitions.push(`${from}->${to}`),
            });
            const model = new ReferenceBreaker(settings);
            for (const s of steps) {
              if (typeof s === 'object') {
                await clock.tickAsync(s.advance);
              } else {
                const expected = model.call(s, Date.now());
                const actual = await breaker
                  .protect(() => call(s))
                  .then(
                    (): Outcome => 'ok',
                    (error: unknown): Outcome =>
                      (error as Error).name === 'CircuitBreakerError' ? 'rejected' : 'error',
                  );
                expect(actual).to.equal(expected);
              }
              expect(breaker.state).to.equal(model.look(Date.now()));
            }
            expect(transitions).to.deep.equal(model.transitions);
          } finally {
            clock.restore();
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

function call(step: 'success' | 'failure' | 'ignored' | 'badResult'): Promise<string> {
  if (step === 'failure') return Promise.reject(new CountedError());
  if (step === 'ignored') return Promise.reject(new IgnoredError());
  return Promise.resolve(step === 'badResult' ? 'bad' : 'good');
}
