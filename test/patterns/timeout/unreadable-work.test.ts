// Work that cannot be inspected (a revoked Proxy, an object whose `then` getter throws) is neither a function nor a
// promise: runWithTimeout, Timeout.run and runWithShield answer it with a rejected ConfigError naming `work`, never
// a synchronous throw.
import { expect } from 'chai';
import { ConfigError, Timeout, runWithShield, runWithTimeout } from '../../../src/index.js';

function revoked(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

const thenRefused = () =>
  Object.defineProperty({}, 'then', {
    get() {
      throw new Error('then refused');
    },
  });

describe('timeouts and shields: work that cannot be inspected', () => {
  const runners: [string, (work: never) => Promise<unknown>][] = [
    ['runWithTimeout', (work) => runWithTimeout(work, 1_000)],
    ['runWithTimeout with options', (work) => runWithTimeout(work, 1_000, {})],
    ['Timeout.run', (work) => new Timeout(1_000).run(work)],
    ['runWithShield', (work) => runWithShield(work)],
  ];
  for (const [name, run] of runners)
    for (const [label, make] of [
      ['a revoked Proxy', revoked],
      ['an object whose then getter throws', thenRefused],
    ] as const)
      it(`${name} rejects ${label} with a ConfigError naming work`, async () => {
        let promise: Promise<unknown> | undefined;
        expect(() => (promise = run(make() as never))).to.not.throw();
        const error = await promise!.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).to.be.instanceOf(ConfigError);
        expect((error as ConfigError).message).to.match(/^work: expected a function or a promise/);
      });
});
