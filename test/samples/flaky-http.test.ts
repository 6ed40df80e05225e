import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

describe('sample: flaky-http', () => {
  it('retries two 503s and a hung request, then prints the successful call', function () {
    this.timeout(30_000);
    const script = fileURLToPath(new URL('../../samples/flaky-http/main.js', import.meta.url));
    const run = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 20_000 });
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stdout).to.match(/try 1 failed \(HttpStatusError: HTTP 503\)/);
    expect(run.stdout).to.match(/try 3 failed \(TimeoutError: Operation timed out after 500 ms\)/);
    expect(run.stdout).to.match(/succeeded after 4 requests/);
  });
});
