import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

describe('sample: nestjs', () => {
  it('retries through a Nest route, opens the circuit, then answers 503 and a stale fallback', function () {
    this.timeout(30_000);
    const script = fileURLToPath(new URL('../../samples/nestjs/main.js', import.meta.url));
    const run = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 20_000 });
    expect(run.status, run.stderr).to.equal(0);
    const out = run.stdout;
    expect(out).to.match(/\[upstream\] try 2 failed \(upstream answered 503\); retrying/);
    expect(out).to.match(/GET \/quote\/live -> 200 \{"quote":/);
    expect(out).to.match(/\[upstream\] circuit closed -> open/);
    expect(out).to.match(/GET \/quote\/live -> 502 /);
    expect(out).to.match(
      /GET \/quote\/live -> 503 \(Retry-After: 10\) .*"code":"ERR_CIRCUIT_OPEN"/,
    );
    expect(out).to.match(/GET \/quote -> 200 .*"stale":true/);
    expect(out).to.match(/upstream requests while open: 0/);
    expect(out).to.match(/closed\n$/);
  });
});
