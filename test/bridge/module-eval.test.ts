import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../../src/index.js', import.meta.url));

describe('bridge in a process started with --input-type=module', () => {
  // Its workers inherit the flag, so they evaluate the worker program as an ES module, where there is no
  // `require`: the program must not need one.
  it('runs functions on the pool and on the synchronous worker', function () {
    this.timeout(20_000);
    const source = `
      import { asyncToSync, runInExecutor, shutdownExecutor } from ${JSON.stringify(entry)};
      const pooled = await runInExecutor((n) => n * 2, 21);
      const blocked = asyncToSync(async (s) => s.toUpperCase())('sync');
      await shutdownExecutor();
      console.log(JSON.stringify({ pooled, blocked }));
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', source], {
      encoding: 'utf8',
      timeout: 15_000,
    });
    expect(child.status, child.stderr).to.equal(0);
    expect(JSON.parse(child.stdout)).to.deep.equal({ pooled: 42, blocked: 'SYNC' });
  });
});
