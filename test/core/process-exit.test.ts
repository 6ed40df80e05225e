import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../../src/index.js', import.meta.url));

/** Runs an ES module script in a fresh Node process and returns how long it took to exit. */
function runScript(source: string): { status: number | null; ms: number; output: string } {
  const start = Date.now();
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', source], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: child.status, ms: Date.now() - start, output: child.stdout + child.stderr };
}

describe('process lifetime', () => {
  it('lets a script exit at once after its last timed-out, retried and shielded calls', function () {
    this.timeout(30_000);
    const { status, ms, output } = runScript(`
      import { retry, runWithTimeout, Timeout, runWithShield } from ${JSON.stringify(entry)};
      let calls = 0;
      const flaky = retry(async () => { if (++calls < 2) throw new Error('once'); return 'ok'; }, { baseDelay: 10 });
      console.log(await runWithTimeout(() => flaky(), '60s'));
      await new Timeout('1h').run(async () => 1);
      await runWithShield(async () => 2);
      try { await runWithTimeout(new Promise((r) => setTimeout(r, 50)), 10); } catch (e) { console.log(e.name); }
    `);
    expect(output).to.contain('ok').and.to.contain('TimeoutError');
    expect(status).to.equal(0);
    expect(ms, 'a 60 s or 1 h deadline timer kept the process alive').to.be.below(5_000);
  });

  it('keeps the process alive while a timeout is still pending on work that never settles', function () {
    this.timeout(30_000);
    const { status, output } = runScript(`
      import { runWithTimeout } from ${JSON.stringify(entry)};
      try { await runWithTimeout(new Promise(() => {}), 200); } catch (e) { console.log('rejected with', e.name); }
    `);
    expect(status).to.equal(0);
    expect(output).to.contain('rejected with TimeoutError');
  });
});
