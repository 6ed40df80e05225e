// The overload simulation of bench/overload, shorter, with its targets as assertions.
import { expect } from 'chai';
import { FAST_SIZE, limiterScenarios, retryScenarios } from '../../bench/overload/scenarios.js';
import {
  runScenario,
  settleTime,
  type Scenario,
  type ScenarioResult,
} from '../../bench/overload/simulation.js';

const size = FAST_SIZE;
const base = size.baseLatencyMs;

function scenario(list: readonly Scenario[], name: string): Scenario {
  const found = list.find((s) => s.name === name);
  if (found === undefined) throw new Error(`no scenario ${name}`);
  return found;
}

/** The part of a halving scenario before the server loses capacity, as a scenario of its own. */
function beforeHalving(s: Scenario): Scenario {
  return { ...s, durationMs: size.halveAtMs, changes: [] };
}

describe('overload simulation (fake time, seeded)', function () {
  this.timeout(60_000);
  const limiters = limiterScenarios(size);

  for (const algorithm of ['gradient', 'vegas', 'aimd']) {
    describe(`adaptive ${algorithm}`, () => {
      let steady: ScenarioResult;
      let halved: ScenarioResult;
      before(async () => {
        const s = scenario(limiters, `capacity halves: adaptive ${algorithm}`);
        halved = await runScenario(s);
        // Deterministic: the run up to the halving is the run of a server that never halves.
        steady = await runScenario(beforeHalving(s));
      });

      it('settles its limit within ±25 % of capacity under 2× overload', () => {
        expect(steady.limitShare).to.be.within(0.75, 1.25);
      });

      it('keeps p99 latency within 2× the base latency under 2× overload', () => {
        expect(steady.p99).to.be.at.most(2 * base);
      });

      it('keeps goodput at 90 % of capacity or more under 2× overload', () => {
        expect(steady.goodput).to.be.at.least(0.9);
      });

      it('follows the server within 5 s of simulated time when its capacity halves', () => {
        expect(settleTime(halved, size.halveAtMs)).to.be.at.most(5_000);
      });
    });
  }

  it('shows a fixed limit set for the first capacity failing once capacity halves', async () => {
    const result = await runScenario(
      scenario(limiters, `capacity halves: fixed limit ${size.capacity}`),
    );
    expect(settleTime(result, size.halveAtMs)).to.equal(Infinity);
  });

  it('shows a fixed limit 4× too high missing the latency target', async () => {
    const s = scenario(limiters, `fixed limit ${4 * size.capacity} (4× too high)`);
    expect((await runScenario({ ...s, durationMs: 12_000 })).p99).to.be.above(2 * base);
  });

  describe('retry budget of 0.2 against a failing dependency', () => {
    const retries = retryScenarios(size);
    for (const [failing, without] of [
      [50, 1.75],
      [100, 3],
    ]) {
      it(`holds the load on a dependency failing ${failing} % of calls to 1.2× (${without}× without)`, async () => {
        const name = `3 tries, ${failing} % failing`;
        const budgeted = await runScenario(scenario(retries, `${name}, budget 0.2`));
        expect(budgeted.serverLoad).to.be.within(1.15, 1.2);
        const unbounded = await runScenario({
          ...scenario(retries, `${name}, no budget`),
          durationMs: size.measureFromMs + 2_000,
        });
        expect(unbounded.serverLoad).to.be.closeTo(without, 0.02);
      });
    }
  });
});
