import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

describe('sample: batch', () => {
  it('processes 10,000 items under the limit and the rate, with progress lines and a summary', function () {
    this.timeout(30_000);
    const script = fileURLToPath(new URL('../../samples/batch/main.js', import.meta.url));
    const run = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 20_000 });
    expect(run.status, run.stderr).to.equal(0);
    const out = run.stdout;
    expect(out).to.match(/processing 10,000 items: limit 10 at a time, 5,000 per second/);
    expect(out.match(/^progress +\d+%/gm) ?? []).to.have.length.of.at.least(3);
    const summary = /done: 10,000 results in ([\d.]+) s \(([\d,]+) items\/s, limit 5,000\/s\)/.exec(
      out,
    );
    expect(summary, out).to.not.equal(null);
    // The bucket holds 100 tokens at the start, so 9,900 items wait for the refill: at least 1.98 s.
    expect(Number(summary![1])).to.be.at.least(1.95);
    expect(Number(summary![2].replace(/,/g, ''))).to.be.at.most(5_100);
    const inFlight = /at most (\d+) items in flight \(limit 10\)/.exec(out);
    expect(Number(inFlight![1])).to.be.within(1, 10);
    expect(out).to.match(/[\d,]+ calls waited for a token; results in input order: true/);
  });
});
