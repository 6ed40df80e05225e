import { expect } from 'chai';
import { Redis } from 'ioredis';
import { RedisCircuitBreaker, RedisConcurrencyLimiter, redisStore } from '../../src/redis/index.js';
import { LossyProxy } from './lossy-proxy.js';
import { RedisServer } from './redis-server.js';
import { sleep } from './support.js';

// Each case loses one reply and keeps the link down longer than every memory of the stores (1 s), as a
// reconnect after a real partition would.
const DOWN_MS = 1_500;

describe('dspu/redis commands whose reply was lost', function () {
  this.timeout(20_000);
  let server: RedisServer;
  let admin: Redis;
  let proxy: LossyProxy;
  let client: Redis;
  let run = 0;

  before(async () => {
    server = await RedisServer.start();
    admin = server.client();
  });
  after(async () => {
    admin.disconnect();
    await server.stop();
  });
  beforeEach(async () => {
    proxy = new LossyProxy(server.port);
    client = new Redis(await proxy.listen(), '127.0.0.1');
    client.on('error', () => undefined);
    await client.ping();
  });
  afterEach(() => {
    client.disconnect();
    proxy.close();
  });

  const evalsha = (request: string) => request.toLowerCase().includes('evalsha');

  it('counts a failure once when the reply of its REPORT was lost and the client reconnected late', async () => {
    const name = `report-${++run}`;
    const breaker = new RedisCircuitBreaker(client, name, { failureThreshold: 2, timeout: '30s' });
    await breaker.protect(() => 'warm-up');
    proxy.loseReplyOf((request) => request.includes('failure'), DOWN_MS);
    await breaker
      .protect(() => Promise.reject(new Error('the only failure')))
      .catch(() => undefined);
    await sleep(DOWN_MS + 1_000);
    await breaker.protect(() => 'after'); // the link is back
    expect(await admin.hget(`{dspu:${name}}:circuit`, 's')).to.not.equal('open');
    await breaker.close();
  });

  it('takes the tokens of a batch given up on at most once after a late reconnect', async () => {
    const name = `bucket-${++run}`;
    const bucket = { capacity: 10, msPerToken: 60_000 };
    await redisStore(client, `warm-${run}`).take(1, Date.now(), bucket);
    proxy.loseReplyOf(evalsha, DOWN_MS);
    const store = redisStore(client, name);
    await Promise.all([1, 2, 3, 4].map(async () => store.take(1, Date.now(), bucket)));
    await sleep(DOWN_MS + 1_000);
    // 10 tokens, 4 taken at most once: a take of 6 is granted, one of 7 would not be.
    const checker = redisStore(admin, name);
    expect((await checker.take(6, Date.now(), bucket)).granted).to.equal(true);
  });

  it('takes no permit for nobody when an ACQUIRE given up on would run after a late reconnect', async () => {
    const name = `permits-${++run}`;
    const limiter = new RedisConcurrencyLimiter(client, name, { limit: 1, lease: '1s' });
    await limiter.run(() => 'warm-up');
    proxy.loseReplyOf(evalsha, DOWN_MS);
    await limiter.run(() => 'served by the local fallback');
    const permits = `{dspu:${name}}:permits`;
    // The lost ACQUIRE ran once: its permit is held for nobody until its lease (1 s) ends, during the outage.
    // From the reconnect on, through one more lease, no permit is held in Redis: nothing ran it again.
    await sleep(DOWN_MS);
    const held: number[] = [];
    for (let waited = 0; waited < 1_200; waited += 50) {
      held.push(await admin.zcard(permits));
      await sleep(50);
    }
    expect(Math.max(...held)).to.equal(0);
    await limiter.close();
  });
});
