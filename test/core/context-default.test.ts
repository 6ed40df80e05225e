import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../../src/index.js', import.meta.url));
const major = Number(process.versions.node.split('.')[0]);

/*
 * Which context a process gets by default depends on the Node it runs on and is fixed when dspu loads, so
 * each case runs in a fresh child process that never calls enableAsyncContext(). The child reads the call
 * context after an await inside a timed call and inside a retried call, and prints what it saw as JSON.
 */
function defaultContext(nodeOptions: string[] = []): Record<string, unknown> {
  const source = `
    import * as dspu from ${JSON.stringify(entry)};
    const { Timeout, currentAttempt, currentSignal, isAsyncContextEnabled, retry } = dspu;
    const read = (fn) => { try { return fn(); } catch (error) { return error.code; } };
    const out = { enabled: isAsyncContextEnabled() };
    out.signal = await new Timeout(5_000).run(async (signal) => {
      await Promise.resolve();
      return read(() => currentSignal() === signal);
    });
    out.attempts = [];
    await retry(async () => {
      await Promise.resolve();
      out.attempts.push(read(() => currentAttempt()));
      if (out.attempts.length < 2) throw new Error('again');
    }, { baseDelay: 0 })();
    console.log(JSON.stringify(out));
  `;
  const child = spawnSync(process.execPath, [...nodeOptions, '--input-type=module', '-e', source], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  expect(child.status, child.stderr).to.equal(0);
  return JSON.parse(child.stdout) as Record<string, unknown>;
}

describe('the default call context', () => {
  it('on Node 24 and later, follows awaits with no enableAsyncContext()', function () {
    if (major < 24) this.skip();
    this.timeout(30_000);
    expect(defaultContext()).to.deep.equal({ enabled: true, signal: true, attempts: [1, 2] });
  });

  it('on Node 24 started with --no-async-context-frame, stays synchronous', function () {
    if (major < 24) this.skip();
    this.timeout(30_000);
    expect(defaultContext(['--no-async-context-frame'])).to.deep.equal({
      enabled: false,
      signal: 'ERR_NO_CONTEXT',
      attempts: ['ERR_NO_CONTEXT', 'ERR_NO_CONTEXT'],
    });
  });

  it('on Node 20 and 22, is synchronous: after an await it is gone until enableAsyncContext()', function () {
    if (major >= 24) this.skip();
    this.timeout(30_000);
    expect(defaultContext()).to.deep.equal({
      enabled: false,
      signal: 'ERR_NO_CONTEXT',
      attempts: ['ERR_NO_CONTEXT', 'ERR_NO_CONTEXT'],
    });
  });
});
