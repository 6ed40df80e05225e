// A hedge keeps one deadline queue (one timer) per distinct delay. A quantile delay moves with every 16 samples, so
// calls waiting for their hedge may hold many distinct delays at once: the queues stay within their bound whatever
// the delays, and every hedge is still sent no earlier than its delay.
import { expect } from 'chai';
import fc from 'fast-check';
import { HedgePolicy } from '../../../src/index.js';
import { useFakeClock } from '../../support/fake-clock.js';

const MAX_QUEUES = 64;

function queuesOf(policy: HedgePolicy): Map<number, unknown> {
  return (policy as unknown as { queues: Map<number, unknown> }).queues;
}

describe('hedge: deadline queues per delay', () => {
  const time = useFakeClock(1_000);

  it('holds at most 64 queues however many distinct delays wait, and sends no hedge early', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            delay: fc.integer({ min: 0, max: 5_000 }),
            gap: fc.integer({ min: 0, max: 20 }),
          }),
          { minLength: 1, maxLength: 150, size: 'max' },
        ),
        (calls) => {
          const policy = new HedgePolicy({ delay: 'p50', fallbackDelay: 1 });
          const started = time.clock.now;
          const hedges: { due: number; sent: number }[] = [];
          let most = 0;
          for (const { delay, gap } of calls) {
            time.clock.tick(gap); // hedges are sent from the queues' timers, synchronously
            policy.delayFor = () => delay; // what the quantile says at this call's start
            const start = time.clock.now;
            let attempts = 0;
            void policy.execute(
              () =>
                new Promise(() => {
                  if (++attempts === 2) hedges.push({ due: start + delay, sent: time.clock.now });
                }),
            );
            most = Math.max(most, queuesOf(policy).size);
          }
          const last = calls.reduce((at, c) => at + c.gap, started);
          time.clock.tick(last - time.clock.now + 5_100);
          expect(most).to.be.at.most(MAX_QUEUES);
          expect(hedges).to.have.length(calls.length);
          for (const { due, sent } of hedges) expect(sent).to.be.at.least(due);
          policy.reset();
        },
      ),
      { numRuns: 30 },
    );
  });

  /** A policy whose 64 queues all hold a call waiting for its hedge, at 1000, 1010 … 1630 ms, in no order. */
  function fullPolicy(sent: Map<string, number>) {
    const policy = new HedgePolicy({ delay: 'p50', fallbackDelay: 1 });
    const wait = (name: string, delay: number) => {
      policy.delayFor = () => delay;
      let attempts = 0;
      void policy.execute(
        () =>
          new Promise(() => {
            if (++attempts === 2) sent.set(name, time.clock.now);
          }),
      );
    };
    for (let i = 0; i < MAX_QUEUES; i++)
      wait(`queue ${i}`, 1_000 + 10 * ((i * 37 + 5) % MAX_QUEUES));
    expect(queuesOf(policy).size).to.equal(MAX_QUEUES);
    return { policy, wait };
  }

  it('joins the queue that sends its hedge soonest after its delay when 64 delays wait', () => {
    const sent = new Map<string, number>();
    const { policy, wait } = fullPolicy(sent);
    const delays: number[] = [];
    policy.events.on('hedge', ({ delay }) => delays.push(delay));
    wait('before every queue', 500); // every queue is later: the earliest one
    wait('after one queue', 1_005); // one queue is earlier: on time behind it
    time.clock.tick(1_630);
    expect([sent.get('before every queue'), sent.get('after one queue')]).to.deep.equal([
      2_000, 2_005,
    ]);
    expect(delays.slice(0, 3)).to.deep.equal([1_000, 1_000, 1_005]); // what each waited
    policy.reset();
  });

  it('drops only drained queues, and reset() lets go of every queue in use', () => {
    const sent = new Map<string, number>();
    const { policy, wait } = fullPolicy(sent);
    wait('one more delay', 2_000);
    policy.reset();
    time.clock.tick(2_000);
    expect([...sent.keys()]).to.deep.equal([]);
  });

  it('sends each hedge on time while fewer than 64 delays wait', async () => {
    const policy = new HedgePolicy({ delay: 'p50', fallbackDelay: 1 });
    const late: number[] = [];
    for (let i = 0; i < 200; i++) {
      const delay = 1_000 + (i % 50);
      policy.delayFor = () => delay;
      let attempts = 0;
      void policy.execute(
        () =>
          new Promise(() => {
            if (++attempts === 2 && time.clock.now !== 1_000 + delay) late.push(i);
          }),
      );
    }
    await time.clock.tickAsync(1_050);
    expect(late).to.deep.equal([]);
    policy.reset();
  });
});
