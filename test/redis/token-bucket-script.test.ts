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
    it('keeps tokens for a waiting take that asked first, however small the takes behind it', async () => {
      await take('a', [[5]]);
      const [wait] = await take('heavy', [[3, 10_000]]);
      expect(wait).to.be.within(290, 300);
      await sleep(150);
      // 1.5 tokens are back: without the line a 1-token take would be granted.
      expect((await take('light', [[1]]))[0]).to.be.within(230, 250);
      const [lightWait] = await take('light', [[1, 10_000]]);
      expect(lightWait).to.be.within(230, 250); // the 3 tokens ahead, then its own
      await sleep(160);
      expect(await take('heavy', [[3, 10_000]])).to.deep.equal([0]);
    });

    it('gives no place in line to a take that will not wait: its refusal leaves no trace', async () => {
      await take('a', [[5]]);
      expect((await take('b', [[2]]))[0]).to.be.above(0);
      expect(await redis.exists(line)).to.equal(0);
    });

    it('gives no place in line to a take whose wait would exceed its maxWait', async () => {
      await take('a', [[5]]);
      expect((await take('b', [[3, 100]]))[0]).to.be.within(290, 300);
      expect(await redis.exists(line)).to.equal(0);
    });

    it('lets the place of a waiting take lapse when it does not come back after its wait', async () => {
      await take('a', [[5]]);
      await take('gone', [[1, 10_000]]); // waits 100 ms, then never asks again
      await sleep(100 + slackMs + 20);
      expect(await take('b', [[1]])).to.deep.equal([0]);
    });

    it('queues the rest of a batch behind its first waiting take that is refused', async () => {
      await take('a', [[4]]);
      const waits = await take('b', [[2, 10_000], [1, 10_000], [1]]);
      // 1 token is left: the first waits for 1 more, the second for the first's 2 and its own, …
      expect(waits.map((wait) => Math.round(wait / 100) * 100)).to.deep.equal([100, 200, 300]);
    });
  });
});
