import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../../src/index.js', import.meta.url));

/*
 * enableAsyncContext() cannot be undone and slows every await of the process it runs in, so its behaviour is
 * checked in a child process of its own. The child drives time with sinon's fake timers and prints JSON.
 */
function runWithAsyncContext(body: string): Record<string, unknown> {
  const source = `
    import sinon from 'sinon';
    import * as dspu from ${JSON.stringify(entry)};
    const { currentAttempt, currentSignal, enableAsyncContext, isAsyncContextEnabled, retry, runWithTimeout, Timeout } = dspu;
    const out = {};
    enableAsyncContext();
    out.enabled = isAsyncContextEnabled();
    const clock = sinon.useFakeTimers();
    ${body}
    clock.restore();
    console.log(JSON.stringify(out));
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', source], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  expect(child.status, child.stderr).to.equal(0);
  return JSON.parse(child.stdout) as Record<string, unknown>;
}

describe('enableAsyncContext', () => {
  it('lets currentSignal() and currentAttempt() follow awaits, and nested timeouts still link', function () {
    this.timeout(30_000);
    const out = runWithAsyncContext(`
      // The signal read after an await is the call's own, aborted at the deadline with the TimeoutError.
      let seen;
      const timed = new Timeout(100).run(async () => {
        await Promise.resolve();
        seen = currentSignal();
        await new Promise(() => {});
      });
      const outcome = timed.catch((error) => error);
      await clock.tickAsync(99);
      out.abortedEarly = seen.aborted;
      await clock.tickAsync(1);
      out.rejectedWith = (await outcome).name;
      out.signalReason = seen.reason === (await outcome);

      // The attempt number after an await, on each try of a retried call.
      const attempts = [];
      const flaky = retry(async () => {
        await Promise.resolve();
        attempts.push(currentAttempt());
        if (attempts.length < 3) throw new Error('again');
        return 'done';
      }, { strategy: 'constant', baseDelay: 10 });
      const retried = flaky();
      await clock.tickAsync(20);
      out.retried = await retried;
      out.attempts = attempts;

      // An inner timeout started after an await sees its outer one: the outer deadline aborts it.
      let inner;
      const nested = runWithTimeout(async () => {
        await Promise.resolve();
        return runWithTimeout(async (signal) => {
          inner = signal;
          await new Promise(() => {});
        }, 10_000);
      }, 50).catch((error) => error);
      await clock.tickAsync(50);
      out.nestedRejectedWith = (await nested).name;
      out.innerAborted = inner.aborted;

      // A plain call still returns its value.
      out.plain = await runWithTimeout(async () => 'value', 1000);
    `);
    expect(out).to.deep.equal({
      enabled: true,
      abortedEarly: false,
      rejectedWith: 'TimeoutError',
      signalReason: true,
      retried: 'done',
      attempts: [1, 2, 3],
      nestedRejectedWith: 'TimeoutError',
      innerAborted: true,
      plain: 'value',
    });
  });
});
