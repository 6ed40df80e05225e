// The hedging scenarios of bench/overload, shorter, with their target as assertions: a server answering in
// 10 ms, or 1 s for 2 % of requests.
import { expect } from 'chai';
import { FAST_HEDGE_SIZE, hedgeScenarios } from '../../bench/overload/scenarios.js';
import { runScenario, type ScenarioResult } from '../../bench/overload/simulation.js';

async function run(name: string): Promise<ScenarioResult> {
  const scenario = hedgeScenarios(FAST_HEDGE_SIZE).find((s) => s.name === name);
  if (scenario === undefined) throw new Error(`no scenario ${name}`);
  return runScenario(scenario);
}

describe('hedging simulation (fake time, seeded)', function () {
  this.timeout(10_000);

  it('has a p99 of 1 s without hedging', async () => {
    const result = await run('no hedging');
    expect(result.p99).to.equal(1_000);
    expect(result.serverLoad).to.equal(1);
  });

  for (const name of ["hedge after 'p95'", "hedge after 'p95', fast requests 5–15 ms"])
    it(`brings p99 below 100 ms with at most 10 % extra attempts: ${name}`, async () => {
      const result = await run(name);
      expect(result.p99).to.be.below(100);
      expect(result.p50).to.be.at.most(15);
      expect(result.serverLoad - 1).to.be.at.most(0.1);
      expect(result.ok).to.equal(result.offered);
    });
});
