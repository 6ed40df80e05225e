import { expect } from 'chai';
import { ConfigError, gatherWithLimit, type Task } from '../../../src/index.js';
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
    expect(() => gatherWithLimit(tasks, { limit: 2 })).to.throw(ConfigError, /tasks\[1\]/);
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
});
