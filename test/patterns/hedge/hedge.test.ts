import { expect } from 'chai';
import {
  ConfigError,
  HedgeLostError,
  HedgePolicy,
  currentSignal,
  hedge,
  type HedgeOptions,
} from '../../../src/index.js';
import { observe, useFakeClock } from '../../support/fake-clock.js';

class Down extends Error {}

/** A server whose n-th call takes `latencies[n]` ms and then answers `n` (or fails, for a negative latency). */
function server(latencies: number[]) {
  const signals: AbortSignal[] = [];
  let calls = 0;
  const call = (signal: AbortSignal) => {
    const n = calls++;
    signals.push(signal);
    const ms = latencies[n] ?? 1;
    return new Promise<number>((resolve, reject) =>
      setTimeout(() => (ms < 0 ? reject(new Down(`call ${n}`)) : resolve(n)), Math.abs(ms)),
    );
  };
  return { call, signals, calls: () => calls };
}

function recorder(policy: HedgePolicy) {
  const events: string[] = [];
  policy.events.on('hedge', ({ attempt, delay }) => events.push(`hedge ${attempt} after ${delay}`));
  policy.events.on('hedgeWon', ({ attempt }) => events.push(`won by ${attempt}`));
  return events;
}

describe('hedge', () => {
  const time = useFakeClock();

  it('sends no hedge, builds no event and leaves no timer when the first attempt answers in time', async () => {
    const policy = new HedgePolicy({ delay: 50 });
    const events = recorder(policy);
    const backend = server([10]);
    const result = observe(policy.execute(backend.call));
    await time.clock.tickAsync(10);
    expect(result.value).to.equal(0);
    expect(backend.calls()).to.equal(1);
    expect(events).to.deep.equal([]);
    await time.clock.tickAsync(1_000);
    expect(time.clock.countTimers()).to.equal(0);
  });

  it('sends a hedge after the delay; the first success wins and the loser is told with HedgeLostError', async () => {
    const policy = new HedgePolicy({ delay: 50 });
    const events = recorder(policy);
    const backend = server([1_000, 20]);
    const result = observe(policy.execute(backend.call));
    await time.clock.tickAsync(50);
    expect(backend.calls()).to.equal(2);
    await time.clock.tickAsync(20);
    expect(result.value).to.equal(1);
    expect(backend.signals[0].aborted).to.equal(true);
    expect(backend.signals[0].reason).to.be.instanceOf(HedgeLostError);
    expect((backend.signals[0].reason as HedgeLostError).winner).to.equal(2);
    expect(backend.signals[1].aborted).to.equal(false);
    expect(events).to.deep.equal(['hedge 2 after 50', 'won by 2']);
  });

  it('sends at most maxHedges extra attempts, one per delay', async () => {
    const policy = new HedgePolicy({ delay: 100, maxHedges: 2 });
    const backend = server([1_000, 1_000, 1_000, 1_000]);
    const result = observe(policy.execute(backend.call));
    await time.clock.tickAsync(99);
    expect(backend.calls()).to.equal(1);
    await time.clock.tickAsync(1);
    expect(backend.calls()).to.equal(2);
    await time.clock.tickAsync(100);
    expect(backend.calls()).to.equal(3);
    await time.clock.tickAsync(500);
    expect(backend.calls()).to.equal(3);
    await time.clock.tickAsync(400);
    expect(result.value).to.equal(0); // the first answers first, at 1 s
  });

  it('does not end the call on a failure while another attempt runs', async () => {
    const policy = new HedgePolicy({ delay: 50 });
    const backend = server([-100, 200]);
    const result = observe(policy.execute(backend.call));
    await time.clock.tickAsync(100);
    expect(result.settled).to.equal(false);
    await time.clock.tickAsync(150);
    expect(result.value).to.equal(1);
  });

  it('throws the last error when every attempt fails', async () => {
    const policy = new HedgePolicy({ delay: 50, maxHedges: 2 });
    const backend = server([-300, -60, -150]);
    const result = observe(policy.execute(backend.call));
    await time.clock.tickAsync(1_000);
    expect((result.error as Error).message).to.equal('call 0'); // the last to fail, at 300 ms
    expect(backend.calls()).to.equal(3);
  });

  it('fails at once when the only attempt in flight fails before a hedge is due (failures are for a retry)', async () => {
    const policy = new HedgePolicy({ delay: 50 });
    const backend = server([-10]);
    const result = observe(policy.execute(backend.call));
    await time.clock.tickAsync(10);
    expect((result.error as Error).message).to.equal('call 0');
    await time.clock.tickAsync(100);
    expect(backend.calls()).to.equal(1);
  });

  it('starts no attempt and emits nothing once the call has settled', async () => {
    const policy = new HedgePolicy({ delay: 50, maxHedges: 3 });
    const events = recorder(policy);
    const backend = server([60, 1_000, 1_000]);
    const result = observe(policy.execute(backend.call));
    await time.clock.tickAsync(60);
    expect(result.value).to.equal(0);
    const seen = [...events];
    await time.clock.tickAsync(5_000);
    expect(backend.calls()).to.equal(2);
    expect(events).to.deep.equal(seen);
  });

  describe('a quantile delay', () => {
    it('sends no hedge before minSamples successes without a fallbackDelay', async () => {
      const policy = new HedgePolicy({ delay: 'p90', minSamples: 5 });
      expect(policy.delayFor()).to.equal(Infinity);
      const backend = server([1_000]);
      observe(policy.execute(backend.call));
      await time.clock.tickAsync(2_000);
      expect(backend.calls()).to.equal(1);
    });

    it('uses fallbackDelay until minSamples, then the quantile of recent successful latencies', async () => {
      const policy = new HedgePolicy({ delay: 'p90', minSamples: 10, fallbackDelay: 500 });
      expect(policy.delayFor()).to.equal(500);
      for (let i = 1; i <= 10; i++) {
        const call = observe(policy.execute(() => new Promise((r) => setTimeout(r, i * 10))));
        await time.clock.tickAsync(i * 10);
        expect(call.settled).to.equal(true);
      }
      expect(policy.delayFor()).to.equal(90); // nearest rank: 9 of the 10 samples at or below 90 ms
    });

    it('records no latency for a call the wall clock stepped back across', async () => {
      const policy = new HedgePolicy({ delay: 'p50', minSamples: 1, fallbackDelay: 500 });
      const call = observe(policy.execute(() => new Promise((r) => setTimeout(r, 10))));
      time.clock.setSystemTime(time.clock.now - 60_000); // NTP steps the clock back a minute
      await time.clock.tickAsync(10);
      expect(call.settled).to.equal(true);
      expect(policy.delayFor()).to.equal(500); // not -59 990: the next calls are not hedged at once
    });

    it('reports the delay a hedge waited, though the quantile moved meanwhile', async () => {
      const policy = new HedgePolicy({ delay: 'p50', minSamples: 1 });
      const events = recorder(policy);
      const answerIn = (ms: number) => () => new Promise((r) => setTimeout(r, ms));
      for (let i = 0; i < 20; i++) {
        observe(policy.execute(answerIn(50)));
        await time.clock.tickAsync(50);
      }
      expect(policy.delayFor()).to.equal(50);
      observe(policy.execute(answerIn(1_000))); // its hedge is due in 50 ms
      for (let i = 0; i < 40; i++) observe(policy.execute(answerIn(1)));
      await time.clock.tickAsync(1);
      expect(policy.delayFor()).to.equal(1); // 40 fast answers moved the median
      await time.clock.tickAsync(49);
      expect(events).to.deep.equal(['hedge 2 after 50']);
    });
  });

  describe('a budget', () => {
    it('deposits a request per call and withdraws one per hedge; an empty budget sends none', async () => {
      let available = 1;
      let deposits = 0;
      const budget = {
        deposit: () => void deposits++,
        withdraw: () => (available > 0 ? (available--, true) : false),
      };
      const policy = new HedgePolicy({ delay: 10, budget });
      const first = server([100, 5]);
      const a = observe(policy.execute(first.call));
      await time.clock.tickAsync(100);
      expect(a.value).to.equal(1);
      const second = server([100, 5]);
      const b = observe(policy.execute(second.call));
      await time.clock.tickAsync(100);
      expect(b.value).to.equal(0);
      expect(second.calls()).to.equal(1);
      expect(deposits).to.equal(2);
    });

    it('waits for a shared budget that answers later, and sends no hedge once the call has settled', async () => {
      let answer: (granted: boolean) => void = () => undefined;
      const budget = {
        deposit: () => undefined,
        withdraw: () => new Promise<boolean>((resolve) => (answer = resolve)),
      };
      const policy = new HedgePolicy({ delay: 10, budget });
      const backend = server([30]);
      const result = observe(policy.execute(backend.call));
      await time.clock.tickAsync(30);
      expect(result.value).to.equal(0);
      answer(true);
      await time.clock.tickAsync(10);
      expect(backend.calls()).to.equal(1);
    });

    it('sends no hedge when the budget grants one after the caller aborted', async () => {
      let answer: (granted: boolean) => void = () => undefined;
      const budget = {
        deposit: () => undefined,
        withdraw: () => new Promise<boolean>((resolve) => (answer = resolve)),
      };
      const policy = new HedgePolicy({ delay: 10, budget });
      const events = recorder(policy);
      const backend = server([1_000, 5]);
      const caller = new AbortController();
      const result = observe(policy.execute(backend.call, { signal: caller.signal }));
      await time.clock.tickAsync(15);
      caller.abort(new Error('stop'));
      answer(true);
      await time.clock.tickAsync(1_000);
      expect((result.error as Error).message).to.equal('stop');
      expect(backend.calls()).to.equal(1);
      expect(events).to.deep.equal([]);
    });

    it('sends no hedge, and keeps the other calls hedging, when the budget throws', async () => {
      let throws = true;
      const budget = {
        deposit: () => undefined,
        withdraw: () => {
          if (throws) throw new Error('budget store down');
          return true;
        },
      };
      const policy = new HedgePolicy({ delay: 10, budget });
      const first = server([100, 5]);
      const second = server([100, 5]);
      const a = observe(policy.execute(first.call));
      await time.clock.tickAsync(5);
      const b = observe(policy.execute(second.call));
      await time.clock.tickAsync(5); // the first call's hedge is refused by a throwing budget
      throws = false;
      await time.clock.tickAsync(100);
      expect(a.value).to.equal(0);
      expect(first.calls()).to.equal(1);
      expect(b.value).to.equal(1); // the same queue's timer still sent the second call's hedge
    });
  });

  describe('hedge(fn)', () => {
    it('keeps the parameters and this, and hands the attempt its signal as one more argument', async () => {
      const seen: AbortSignal[] = [];
      const service = {
        base: 10,
        get: hedge(
          function (this: { base: number }, n: number, signal?: AbortSignal) {
            seen.push(signal!);
            return Promise.resolve(this.base + n);
          },
          { delay: 50 },
        ),
      };
      expect(await service.get(5)).to.equal(15);
      expect(seen[0]).to.be.instanceOf(AbortSignal);
    });

    it('gives the attempt its signal through currentSignal() before the first await', async () => {
      const signals: AbortSignal[] = [];
      const get = hedge(
        async () => {
          signals.push(currentSignal());
          await new Promise((resolve) => setTimeout(resolve, signals.length === 1 ? 500 : 10));
          return signals.length;
        },
        { delay: 50 },
      );
      const result = observe(get());
      await time.clock.tickAsync(60);
      expect(result.value).to.equal(2);
      expect(signals[0].aborted).to.equal(true);
    });
  });

  describe('options', () => {
    const invalid: [string, unknown, RegExp][] = [
      ['no delay', {}, /^delay: expected a duration, or a latency quantile/],
      ['a quantile of 100', { delay: 'p100' }, /^delay: expected/],
      ['a quantile of 0', { delay: 'p0' }, /^delay: expected/],
      ['a word', { delay: 'soon' }, /^delay: expected a duration/],
      ['no hedges', { delay: 10, maxHedges: 0 }, /^maxHedges: expected an integer from 1 to 16/],
      [
        'a fallback with a fixed delay',
        { delay: 10, fallbackDelay: 5 },
        /^fallbackDelay: expected only with a quantile delay/,
      ],
      [
        'minSamples with a fixed delay',
        { delay: 10, minSamples: 5 },
        /^minSamples: expected only with a quantile delay/,
      ],
      ['a budget that is not one', { delay: 10, budget: {} }, /^budget: expected a RetryBudget/],
      [
        'a budget whose methods cannot be read',
        {
          delay: 10,
          budget: {
            get deposit(): never {
              throw new Error('unreadable');
            },
          },
        },
        /^budget: expected a RetryBudget/,
      ],
      [
        'an empty budget name',
        { delay: 10, budget: '' },
        /^budget: expected a non-empty budget name/,
      ],
      [
        'a budget name outside a registry',
        { delay: 10, budget: 'upstream' },
        /^budget: expected a RetryBudget instance \(a budget name is resolved by a registry/,
      ],
      ['an unknown option', { delay: 10, hedges: 2 }, /^hedges: unknown option/],
    ];
    for (const [label, options, message] of invalid)
      it(`refuses ${label} at construction`, () => {
        expect(() => new HedgePolicy(options as HedgeOptions)).to.throw(ConfigError, message);
      });
  });
});
