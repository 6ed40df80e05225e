import { expect } from 'chai';
import { ConfigError, gatherWithLimit, mapWithLimit, type Task } from '../../../src/index.js';
import { HOSTILE_FUNCTIONS, UNREADABLE_OBJECTS } from '../../support/hostile-values.js';
import { observe, useFakeClock } from '../../support/fake-clock.js';
import { Probe } from './probe.js';
import { thrown } from '../../support/rejection.js';

describe('gatherWithLimit bad input', () => {
  const time = useFakeClock();

  const task = () => Promise.resolve(1);

  for (const limit of [0, -1, 1.5, NaN, Infinity, '2', undefined]) {
    it(`throws ConfigError for limit ${typeof limit === 'string' ? `'${limit}'` : String(limit)}`, () => {
      expect(() => gatherWithLimit([task], { limit } as never)).to.throw(ConfigError, /limit/);
    });
  }

  it('lists every problem of the options at once', () => {
    const error = thrown(() =>
      gatherWithLimit([task], { limit: 0, settle: 'yes', signl: 1 } as never),
    );
    expect((error as ConfigError).problems).to.have.length(3);
  });

  it('throws ConfigError for a non-function task in an array, starting none of the others', () => {
    const probe = new Probe();
    const tasks = [probe.task(0, 10), 42, probe.task(2, 10)] as never[];
    expect(() => gatherWithLimit(tasks, { limit: 2 })).to.throw(
      ConfigError,
      'tasks[1]: expected a function that starts the task (a thunk), got 42',
    );
    expect(probe.started).to.deep.equal([]);
  });

  it('explains that a promise is not a task', () => {
    const tasks = [Promise.resolve(1)] as never[];
    expect(() => gatherWithLimit(tasks, { limit: 2 })).to.throw(ConfigError, /already running/);
  });

  it('rejects with ConfigError when a lazy source yields a non-function, starting nothing more', async () => {
    const probe = new Probe();
    function* source(): Generator<unknown> {
      yield probe.task(0, 10);
      yield 'not a task';
      yield probe.task(2, 10);
    }
    const result = observe(gatherWithLimit(source() as Iterable<Task<number>>, { limit: 1 }));
    await time.clock.tickAsync(100);
    expect(result.error).to.be.instanceOf(ConfigError);
    expect((result.error as Error).message).to.match(/tasks\[1\]/);
    expect(probe.started).to.deep.equal([0]);
  });

  it('throws ConfigError when tasks is not iterable', () => {
    expect(() => gatherWithLimit(42 as never, { limit: 1 })).to.throw(ConfigError, /tasks/);
  });

  for (const { label, value } of [
    ...UNREADABLE_OBJECTS,
    { label: 'an object whose prototype is a revoked Proxy', value: Object.create(revokedProxy()) },
    ...HOSTILE_FUNCTIONS.filter(({ label }) => /Proxy/.test(label)),
  ]) {
    it(`throws ConfigError, not the Proxy's own error, when the source is ${label}`, () => {
      expect(() => gatherWithLimit(value as never, { limit: 1 })).to.throw(ConfigError, /^tasks:/);
      expect(() => mapWithLimit(value as never, task, { limit: 1 })).to.throw(
        ConfigError,
        /^source:/,
      );
    });
  }

  for (const { label, value } of HOSTILE_FUNCTIONS) {
    it(`takes ${label} as mapWithLimit's fn, and ends the stream with the error calling it throws`, async () => {
      const stream = mapWithLimit([1], value as () => number, { limit: 1 });
      const result = observe(stream.next());
      await time.clock.tickAsync(0);
      expect(result.settled).to.equal(true);
      // A working function gives its result; one that cannot be called ends the stream with why.
      if (result.error === undefined) expect(result.value).to.deep.equal({ value: 1, done: false });
      else expect(result.error).to.be.instanceOf(Error);
    });
  }
});

function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}
