// Found by the soak: on the epoch clock (~1.8e12 ms) a double's step is 2.4e-4 ms, so a bucket that moved an
// "empty at" timestamp forward by 0.025 ms per token (40 tokens/ms) rounded every grant and over-admitted.
// The Redis store's script computes the same bucket in Lua, so it runs the same cases on a clock of our own.
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { MemoryTokenBucketStore, type TokenBucketSpec } from '../../src/index.js';
import { LuaScript } from '../../src/redis/redis-link.js';
import { TAKE } from '../../src/redis/token-bucket-script.js';
import { RedisServer } from '../redis/redis-server.js';

const RATES = [40, 24, 3, 1000 / 7];
const START = 1_795_000_000_000;
const expected = (rate: number) => 200 + Math.floor(rate * 1000 + 1e-9);
const spec = (rate: number): TokenBucketSpec => ({ capacity: 200, msPerToken: 1 / rate });

/** Takes one token at a time, as fast as granted, for `ms` milliseconds starting at `start`. */
function grantsOver(bucket: TokenBucketSpec, start: number, ms: number): number {
  const store = new MemoryTokenBucketStore();
  let grants = 0;
  for (let t = start; t <= start + ms; t++) while (store.take(1, t, bucket).granted) grants++;
  return grants;
}

describe('reliability: token bucket precision on the epoch clock', () => {
  for (const rate of RATES) {
    it(`grants exactly capacity + rate x time at ${rate.toFixed(2)} tokens/ms, near 1.8e12 ms`, () => {
      expect(grantsOver(spec(rate), START, 1000)).to.equal(expected(rate));
      expect(grantsOver(spec(rate), 0, 1000)).to.equal(expected(rate));
    });
  }

  describe('in the Redis store script', function () {
    this.timeout(20_000);
    let server: RedisServer;
    let redis: Redis;
    let run = 0;
    // The script as it is, but reading its clock from a hash instead of Redis TIME, keeping its bucket for
    // longer than the real time the test takes (keys expire on Redis's own clock), and repeating one take
    // ARGV[4] times: a batch as long as the tokens a millisecond brings costs a few arguments.
    const clock = ["redis.call('TIME')", "redis.call('HMGET', KEYS[4], 'seconds', 'microseconds')"];
    const expiry = ["'PX', ttl", "'PX', ttl + 3600000"];
    const repeat = `local A = {ARGV[1], ARGV[2], ARGV[3]}
for i = 1, tonumber(ARGV[4]) do for j = 5, 8 do A[#A + 1] = ARGV[j] end end`;
    const source = `${repeat}\n${TAKE.source.replaceAll('ARGV', 'A')}`
      .replace(clock[0], clock[1])
      .replace(expiry[0], expiry[1]);
    const script = new LuaScript(source);

    before(async () => {
      expect(source).to.include(clock[1]).and.to.include(expiry[1]);
      server = await RedisServer.start();
      redis = server.client();
      await redis.script('LOAD', script.source);
    });

    after(async () => {
      redis.disconnect();
      await server.stop();
    });

    /**
     * As {@link grantsOver}, with one batch per millisecond a little longer than the tokens there can be, all
     * sent in one pipeline: each millisecond's batch is decided whatever the previous one answered.
     */
    async function scriptGrantsOver(bucket: TokenBucketSpec, start: number, ms: number) {
      const [bucketKey, line, clockKey] = ['bucket', 'line', 'clock'].map(
        (suffix) => `{precision-${++run}}:${suffix}`,
      );
      const take = [1, bucket.msPerToken, bucket.capacity, 0];
      const pipeline = redis.pipeline();
      for (let t = start; t <= start + ms; t++) {
        const batch = t === start ? bucket.capacity + 2 : Math.ceil(1 / bucket.msPerToken) + 2;
        const keys = [bucketKey, line, `{precision-${run}}:batch:${t}`, clockKey];
        pipeline
          .hset(clockKey, 'seconds', Math.floor(t / 1000), 'microseconds', (t % 1000) * 1000)
          .evalsha(script.sha, keys.length, ...keys, 'store', 100, 60_000, batch, ...take);
      }
      const replies = (await pipeline.exec()) as [Error | null, number[]][];
      let grants = 0;
      for (let i = 1; i < replies.length; i += 2) {
        const waits = replies[i][1].slice(2);
        expect(waits.at(-1), 'a batch ends with a refusal').to.be.above(0);
        grants += waits.filter((wait) => wait === 0).length;
      }
      return grants;
    }

    for (const rate of RATES) {
      it(`grants exactly capacity + rate x time at ${rate.toFixed(2)} tokens/ms, near 1.8e12 ms`, async () => {
        expect(await scriptGrantsOver(spec(rate), START, 1000)).to.equal(expected(rate));
        expect(await scriptGrantsOver(spec(rate), 0, 1000)).to.equal(expected(rate));
      });
    }
  });
});
