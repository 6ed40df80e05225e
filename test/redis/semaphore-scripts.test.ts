import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { ACQUIRE, RELEASE, RENEW } from '../../src/redis/semaphore-scripts.js';
import { RedisServer } from './redis-server.js';
import { runScript, sleep, until } from './support.js';

describe('dspu/redis semaphore scripts that run late or twice', function () {
  this.timeout(10_000);
  let server: RedisServer;
  let redis: Redis;
  let run = 0;
  let keys: string[];
  const lease = 5_000;
  const acquire = (id: string, limit = 1) => runScript(redis, ACQUIRE, keys, [lease, limit, id]);
  const release = (id: string) =>
    runScript(redis, RELEASE, keys, [lease, id, `${keys[0]}:released`]);
  const renew = (...ids: string[]) => runScript(redis, RENEW, keys, [lease, ...ids]);

  before(async () => {
    server = await RedisServer.start();
    redis = server.client();
  });

  beforeEach(() => {
    keys = [`{semaphore-${++run}}:permits`, `{semaphore-${run}}:given-back`];
  });

  after(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('takes one permit for an ACQUIRE that runs twice, and answers both runs alike', async () => {
    expect(await acquire('a')).to.deep.equal([1, 0]);
    expect(await acquire('a')).to.deep.equal([1, 0]);
    expect(await redis.zcard(keys[0])).to.equal(1);
    expect(((await acquire('b')) as number[])[0]).to.equal(0);
  });

  it('takes nothing for an ACQUIRE that runs after the RELEASE of its caller, who gave up on it', async () => {
    await release('a');
    expect(await acquire('a')).to.deep.equal([-1, 0]);
    expect(await redis.zcard(keys[0])).to.equal(0);
    expect(await acquire('b')).to.deep.equal([1, 0]);
  });

  it('takes nothing for an ACQUIRE that runs again once its permit was given back', async () => {
    await acquire('a');
    await release('a');
    expect(await acquire('a')).to.deep.equal([-1, 0]);
    expect(await redis.zcard(keys[0])).to.equal(0);
  });

  it('gives a permit back once, and tells waiting processes once, for a RELEASE that runs twice', async () => {
    const listener = server.client();
    const heard: string[] = [];
    listener.on('message', (_channel: string, message: string) => heard.push(message));
    await listener.subscribe(`${keys[0]}:released`);
    try {
      await acquire('a', 2);
      await acquire('b', 2);
      await release('a');
      await release('a');
      expect(await redis.zrange(keys[0], 0, -1)).to.deep.equal(['b']);
      await until(() => heard.length > 0, 1_000);
      await sleep(50);
      expect(heard).to.deep.equal(['released']);
    } finally {
      listener.disconnect();
    }
  });

  it('neither renews nor counts as lost a permit given back before a RENEW that ran late', async () => {
    await acquire('a', 2);
    await acquire('b', 2);
    await release('a');
    expect(await renew('a', 'b')).to.equal(0);
    expect(await redis.zrange(keys[0], 0, -1)).to.deep.equal(['b']);
  });

  it('renews a held permit however often RENEW runs, and counts a lease that ran out as lost', async () => {
    await acquire('a');
    expect(await renew('a')).to.equal(0);
    expect(await renew('a')).to.equal(0);
    expect(await redis.zcard(keys[0])).to.equal(1);
    expect(await renew('never-taken')).to.equal(1);
  });

  describe('processes whose leases differ (a rolling deploy that changes `lease`)', () => {
    const shortLease = 100;

    it('keeps a long lease when a process of a shorter lease takes a permit or renews', async () => {
      await acquire('long', 2);
      await runScript(redis, ACQUIRE, keys, [shortLease, 2, 'short']);
      await runScript(redis, RENEW, keys, [shortLease, 'short']);
      expect(await redis.pttl(keys[0])).to.be.within(lease - 1_000, lease);
      await runScript(redis, RELEASE, keys, [shortLease, 'short', 'channel']);
      await sleep(2 * shortLease);
      expect(await renew('long')).to.equal(0); // not lost
      expect(((await acquire('other', 2)) as number[])[0]).to.equal(1);
      expect(((await acquire('third', 2)) as number[])[0]).to.equal(0);
    });

    it('remembers a permit given back for its longest lease, so a late ACQUIRE of it takes nothing', async () => {
      await release('gave-up');
      await runScript(redis, RELEASE, keys, [shortLease, 'other', 'channel']);
      expect(await redis.pttl(keys[1])).to.be.within(lease - 1_000, lease);
    });
  });

  it('forgets a permit given back once its lease has passed', async () => {
    await runScript(redis, RELEASE, keys, [50, 'a', 'channel']);
    expect(await redis.pttl(keys[1])).to.be.within(1, 50);
    await sleep(80);
    expect(await redis.exists(keys[1])).to.equal(0);
  });
});
