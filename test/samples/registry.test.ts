import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

describe('sample: registry', () => {
  it('uses policies from policies.json by name and lists every problem of the broken copy by path', function () {
    this.timeout(30_000);
    const script = fileURLToPath(new URL('../../samples/registry/main.js', import.meta.url));
    const run = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 20_000 });
    expect(run.status, run.stderr).to.equal(0);
    const out = run.stdout;
    expect(out).to.match(
      /configured from policies\.json: retry \[inventory\], circuitBreaker \[payments\]/,
    );
    expect(out).to.match(
      /retry "inventory": try 2 failed \(inventory busy \(call 2\)\), next in 40 ms/,
    );
    expect(out).to.match(/reserved sku-42/);
    expect(out).to.match(/circuit "payments": closed -> open/);
    expect(out).to.match(/charge 4 rejected at once: Circuit is open/);
    expect(out).to.match(/25 notifications in \d+ ms; 5 waited for a token/);
    expect(out).to.match(/TimeoutError: Operation timed out after 200 ms/);
    expect(out).to.match(/ConfigError ERR_CONFIG, 7 problems:/);
    expect(out).to.match(/retry\.defaults\.maxAttempts: expected an integer/);
    expect(out).to.match(/retry\.inventory\.strategy: expected one of/);
    expect(out).to.match(/circuitBreaker\.payments\.failureTreshold: unknown option/);
    expect(out).to.match(/circuitBreaker\.payments\.timeout: expected a duration .*, got "30"/);
    expect(out).to.match(
      /rateLimiter\.partnerApi\.rate: expected a finite number greater than 0, got -20/,
    );
    expect(out).to.match(/timeout\.report: expected a duration .*, got "fast"/);
    expect(out).to.match(/concurency: unknown policy kind/);
    expect(out).to.match(/nothing changed: retry names \[inventory\], payments still open/);
  });
});
