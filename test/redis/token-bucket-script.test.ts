import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { CANCEL, TAKE } from '../../src/redis/token-bucket-script.js';
import { RedisServer } from './redis-server.js';
import { runScript, sleep } from './support.js';

/** One take: tokens, and how long its caller would wait (0: it will not). */
type Take = [tokens: number, maxWait?: number];

describe('dspu/redis token bucket script', function () {
  this.timeout(10_000);
  let server: RedisServer;
  let redis: Redis;
  let run = 0;
  let bucket: string;
  let line: string;
  let batches = 0;
  // 5 tokens, one per 100 ms.
  const spec = [100, 5];
  const slackMs = 50;

  /** Runs batch `batch` of store `store` (a new batch unless given) and answers the waits. */
  async function take(store: string, takes: Take[], batch = `batch-${++batches}`) {
    const args = takes.flatMap(([tokens, maxWait = 0]) => [tokens, ...spec, maxWait]);
    const keys = [bucket, line, `${bucket}:${batch}`];
    const reply = (await runScript(redis, TAKE, keys, [
      store,
      slackMs,
      1_000,
      ...args,
    ])) as number[];
    return reply.slice(2);
  }
  const cancel = (batch: string) =>
    runScript(redis, CANCEL, [bucket, line, `${bucket}:${batch}`], [1_000]);

  before(async () => {
    server = await RedisServer.start();
    redis = server.client();
  });

  beforeEach(() => {
    [bucket, line] = ['bucket', 'line'].map((suffix) => `{bucket-${++run}}:${suffix}`);
  });

  after(async () => {
    redis.disconnect();
    await server.stop();
  });

  describe('a Redis clock that stepped back', () => {
    /** Writes a bucket emptied by a grant an hour after Redis's time now, as before a clock step back. */
    const emptiedAnHourAhead = async () => {
      const [seconds, micros] = await redis.time();
      const inAnHour = Number(seconds) * 1_000_000 + Number(micros) + 3_600_000_000;
      await redis.set(bucket, `${inAnHour} 0`, 'PX', 60_000);
    };

    it('refills from the last grant onwards instead of staying empty for the step', async () => {
      await emptiedAnHourAhead();
      const [wait] = await take('a', [[1]]);
      expect(wait).to.be.within(1, 100);
    });

    it('gives back what a batch took before the step without emptying the bucket for the step', async () => {
      expect(await take('a', [[1]], 'given-up')).to.deep.equal([0]);
      const [at, ms] = (await redis.get(bucket))!.split(' ');
      await redis.set(bucket, `${Number(at) + 3_600_000_000} ${ms}`, 'PX', 60_000);
      await cancel('given-up');
      expect(await take('a', [[5]])).to.deep.equal([0]);
    });
  });

  describe('a batch that runs late or twice', () => {
    it('answers a batch that runs twice as it did the first time, and takes nothing more', async () => {
      expect(await take('a', [[3], [3], [2]], 'b1')).to.deep.equal([0, 100, 0]);
      const state = await redis.get(bucket);
      expect(await take('a', [[3], [3], [2]], 'b1')).to.deep.equal([0, 100, 0]);
      expect(await redis.get(bucket)).to.equal(state);
    });

    it('gives back what a batch took when its caller gave up on it after it ran', async () => {
      await take('a', [[4]], 'b1');
      await cancel('b1');
      expect(await take('b', [[5]])).to.deep.equal([0]);
    });

    it('takes nothing for a batch that runs after its caller gave up on it', async () => {
      await cancel('b1');
      expect(await take('a', [[5]], 'b1')).to.deep.equal([]);
      expect(await redis.exists(bucket)).to.equal(0);
    });

    it('gives back once when the give-up runs twice', async () => {
      await take('a', [[3]], 'b1');
      await cancel('b1');
      await cancel('b1');
      expect(await take('b', [[5], [1]])).to.deep.equal([0, 100]);
    });
  });

  describe('the line of waiting takes across processes', () => {
    // Slow refill (a token a second), and levels set directly: the waits below do not depend on timing.
    const slow = [1_000, 5];

    /** Leaves `level` tokens in the bucket now. */
    async function fill(level: number) {
      const [seconds, micros] = await redis.time();
      await redis.set(bucket, `${seconds}${String(micros).padStart(6, '0')} ${-level * 1_000}`);
    }

    async function takeSlow(store: string, takes: Take[]) {
      const args = takes.flatMap(([tokens, maxWait = 0]) => [tokens, ...slow, maxWait]);
      const keys = [bucket, line, `${bucket}:batch-${++batches}`];
      const reply = (await runScript(redis, TAKE, keys, [
        store,
        slackMs,
        1_000,
        ...args,
      ])) as number[];
      // Rounded: a few ms pass between setting a level and the take.
      return reply.slice(2).map((wait) => Math.round(wait / 100) * 100);
    }

    it('keeps tokens for a waiting take that asked first, however small the takes behind it', async () => {
      await fill(1.5);
      expect(await takeSlow('heavy', [[3, 60_000]])).to.deep.equal([1_500]);
      // Without the line, a 1-token take would be granted now.
      expect(await takeSlow('light', [[1]])).to.deep.equal([2_500]);
      expect(await takeSlow('light', [[1, 60_000]])).to.deep.equal([2_500]);
      await fill(3);
      expect(await takeSlow('heavy', [[3, 60_000]])).to.deep.equal([0]);
      expect(await takeSlow('light', [[1, 60_000]])).to.deep.equal([1_000]);
    });

    it('gives no place in line to a take that will not wait: its refusal leaves no trace', async () => {
      await fill(1);
      expect(await takeSlow('b', [[2]])).to.deep.equal([1_000]);
      expect(await redis.exists(line)).to.equal(0);
    });

    it('gives no place in line to a take whose wait would exceed its maxWait', async () => {
      await fill(0);
      expect(await takeSlow('b', [[3, 2_000]])).to.deep.equal([3_000]);
      expect(await redis.exists(line)).to.equal(0);
    });

    it('lets the place of a waiting take lapse when it does not come back after its wait', async () => {
      await fill(0.95);
      await takeSlow('gone', [[1, 60_000]]); // waits 50 ms, then never asks again
      await sleep(50 + slackMs + 30);
      expect(await takeSlow('b', [[1]])).to.deep.equal([0]);
    });

    it('queues the rest of a batch behind its first waiting take that is refused', async () => {
      await fill(1);
      // The first waits for 1 token more, the second for the first's 2 and its own, …
      expect(await takeSlow('b', [[2, 60_000], [1, 60_000], [1]])).to.deep.equal([
        1_000, 2_000, 3_000,
      ]);
    });
  });
});
