// A breaker's initialState comes from storage or another process: whatever shape it arrives in, the breaker reads
// it once, ignores what Object.prototype carries, and answers what it cannot use with a ConfigError.
import { expect } from 'chai';
import { CircuitBreaker, ConfigError, ResilienceRegistry } from '../../../src/index.js';
import { withThrowingGetter } from '../../support/hostile-values.js';
import { useFakeClock } from '../../support/fake-clock.js';

const START = 1_000_000;
const RATE = { failureRateThreshold: 50, slidingWindow: { calls: 10 }, minimumCalls: 1 } as const;
const TIME_RATE = {
  failureRateThreshold: 50,
  slidingWindow: { time: '10s' },
  minimumCalls: 1,
} as const;

function revoked<T extends object>(target: T): T {
  const { proxy, revoke } = Proxy.revocable(target, {});
  revoke();
  return proxy;
}

function breakerWith(initialState: unknown, options: object = RATE): CircuitBreaker {
  return new CircuitBreaker({ ...options, initialState: initialState as never });
}

/** Runs `fn` with `key` set on Object.prototype (enumerable, as a careless library would set it). */
function withPolluted<T>(key: string, value: unknown, fn: () => T): T {
  Object.defineProperty(Object.prototype, key, {
    value,
    enumerable: true,
    configurable: true,
    writable: true,
  });
  try {
    return fn();
  } finally {
    delete (Object.prototype as Record<string, unknown>)[key];
  }
}

describe('CircuitBreaker initialState: bad input', () => {
  const time = useFakeClock(START);

  describe('a saved state that cannot be read is a ConfigError naming the field', () => {
    const cases: [string, () => unknown, RegExp][] = [
      [
        'a window whose type getter throws',
        () => ({ state: 'closed', window: withThrowingGetter({ outcomes: [] }, 'type') }),
        /^initialState\.window\.type: could not be read \(Error: type refused\)/,
      ],
      [
        'a window whose outcomes getter throws',
        () => ({ state: 'closed', window: withThrowingGetter({ type: 'calls' }, 'outcomes') }),
        /^initialState\.window\.outcomes: could not be read/,
      ],
      [
        'a revoked window',
        () => ({ state: 'closed', window: revoked({}) }),
        /^initialState: expected a CircuitState/,
      ],
      [
        'a revoked array of outcomes',
        () => ({ state: 'closed', window: { type: 'calls', outcomes: revoked([]) } }),
        /^initialState: expected a CircuitState/,
      ],
      [
        'a state whose getter throws',
        () => withThrowingGetter({}, 'state'),
        /^initialState\.state: could not be read/,
      ],
      ['a revoked Proxy', () => revoked({}), /^initialState: expected a CircuitState/],
      [
        'an unknown field (a typo)',
        () => ({ state: 'closed', failurs: 3 }),
        /^initialState: expected .*, with only its fields \(state, failures/,
      ],
      [
        'a class instance',
        () =>
          new (class Saved {
            state = 'closed';
          })(),
        /^initialState: expected a CircuitState/,
      ],
    ];
    for (const [label, make, problem] of cases)
      it(`refuses ${label}`, () => {
        expect(() => breakerWith(make())).to.throw(ConfigError, problem);
      });

    it('refuses a time window with a revoked bucket', () => {
      expect(() =>
        breakerWith(
          { state: 'closed', window: { type: 'time', buckets: [revoked([])] } },
          TIME_RATE,
        ),
      ).to.throw(ConfigError, /^initialState: expected a CircuitState/);
    });

    it('refuses a time-window bucket count a 32-bit bucket cannot hold', () => {
      const window = { type: 'time', buckets: [[START, 2 ** 32 + 1, 0, 0]] };
      expect(() => breakerWith({ state: 'closed', window }, TIME_RATE)).to.throw(
        ConfigError,
        /^initialState: expected/,
      );
    });

    for (const [label, backoffMs, openMs] of [
      ['a negative backoff', -1, 1_000],
      ['a backoff of NaN', NaN, 1_000],
      ['a backoff given as a string', '5000', 1_000],
    ] as const)
      it(`refuses ${label}`, () => {
        const saved = { state: 'open', openedAt: START, openMs, backoffMs };
        expect(() => breakerWith(saved, {})).to.throw(ConfigError, /^initialState: expected/);
      });

    it('names the registry entry whose saved state cannot be read', () => {
      const initialState = withThrowingGetter({}, 'state');
      expect(
        () => new ResilienceRegistry({ circuitBreaker: { payments: { initialState } } } as never),
      ).to.throw(ConfigError, /^circuitBreaker\.payments\.initialState\.state: could not be read/);
    });
  });

  describe('each field read once: what was checked is what is used', () => {
    it('restores the outcomes it checked, whatever the getter answers later', () => {
      let reads = 0;
      const window = Object.defineProperty({ type: 'calls' }, 'outcomes', {
        enumerable: true,
        get: () => (++reads === 1 ? [0, 0] : [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]),
      });
      const breaker = breakerWith({ state: 'closed', window });
      expect(breaker.metrics()).to.include({ calls: 2, failedCalls: 0 });
      expect(reads).to.equal(1);
    });

    it('restores the outcomes it checked, even when the array changes after construction', () => {
      const outcomes = [0, 0];
      const breaker = breakerWith({ state: 'closed', window: { type: 'calls', outcomes } });
      outcomes.push(1, 1, 1);
      expect(breaker.metrics()).to.include({ calls: 2, failedCalls: 0 });
    });
  });

  describe('fields on Object.prototype are not the saved state', () => {
    it('does not isolate an open circuit', () => {
      const breaker = withPolluted('isolated', true, () =>
        breakerWith({ state: 'open', openedAt: START - 120_000 }, {}),
      );
      expect(breaker.toJSON().isolated).to.equal(false);
      expect(breaker.state).to.equal('half_open');
    });

    it('counts no inherited failures', () => {
      const breaker = withPolluted('failures', 4, () => breakerWith({ state: 'closed' }, {}));
      expect(breaker.toJSON().failures).to.equal(0);
    });

    it('restores no inherited window', () => {
      const breaker = withPolluted('window', { type: 'calls', outcomes: [1, 1, 1, 1, 1] }, () =>
        breakerWith({ state: 'closed' }),
      );
      expect(breaker.metrics().failedCalls).to.equal(0);
    });
  });

  describe('times from another clock are clamped', () => {
    it('takes an openedAt in the future as now', async () => {
      const breaker = breakerWith({ state: 'open', openedAt: 1e15, openMs: 1_000 }, {});
      expect(breaker.toJSON().openedAt).to.equal(START);
      await time.clock.tickAsync(1_000);
      expect(breaker.state).to.equal('half_open');
    });

    it('cuts an open period past the longest timer to it', () => {
      const breaker = breakerWith({ state: 'open', openedAt: START, openMs: 1e15 }, {});
      expect(breaker.toJSON().openMs).to.equal(2 ** 31 - 1);
    });

    it('takes a backoff without an open time as none (the timeout applies, as a reconfigured registry asks)', async () => {
      const saved = { state: 'open', openedAt: START, openMs: null, backoffMs: 40_000 };
      const breaker = breakerWith(saved, {
        failureThreshold: 1,
        timeout: 1_000,
        maxTimeout: 60_000,
      });
      expect(breaker.toJSON()).to.not.have.property('backoffMs');
      await time.clock.tickAsync(1_000);
      await breaker.protect(() => Promise.reject(new Error('down'))).catch(() => undefined);
      expect(breaker.toJSON().openMs).to.equal(2_000); // doubled from the timeout
    });

    it('cuts a backoff past the longest timer to it', () => {
      const saved = { state: 'open', openedAt: START, openMs: 1e15, backoffMs: 1e15 };
      expect(breakerWith(saved, {}).toJSON()).to.include({ openMs: 2 ** 31 - 1 });
      expect(breakerWith(saved, {}).toJSON()).to.not.have.property('backoffMs');
    });

    it('counts a time-window bucket that starts in the future in the bucket of now', () => {
      const breaker = breakerWith(
        { state: 'closed', window: { type: 'time', buckets: [[1e15, 5, 5, 0]] } },
        { ...TIME_RATE, minimumCalls: 10 },
      );
      expect(breaker.metrics()).to.include({ calls: 5, failedCalls: 5 });
      const saved = breaker.toJSON().window as unknown as { buckets: number[][] };
      expect(saved.buckets[0][0]).to.be.at.most(START);
    });
  });
});
