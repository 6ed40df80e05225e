import { expect } from 'chai';
import {
  Timeout,
  bindContext,
  currentAttempt,
  currentSignal,
  isAsyncContextEnabled,
  retry,
} from '../../src/index.js';

describe('bindContext', () => {
  it('lets a function run after an await see the context it was bound in', async () => {
    const budget = new Timeout(5_000);
    const seen = await budget.run(async (signal) => {
      const later = bindContext((label: string) => `${label}:${currentSignal() === signal}`);
      await Promise.resolve();
      // Where the context does not follow awaits by itself (Node 20 and 22), only the bound function sees it.
      if (!isAsyncContextEnabled()) expect(() => currentSignal()).to.throw(/outside a policy/);
      return later('bound');
    });
    expect(seen).to.equal('bound:true');
  });

  it('carries the attempt number of a retried call', async () => {
    const attempts: number[] = [];
    let tries = 0;
    const flaky = retry(
      async () => {
        const later = bindContext(() => currentAttempt());
        await Promise.resolve();
        attempts.push(later());
        if (++tries < 3) throw new Error('again');
      },
      { maxAttempts: 3, baseDelay: 0 },
    );
    await flaky();
    expect(attempts).to.deep.equal([1, 2, 3]);
  });

  it('returns the function itself outside any policy', () => {
    const fn = (n: number) => n + 1;
    expect(bindContext(fn)).to.equal(fn);
  });
});
