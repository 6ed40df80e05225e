import { expect } from 'chai';
import {
  BridgeError,
  ConfigError,
  asyncToSync,
  runAsync,
  shutdownExecutor,
} from '../../src/index.js';
import { thrown } from '../support/rejection.js';
import { HOSTILE_THROWS } from './hostile-throws.js';

const math = new URL('../fixtures/bridge/math.js', import.meta.url);

const delayed = async (ms: number, value: string): Promise<string> => {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return value;
};

describe('asyncToSync and runAsync', () => {
  after(() => shutdownExecutor());

  it('blocks the calling thread until the promise settles, then returns its value', () => {
    const delayedSync = asyncToSync(delayed);
    let timerRan = false;
    const timer = setTimeout(() => (timerRan = true), 0);
    const started = performance.now();
    expect(delayedSync(100, 'done')).to.equal('done');
    expect(performance.now() - started).to.be.at.least(95);
    // The event loop did not turn while the call blocked.
    expect(timerRan).to.equal(false);
    clearTimeout(timer);
  });

  it('blocks without spinning: the process uses far less CPU than the wait lasts', () => {
    runAsync(delayed, 0, 'warm');
    const before = process.cpuUsage();
    expect(runAsync(delayed, 300, 'slept')).to.equal('slept');
    const used = process.cpuUsage(before);
    expect((used.user + used.system) / 1000).to.be.below(100);
  });

  it('rethrows the rejection of the async function with its class and message', () => {
    const error = thrown(() =>
      runAsync(async (name: string) => {
        throw new TypeError(`${name} is not valid`);
      }, 'input'),
    );
    expect(error).to.be.instanceOf(TypeError);
    expect(error.message).to.equal('input is not valid');
    expect(error.stack).to.include('--- on the worker thread ---');
  });

  for (const { label, fn, expected } of HOSTILE_THROWS) {
    it(`rethrows ${label} without losing its worker`, () => {
      const error = thrown(() => runAsync(fn));
      expect(error.message).not.to.include('crashed');
      expected(error);
    });
  }

  it('throws a BridgeError saying the function must be self-contained when it uses a captured variable', () => {
    const base = 'https://example.org';
    const error = thrown(() => runAsync(async (path: string) => base + path, '/x'));
    expect(error).to.be.instanceOf(BridgeError);
    expect(error.message).to.include('must be self-contained');
    expect(error.message).to.include('"base"');
  });

  it('runs an exported async function in module form', () => {
    expect(runAsync({ module: math, export: 'slowDouble' }, 21, 10)).to.equal(42);
  });

  it('throws a BridgeError, instead of hanging, when the call exceeds its timeout', () => {
    const never = asyncToSync(() => new Promise<never>(() => undefined), { timeout: '200ms' });
    const started = performance.now();
    const error = thrown(() => never());
    expect(error).to.be.instanceOf(BridgeError);
    expect(error.message).to.include('did not settle within 200 ms');
    expect(performance.now() - started).to.be.below(1000);
    expect(runAsync(delayed, 0, 'after')).to.equal('after');
  });

  it('throws a BridgeError when the worker exits during the call, and works again afterwards', () => {
    const error = thrown(() => runAsync(async () => process.exit(3)));
    expect(error).to.be.instanceOf(BridgeError);
    expect(error.message).to.include('exited with code 3');
    expect(runAsync(delayed, 0, 'recovered')).to.equal('recovered');
  });

  it('throws a BridgeError with the cause when an uncaught error kills the worker during the call', () => {
    const error = thrown(() =>
      runAsync(
        () =>
          new Promise(() => {
            setTimeout(() => {
              throw new Error('timer failure');
            }, 5);
          }),
      ),
    );
    expect(error).to.be.instanceOf(BridgeError);
    expect((error.cause as Error).message).to.equal('timer failure');
    expect(runAsync(delayed, 0, 'recovered')).to.equal('recovered');
  });

  it('throws a BridgeError naming an argument that cannot be copied', () => {
    const error = thrown(() => runAsync(async (_s: symbol) => 1, Symbol('s')));
    expect(error).to.be.instanceOf(BridgeError);
    expect(error.message).to.match(/^Argument 0 of/);
    expect(runAsync(delayed, 0, 'still fine')).to.equal('still fine');
  });

  it('throws a BridgeError, not a hang, where SharedArrayBuffer is unavailable', () => {
    const original = globalThis.SharedArrayBuffer;
    Reflect.deleteProperty(globalThis, 'SharedArrayBuffer');
    try {
      expect(() => runAsync(delayed, 0, 'x')).to.throw(BridgeError, /SharedArrayBuffer/);
    } finally {
      globalThis.SharedArrayBuffer = original;
    }
  });

  it('refuses a timeout that is not a positive duration', () => {
    expect(() => asyncToSync(delayed, { timeout: 'soon' as never })).to.throw(ConfigError);
    expect(() => asyncToSync(delayed, { timeout: 0 })).to.throw(ConfigError, /greater than 0/);
  });
});
