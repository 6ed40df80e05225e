import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

describe('sample: http-client', () => {
  it('retries a 503, opens the circuit, serves cached users, then closes the circuit again', function () {
    this.timeout(30_000);
    const script = fileURLToPath(new URL('../../samples/http-client/main.js', import.meta.url));
    const run = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 20_000 });
    expect(run.status, run.stderr).to.equal(0);
    const out = run.stdout;
    expect(out).to.match(/try 1 failed \(HttpError: GET \/users\/2: HTTP 503\); retrying/);
    expect(out).to.match(/12 of 12 users from the API; [1-9]\d* calls waited for a token/);
    expect(out).to.match(/circuit closed -> open/);
    expect(out).to.match(/fallback for user 3 \(circuit open\): cached data/);
    expect(out).to.match(/user 3: user-3 from cache/);
    expect(out).to.match(/fallback for user 99 \(circuit open\): placeholder/);
    expect(out).to.match(/circuit open -> half_open/);
    expect(out).to.match(/circuit half_open -> closed/);
    expect(out).to.match(/user 3: user-3 from api/);
  });
});
