import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { ADMIT, FORCE, REPORT } from '../../src/redis/circuit-scripts.js';
import type { LuaScript } from '../../src/redis/redis-link.js';
import { RedisServer } from './redis-server.js';
import { runScript, sleep } from './support.js';

type Reply = [string, string, number, number, number, number, number, number];
type Call = [outcome: string, slow?: number, retryAfter?: number];

describe('dspu/redis circuit scripts in rate mode', function () {
  this.timeout(10_000);
  let server: RedisServer;
  let redis: Redis;
  let run = 0;
  let batches = 0;
  let keys: string[];
  const timeout = 1_000;
  const script = (lua: LuaScript, ...args: (string | number)[]) =>
    runScript(redis, lua, keys, [timeout, `${keys[0]}:changes`, 5_000, ...args]) as Promise<Reply>;
  // failureRateThreshold 50, slowCallRateThreshold 80, minimumCalls 4, successThreshold 1, maxTimeout 4 s.
  const countWindow = [0, 1, 4_000, 50, 80, 4, 10, 0, 0];
  const timeWindow = (ms: number, buckets: number) => [0, 1, 4_000, 50, 80, 4, 0, ms, buckets];
  let window = countWindow;

  /** Reports `calls` (admitted in generation `gen`, closed unless a token is given) as one batch. */
  const report = (gen: number, calls: Call[], token = '', id = `batch-${++batches}`) =>
    script(
      REPORT,
      id,
      1_000,
      ...window,
      ...calls.flatMap(([outcome, slow = 0, retryAfter = 0]) => [
        outcome,
        gen,
        token,
        slow,
        retryAfter,
      ]),
    );
  const circuit = async () => redis.hgetall(keys[0]);
  const calls = (n: number, outcome: string, slow = 0): Call[] =>
    Array.from({ length: n }, () => [outcome, slow]);

  before(async () => {
    server = await RedisServer.start();
    redis = server.client();
  });

  beforeEach(async () => {
    window = countWindow;
    keys = ['circuit', 'trials', 'done', 'window'].map((suffix) => `{window-${++run}}:${suffix}`);
    // A circuit at generation 0 (a new one starts at Redis TIME in µs): the calls below are admitted in it.
    await redis.hset(keys[0], 'g', 0);
  });

  after(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('opens once the failure rate of the window reaches the threshold, after minimumCalls', async () => {
    const [, , , , , c, f] = await report(0, [...calls(2, 'success'), ['failure']]);
    expect([c, f]).to.deep.equal([3, 1]);
    const reply = await report(0, [['failure']]);
    expect(reply.slice(1, 2)).to.deep.equal(['open']);
    expect(reply[3]).to.be.within(timeout - 50, timeout);
    expect(await redis.exists(keys[3])).to.equal(0); // opening clears the window
  });

  it('keeps a window per shape under one circuit, and a transition empties every one', async () => {
    const count = { keys, window: countWindow };
    const time = { keys: [...keys.slice(0, 3), `${keys[3]}:time`], window: timeWindow(10_000, 5) };
    const as = (shape: typeof count) => {
      keys = shape.keys;
      window = shape.window;
    };
    as(count);
    await report(0, calls(3, 'success'));
    as(time);
    expect((await report(0, calls(3, 'failure'))).slice(1)).to.deep.equal([
      'closed',
      0,
      0,
      0,
      3,
      3,
      0,
    ]);
    as(count);
    expect((await report(0, [['failure']])).slice(5)).to.deep.equal([4, 1, 0]); // 25 %: its own window
    as(time);
    expect((await report(0, [['failure']]))[1]).to.equal('open');
    expect(await redis.exists(time.keys[3])).to.equal(0);
    await script(FORCE, 'reset', 'reset-1');
    as(count);
    // The count window still holds its calls of generation 0; the circuit is at generation 2 now.
    expect((await report(2, [['success']])).slice(5)).to.deep.equal([1, 0, 0]);
  });

  it('judges only the last calls of a count window', async () => {
    await report(0, calls(4, 'failure').slice(0, 1));
    await report(0, calls(10, 'success'));
    const [, state, , , , c, f] = await report(0, calls(4, 'failure'));
    // The ring of 10 holds 6 successes and 4 failures: 40 % < 50 %.
    expect([state, c, f]).to.deep.equal(['closed', 10, 4]);
    const [, next] = await report(0, [['failure']]);
    expect(next).to.equal('open');
  });

  it('ignores errors outside `exceptions`: neither a call nor a failure', async () => {
    const [, state, , , , c] = await report(0, [...calls(3, 'ignored'), ...calls(3, 'failure')]);
    expect([state, c]).to.deep.equal(['closed', 3]);
  });

  it('opens on the slow-call rate, whatever the outcomes', async () => {
    const [, state, , , , c, f, s] = await report(0, calls(5, 'success', 1));
    expect(state).to.equal('open');
    expect([c, f, s]).to.deep.equal([0, 0, 0]);
  });

  it('counts a batch once when its REPORT runs twice', async () => {
    await report(0, calls(3, 'success'), '', 'twice');
    expect((await report(0, calls(3, 'success'), '', 'twice'))[0]).to.equal('done');
    const [, , , , , c] = await report(0, [['success']]);
    expect(c).to.equal(4);
  });

  it('stops counting a batch at the outcome that opened the circuit', async () => {
    const reply = await report(0, [...calls(4, 'failure'), ...calls(3, 'success')]);
    expect(reply[1]).to.equal('open');
    expect(await redis.exists(keys[3])).to.equal(0);
  });

  it('keeps the circuit open as long as the failure asked with its retryAfter', async () => {
    const reply = await report(0, [...calls(3, 'failure'), ['failure', 0, 30_000]]);
    expect(reply[3]).to.be.within(29_900, 30_000);
  });

  it('doubles the open time on each re-open from HALF_OPEN, up to maxTimeout, and resets on closing', async () => {
    const reopen = async () => {
      const { o, m } = await circuit();
      await redis.hset(keys[0], 'o', Number(o) - Number(m)); // its open time has passed
      const [verdict, , gen] = await script(ADMIT, 1, `t-${++batches}`);
      expect(verdict).to.equal('trial');
      return gen;
    };
    await report(0, calls(4, 'failure'));
    const openTimes = [Number((await circuit()).m)];
    for (let i = 0; i < 3; i++) {
      const gen = await reopen();
      await report(gen, [['failure']], `t-${batches}`);
      openTimes.push(Number((await circuit()).m));
    }
    expect(openTimes).to.deep.equal([1_000, 2_000, 4_000, 4_000]);
    const gen = await reopen();
    const [, state] = await report(gen, [['success']], `t-${batches}`);
    expect(state).to.equal('closed');
    const [, , newGen] = await script(ADMIT, 1, '');
    await report(newGen, calls(4, 'failure'));
    expect(Number((await circuit()).m)).to.equal(1_000);
  });

  it('re-opens on a slow trial even though it succeeded', async () => {
    await report(0, calls(4, 'failure'));
    await redis.hset(keys[0], 'o', 0);
    const [, , gen] = await script(ADMIT, 1, 'slow-trial');
    const [, state] = await report(gen, [['success', 1]], 'slow-trial');
    expect(state).to.equal('open');
    expect(await redis.zcard(keys[1])).to.equal(0);
  });

  it('lets a count window that nobody reports to expire a day after its last report', async () => {
    await report(0, [['success']]);
    expect(await redis.pttl(keys[3])).to.be.within(86_400_000 - 1_000, 86_400_000);
  });

  describe('time window', () => {
    // Spans of 1 s; the test writes buckets as if recorded earlier, relative to the Redis clock.
    const spanMs = 1_000;
    const nowSpan = async () => {
      const [seconds, micros] = await redis.time();
      return Math.floor((Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)) / spanMs);
    };
    /** Writes `counts` [calls, failed] for each of the spans `ago` spans back. */
    const recordedEarlier = async (
      buckets: number,
      spans: [ago: number, c: number, f: number][],
    ) => {
      const span = await nowSpan();
      let c = 0;
      let f = 0;
      const fields: (string | number)[] = ['n', span - Math.min(...spans.map(([ago]) => ago))];
      for (const [ago, calls, failed] of spans) {
        const b = (span - ago) % buckets;
        fields.push(`c${b}`, calls, `f${b}`, failed);
        c += calls;
        f += failed;
      }
      await redis.hset(keys[3], 'c', c, 'f', f, 's', 0, 'g', 0, ...fields);
    };

    it('drops the buckets that aged out of the window on the next report', async () => {
      window = timeWindow(5 * spanMs, 5);
      // 3 failures 7 spans ago (out of the window now), 2 successes 3 spans ago (in it).
      await recordedEarlier(5, [
        [7, 3, 3],
        [3, 2, 0],
      ]);
      const [, state, , , , c, f] = await report(0, [['failure']]);
      expect([state, c, f]).to.deep.equal(['closed', 3, 1]);
    });

    it('forgets the whole window after an idle time longer than it', async () => {
      window = timeWindow(5 * spanMs, 5);
      await recordedEarlier(5, [
        [20, 4, 4],
        [19, 3, 3],
      ]);
      const [, state, , , , c, f] = await report(0, [['success']]);
      expect([state, c, f]).to.deep.equal(['closed', 1, 0]);
    });

    it('opens on the calls of every bucket still in the window', async () => {
      window = timeWindow(5 * spanMs, 5);
      await recordedEarlier(5, [
        [3, 1, 1],
        [2, 1, 1],
        [1, 1, 0],
      ]);
      const [, state] = await report(0, [['success']]);
      expect(state).to.equal('open'); // 2 failed of 4 calls
    });

    it('goes on aging its calls after the Redis clock steps back', async () => {
      window = timeWindow(50, 5);
      // 2 failures recorded while the clock read an hour later than it does now, in spans of 10 ms.
      const [seconds, micros] = await redis.time();
      const newest = Math.floor((Number(seconds) * 1000 + Number(micros) / 1000) / 10) + 360_000;
      await redis.hset(keys[3], 'n', newest, `c${newest % 5}`, 2, `f${newest % 5}`, 2);
      await redis.hset(keys[3], 'c', 2, 'f', 2, 's', 0, 'g', 0);
      const [, , , , , c] = await report(0, [['success']]);
      expect(c).to.equal(3);
      await sleep(60); // the Redis clock cannot be faked: a whole window of real time
      const [, state, , , , after, failed] = await report(0, [['success']]);
      expect([state, after, failed]).to.deep.equal(['closed', 1, 0]);
    });

    it('expires the window hash once its calls have aged out', async () => {
      window = timeWindow(2 * spanMs, 2);
      await report(0, [['success']]);
      expect(await redis.pttl(keys[3])).to.be.within(2_000, 3_000);
    });
  });
});
