import { expect } from 'chai';
import type { Redis } from 'ioredis';
import {
  ConfigError,
  RateLimiter,
  ResilienceRegistry,
  type TokenBucketSpec,
} from '../../src/index.js';
import sinon from 'sinon';
import {
  RedisStoreError,
  RedisTokenBucketStore,
  redisStore,
  withRedisStores,
  type RedisTakeResult,
} from '../../src/redis/index.js';
import { RedisServer } from './redis-server.js';
import { roundTrips, sleep } from './support.js';

describe('dspu/redis token bucket store', function () {
  this.timeout(15_000);
  let server: RedisServer;
  let redis: Redis;
  let admin: Redis;
  let run = 0;
  // Each test gets buckets of its own.
  const name = (label: string) => `${label}-${++run}`;

  before(async () => {
    server = await RedisServer.start();
    redis = server.client();
    admin = server.client();
  });

  after(async () => {
    redis.disconnect();
    admin.disconnect();
    await server.stop();
  });

  // 10 tokens, one per 100 ms: slow enough that refill during a test step is a fraction of a token.
  const slow: TokenBucketSpec = { capacity: 10, msPerToken: 100 };

  it('starts full and grants a burst of `capacity` tokens at once', async () => {
    const store = redisStore(redis, name('burst'));
    for (let i = 0; i < 10; i++) expect((await store.take(1, 0, slow)).granted).to.equal(true);
    const refused = await store.take(1, 0, slow);
    expect(refused.granted).to.equal(false);
    expect(refused.waitMs).to.be.within(1, 100);
  });

  it('takes weighted requests and answers a refusal with the wait for exactly the missing tokens', async () => {
    const store = redisStore(redis, name('weighted'));
    expect((await store.take(7, 0, slow)).granted).to.equal(true);
    const refused = await store.take(5, 0, slow);
    expect(refused.granted).to.equal(false);
    // Two tokens are missing (a little less, as the bucket refilled since the first take).
    expect(refused.waitMs).to.be.within(150, 200);
  });

  it('never consumes anything when it refuses', async () => {
    const store = redisStore(redis, name('refusal'));
    await store.take(8, 0, slow);
    const before = await admin.get(store.key);
    expect((await store.take(5, 0, slow)).granted).to.equal(false);
    expect(await admin.get(store.key)).to.equal(before);
    expect((await store.take(2, 0, slow)).granted).to.equal(true);
  });

  it('grants once the caller has slept the wait it was told, with no polling in between', async () => {
    const store = redisStore(redis, name('exact-wait'));
    const fast: TokenBucketSpec = { capacity: 4, msPerToken: 20 };
    await store.take(4, 0, fast);
    const refused = await store.take(3, 0, fast);
    expect(refused.waitMs).to.be.within(40, 60);
    // A Node timer may fire up to a few ms early against Redis's wall clock (its loop time lags when busy).
    await sleep(refused.waitMs + 3);
    expect((await store.take(3, 0, fast)).granted).to.equal(true);
  });

  it('keeps time by Redis TIME and ignores the caller clock', async () => {
    const store = redisStore(redis, name('clock'));
    const granted = await store.take(10, Date.now() + 3_600_000, slow);
    expect(granted.granted).to.equal(true);
    // A caller clock an hour ahead would have refilled the bucket; Redis says it is empty.
    expect((await store.take(1, Date.now() + 7_200_000, slow)).granted).to.equal(false);
    const [seconds] = await admin.time();
    expect(Math.abs(granted.at - Number(seconds) * 1000)).to.be.below(2_000);
  });

  it('keys the bucket with a hash tag so every key of a policy lands on one Cluster slot', () => {
    expect(redisStore(redis, 'payments').key).to.equal('{dspu:payments}:bucket');
    expect(redisStore(redis, 'payments', { prefix: 'shop' }).key).to.equal(
      '{shop:payments}:bucket',
    );
  });

  it('lets the key expire once the bucket would be full again', async () => {
    const store = redisStore(redis, name('expiry'));
    await store.take(3, 0, slow);
    const ttl = await admin.pttl(store.key);
    expect(ttl).to.be.within(1, 300);
    await sleep(ttl + 20);
    expect(await admin.exists(store.key)).to.equal(0);
  });

  it('costs one Redis command per take', async () => {
    const store = redisStore(redis, name('round-trips'));
    await store.take(1, 0, slow); // loads the script (EVALSHA, then EVAL) once
    const sent = await roundTrips(server, async () => {
      for (let i = 0; i < 20; i++) await store.take(1, 0, slow);
    });
    expect(sent).to.deep.equal(Array<string>(20).fill('evalsha'));
  });

  // 5 tokens, one per second: a batch is decided at one Redis TIME, so its waits are exact.
  const five: TokenBucketSpec = { capacity: 5, msPerToken: 1_000 };
  // Every take is issued before the first await: they are issued in the same tick.
  const issue = (store: RedisTokenBucketStore, weights: number[], bucket = five) =>
    weights.map((tokens) => Promise.resolve(store.take(tokens, 0, bucket)));
  const takeAll = (store: RedisTokenBucketStore, weights: number[], bucket = five) =>
    Promise.all(issue(store, weights, bucket));

  it('sends takes issued in the same tick as one command and decides them in order', async () => {
    const store = redisStore(redis, name('batch'));
    await redisStore(redis, name('warm-up')).take(1, 0, five); // the script is cached
    let results: RedisTakeResult[] = [];
    const sent = await roundTrips(server, async () => {
      results = await takeAll(store, [3, 3, 2, 1]);
    });
    expect(sent).to.deep.equal(['evalsha']);
    // 3 of 5 leaves 2; 3 more is one token short; 2 fits; then the bucket is empty and 1 is a token short.
    expect(results.map(({ granted, waitMs }) => [granted, waitMs])).to.deep.equal([
      [true, 0],
      [false, 1_000],
      [true, 0],
      [false, 1_000],
    ]);
    expect(new Set(results.map((r) => r.at)).size).to.equal(1);
  });

  it('answers a batch as the same takes issued one after another would be answered', async () => {
    const store = redisStore(redis, name('sequential'));
    const one: RedisTakeResult[] = [];
    for (const tokens of [3, 3, 2, 1]) one.push(await store.take(tokens, 0, five));
    expect(one.map((r) => r.granted)).to.deep.equal([true, false, true, false]);
    // Sequential takes see the bucket refill a little between them.
    expect(one[1].waitMs).to.be.within(950, 1_000);
    expect(one[3].waitMs).to.be.within(950, 1_000);
  });

  it('consumes nothing for a refused take in a batch', async () => {
    const store = redisStore(redis, name('batch-refusal'));
    const [big, tooBig, small] = await takeAll(store, [8, 5, 2], slow);
    expect([big.granted, tooBig.granted, small.granted]).to.deep.equal([true, false, true]);
    // 8 + 2 emptied the full bucket at `at` exactly: the refused 5 left no trace.
    const [lastGrant, emptyIn] = (await admin.get(store.key))!.split(' ').map(Number);
    expect(lastGrant / 1000).to.be.closeTo(small.at, 1e-3);
    expect(emptyIn).to.be.closeTo(0, 1e-6);
    const before = await admin.get(store.key);
    const refused = await takeAll(store, [3, 2], slow);
    expect(refused.map((r) => r.granted)).to.deep.equal([false, false]);
    expect(await admin.get(store.key)).to.equal(before);
  });

  it('flushes a full batch of 256 at once and starts another', async () => {
    const store = redisStore(redis, name('cap'));
    const many: TokenBucketSpec = { capacity: 1_000, msPerToken: 1 };
    await store.take(1, 0, many);
    let results: RedisTakeResult[] = [];
    const sent = await roundTrips(server, async () => {
      results = await takeAll(store, Array<number>(300).fill(1), many);
    });
    expect(sent).to.deep.equal(['evalsha', 'evalsha']);
    expect(results.every((r) => r.granted)).to.equal(true);
  });

  it('flushes on a promise continuation, which fake timers leave alone', async () => {
    const calls: unknown[][] = [];
    const client = {
      status: 'ready',
      evalsha: (...args: unknown[]) => {
        calls.push(args);
        return Promise.resolve(['1700000000', '500000', 0, 7]);
      },
    } as unknown as Redis;
    const clock = sinon.useFakeTimers();
    try {
      const store = redisStore(client, 'fake-timers');
      const [a, b] = await takeAll(store, [1, 2]);
      expect(a).to.deep.equal({ granted: true, waitMs: 0, at: 1_700_000_000_500 });
      expect(b).to.deep.equal({ granted: false, waitMs: 7, at: 1_700_000_000_500 });
      expect(calls).to.have.length(1);
      // Three keys (the bucket, the line, the batch's record), this store's id, a ticket's slack, how long
      // the batch is remembered, then (tokens, msPerToken, capacity, maxWait) per take.
      const [, keys, bucketKey, lineKey, batchKey, , slack, memory, ...takes] = calls[0];
      expect([keys, bucketKey, lineKey, slack, memory]).to.deep.equal([
        3,
        store.key,
        '{dspu:fake-timers}:line',
        500,
        1_000,
      ]);
      expect(batchKey).to.match(/^\{dspu:fake-timers\}:batch:[0-9a-f-]{36}:1$/);
      expect(takes).to.deep.equal([1, 1_000, 5, 0, 2, 1_000, 5, 0]);
    } finally {
      clock.restore();
    }
  });

  it('applies onStoreError to each take of a batch that timed out, and reports one failure', async () => {
    const stores = (['local', 'fail-open', 'fail-closed'] as const).map((onStoreError) =>
      redisStore(redis, name(onStoreError), { commandTimeout: '50ms', onStoreError }),
    );
    const seen = stores.map((store) => {
      const events: string[] = [];
      store.events.on('storeError', () => events.push('storeError'));
      store.events.on('fallback', ({ mode }) => events.push(`fallback ${mode}`));
      return events;
    });
    await admin.call('CLIENT', 'PAUSE', '300', 'ALL');
    try {
      const [local, open, closed] = await Promise.all(
        stores.map((store) => Promise.allSettled(issue(store, [3, 3, 2, 1]))),
      );
      const granted = (results: PromiseSettledResult<RedisTakeResult>[]) =>
        results.map((r) => r.status === 'fulfilled' && r.value.granted);
      // The local bucket takes over with the same spec: the same answers Redis would have given.
      expect(granted(local)).to.deep.equal([true, false, true, false]);
      expect(granted(open)).to.deep.equal([true, true, true, true]);
      const errors = closed.map((r) => r.status === 'rejected' && (r.reason as Error));
      for (const error of errors) {
        expect(error).to.be.instanceOf(RedisStoreError);
        expect((error as Error).message).to.match(/did not answer within 50 ms/);
      }
      expect(seen).to.deep.equal([
        ['storeError', 'fallback local'],
        ['storeError', 'fallback fail-open'],
        ['storeError', 'fallback fail-closed'],
      ]);
    } finally {
      await sleep(300); // the pause ends before the next test
    }
  });

  it('reloads the script with EVAL when the server has flushed its script cache', async () => {
    const store = redisStore(redis, name('noscript'));
    await store.take(1, 0, slow);
    await admin.script('FLUSH');
    expect((await store.take(1, 0, slow)).granted).to.equal(true);
  });

  it('shares one bucket between limiters of different clients using the same name', async () => {
    const other = server.client();
    try {
      const shared = name('shared');
      const a = new RateLimiter({ rate: 10, per: '10s', store: redisStore(redis, shared) });
      const b = new RateLimiter({ rate: 10, per: '10s', store: redisStore(other, shared) });
      await a.acquire(6);
      expect(await b.tryAcquire(5)).to.equal(false);
      expect(await b.tryAcquire(4)).to.equal(true);
      expect(await a.tryAcquire(1)).to.equal(false);
    } finally {
      other.disconnect();
    }
  });

  it('makes a queued RateLimiter call wait for the tokens in the shared bucket', async () => {
    const limiter = new RateLimiter({ rate: 50, capacity: 2, store: redisStore(redis, name('q')) });
    const started = Date.now();
    await Promise.all([1, 2, 3, 4].map(() => limiter.acquire()));
    // Two from the burst, then one every 20 ms.
    expect(Date.now() - started).to.be.within(35, 200);
  });

  it('builds registry rate limiters with `store: "redis"` keyed by their names', async () => {
    const config = {
      rateLimiter: {
        defaults: { store: 'redis' as const },
        [name('reg')]: { rate: 3, per: '10s' },
      },
    } as const;
    const [key] = Object.keys(config.rateLimiter).filter((k) => k !== 'defaults');
    const one = new ResilienceRegistry().configure(withRedisStores(redis, config));
    const two = new ResilienceRegistry().configure(withRedisStores(redis, config));
    expect(one.rateLimiter(key).store).to.be.instanceOf(RedisTokenBucketStore);
    await one.rateLimiter(key).acquire(3);
    expect(await two.rateLimiter(key).tryAcquire()).to.equal(false);
  });

  it('throws a ConfigError naming each invalid option', () => {
    const make = (options: object) => () => redisStore(redis, 'x', options);
    expect(make({ commandTimeout: -1 })).to.throw(ConfigError, /commandTimeout/);
    expect(make({ onStoreError: 'ignore' })).to.throw(ConfigError, /onStoreError.*"ignore"/);
    expect(make({ prefix: '{a}' })).to.throw(ConfigError, /prefix/);
    expect(make({ retries: 3 })).to.throw(ConfigError, /retries: unknown option/);
    expect(() => redisStore(redis, '')).to.throw(ConfigError, /name/);
    expect(() => redisStore({} as Redis, 'x')).to.throw(
      ConfigError,
      /client: expected an ioredis client/,
    );
  });
});
