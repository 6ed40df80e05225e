import { expect } from 'chai';
import { fileURLToPath } from 'node:url';
import { runNode } from '../support/node-process.js';

const script = fileURLToPath(new URL('../fixtures/bridge/exits-promptly.js', import.meta.url));

describe('bridge and process exit', () => {
  it('lets a script that used every bridge entry point exit promptly after its last call', async function () {
    this.timeout(15_000);
    const run = await runNode([script], 10_000);
    expect(run.stderr).to.equal('');
    expect(run.code).to.equal(0);
    const report = JSON.parse(run.stdout) as Record<string, unknown> & { lastCallAt: number };
    expect(report).to.deep.include({
      spun: 200,
      squares: [1, 4, 9, 16],
      failed: 'TypeError',
      doubled: 42,
      echoed: 'sync',
    });
    // Workers left idle must not hold the process: it ends as soon as its own work is done.
    expect(run.exitedAt - report.lastCallAt).to.be.below(1000);
  });
});
