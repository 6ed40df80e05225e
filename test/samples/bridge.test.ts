import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

describe('sample: bridge', () => {
  it('starves the timer on the event loop and keeps it ticking with the computation on a worker', function () {
    this.timeout(60_000);
    const script = fileURLToPath(new URL('../../samples/bridge/main.js', import.meta.url));
    const run = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 45_000 });
    expect(run.status, run.stderr).to.equal(0);
    const out = run.stdout;
    const ticks = (label: string) => {
      const match = new RegExp(`${label} +\\d+ ms  timer ticked +(\\d+) of ~(\\d+) times`).exec(
        out,
      );
      expect(match, out).to.not.equal(null);
      return { ticks: Number(match![1]), expected: Number(match![2]) };
    };
    expect(ticks('on the event loop').ticks).to.be.at.most(1);
    for (const label of [
      'syncToAsync\\(sumOfSquares\\)\\(n\\)',
      'runInExecutor\\(sumOfSquares, n\\)',
    ]) {
      const { ticks: count, expected } = ticks(label);
      expect(count, label).to.be.at.least(Math.floor(expected / 2));
    }
    expect(out).to.match(/same result all three ways: true/);
  });
});
