import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { ABANDON, ADMIT, FORCE, REPORT } from '../../src/redis/circuit-scripts.js';
import type { LuaScript } from '../../src/redis/redis-link.js';
import { RedisServer } from './redis-server.js';
import { runScript, sleep } from './support.js';

type Reply = [verdict: string, state: string, gen: number, retryAfter: number, isolated: number];

describe('dspu/redis circuit scripts that run late or twice', function () {
  this.timeout(10_000);
  let server: RedisServer;
  let redis: Redis;
  let run = 0;
  let keys: string[];
  const trialLease = 5_000;
  // Every script takes the open timeout, the channel and the trial lease first.
  const script = (lua: LuaScript, ...args: (string | number)[]) =>
    runScript(redis, lua, keys, [10, `${keys[0]}:changes`, trialLease, ...args]) as Promise<Reply>;
  const admit = (token: string, halfOpenMaxCalls = 1) => script(ADMIT, halfOpenMaxCalls, token);
  // A batch of one consecutive-mode outcome: failureThreshold and successThreshold 2, no backoff.
  const report = (outcome: string, gen: number, token: string, id: string) =>
    script(REPORT, id, trialLease, 2, 2, 10, 0, 0, 0, 0, 0, 0, outcome, gen, token, 0, 0);
  const circuit = async () => redis.hgetall(keys[0]);

  /** A circuit opened long ago: the next ADMIT finds its timeout passed and moves it to HALF_OPEN. */
  const openLongAgo = () => redis.hset(keys[0], 's', 'open', 'o', 0, 'g', 1, 'i', 0);

  before(async () => {
    server = await RedisServer.start();
    redis = server.client();
  });

  beforeEach(() => {
    keys = ['circuit', 'trials', 'done', 'window'].map((suffix) => `{circuit-${++run}}:${suffix}`);
  });

  after(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('leases one trial slot for an ADMIT that runs twice, and answers both runs alike', async () => {
    await openLongAgo();
    const [first, second] = [await admit('a'), await admit('a')];
    expect([first[0], second[0]]).to.deep.equal(['trial', 'trial']);
    expect(await redis.zcard(keys[1])).to.equal(1);
    expect((await admit('b'))[0]).to.equal('rejected');
  });

  it('takes no slot for an ADMIT that runs after its caller gave up on it', async () => {
    await openLongAgo();
    await script(ABANDON, 'a');
    expect((await admit('a'))[0]).to.equal('rejected');
    expect(await redis.zcard(keys[1])).to.equal(0);
    expect((await admit('b'))[0]).to.equal('trial');
  });

  it('frees the slot of an ADMIT that ran before its caller gave up on it', async () => {
    await openLongAgo();
    await admit('a');
    await script(ABANDON, 'a');
    await script(ABANDON, 'a');
    expect(await redis.zcard(keys[1])).to.equal(0);
    expect((await admit('b'))[0]).to.equal('trial');
  });

  it('takes no slot for an ADMIT that runs again after its trial reported', async () => {
    await openLongAgo();
    const [, , gen] = await admit('a');
    await report('ignored', gen, 'a', 'a');
    expect((await admit('a'))[0]).to.equal('rejected');
    expect(await redis.zcard(keys[1])).to.equal(0);
  });

  it('answers a half-open rejection with the time until the earliest trial lease ends', async () => {
    await openLongAgo();
    await admit('a');
    const [verdict, state, , retryAfter] = await admit('b');
    expect([verdict, state]).to.deep.equal(['rejected', 'half_open']);
    expect(retryAfter).to.be.within(trialLease - 100, trialLease);
  });

  it('counts a failure once when its REPORT runs twice', async () => {
    const [, , gen] = await admit('');
    await report('failure', gen, '', 'report-1');
    expect((await report('failure', gen, '', 'report-1'))[0]).to.equal('done');
    const { s: state = 'closed', f: failures } = await circuit();
    expect([state, failures]).to.deep.equal(['closed', '1']);
    await report('failure', gen, '', 'report-2');
    expect((await circuit()).s).to.equal('open');
  });

  it('counts a trial success once when its REPORT runs twice', async () => {
    await openLongAgo();
    const [, , gen] = await admit('a', 2);
    await report('success', gen, 'a', 'a');
    await report('success', gen, 'a', 'a');
    expect(await circuit()).to.include({ s: 'half_open', k: '1' });
  });

  it('changes nothing with a REPORT that runs after the circuit moved on', async () => {
    const [, , gen] = await admit('');
    await script(FORCE, 'isolate', 'force-1');
    const before = await circuit();
    await report('failure', gen, '', 'report-1');
    expect(await circuit()).to.deep.equal(before);
  });

  it('moves the circuit once for a forced move that runs twice', async () => {
    await script(FORCE, 'isolate', 'force-1');
    const { g } = await circuit();
    expect((await script(FORCE, 'isolate', 'force-1'))[0]).to.equal('done');
    expect((await circuit()).g).to.equal(g);
  });

  it('counts the open time from now when the Redis clock stepped back since the circuit opened', async () => {
    const [seconds] = await redis.time();
    const anHourAhead = Number(seconds) * 1000 + 3_600_000;
    await redis.hset(keys[0], 's', 'open', 'o', anHourAhead, 'm', 10, 'g', 1, 'i', 0);
    const [verdict, , , retryAfter] = await admit('a');
    expect([verdict, retryAfter]).to.deep.equal(['rejected', 10]);
    await sleep(20);
    expect((await admit('a'))[0]).to.equal('trial');
  });

  describe('keys nobody uses', () => {
    const day = 86_400_000;
    const tenDays = 10 * day;
    // The same batch, with the retry after its failure asked for (ms).
    const failWithRetryAfter = (gen: number, id: string, retryAfter: number) =>
      script(
        REPORT,
        id,
        trialLease,
        1,
        2,
        tenDays,
        0,
        0,
        0,
        0,
        0,
        0,
        'failure',
        gen,
        '',
        0,
        retryAfter,
      );

    it('lets a closed circuit that nobody uses expire a day after its last report', async () => {
      const [, , gen] = await admit('');
      await report('failure', gen, '', 'report-1');
      expect(await redis.pttl(keys[0])).to.be.within(day - 1_000, day);
    });

    it('keeps an open circuit a day past the end of its open time, however late a report refreshes it', async () => {
      const [, , gen] = await admit('');
      await failWithRetryAfter(gen, 'report-1', tenDays);
      expect((await circuit()).s).to.equal('open');
      expect(await redis.pttl(keys[0])).to.be.within(tenDays + day - 1_000, tenDays + day);
      await report('failure', gen, '', 'late-report'); // admitted before the circuit opened
      expect(await redis.pttl(keys[0])).to.be.within(tenDays + day - 1_000, tenDays + day);
    });

    it('keeps a half-open circuit a day past the end of its trial leases, the longest of them too', async () => {
      await openLongAgo();
      await admit('a', 2);
      expect(await redis.pttl(keys[0])).to.be.within(day + trialLease - 1_000, day + trialLease);
      // A process with a shorter trialLease takes the other slot.
      await runScript(redis, ADMIT, keys, [10, `${keys[0]}:changes`, 100, 2, 'b']);
      expect(await redis.pttl(keys[0])).to.be.within(day + trialLease - 1_000, day + trialLease);
    });

    it('keeps an isolated circuit until it is reset, then lets it expire when unused', async () => {
      const [, , gen] = await admit('');
      await script(FORCE, 'isolate', 'force-1');
      await report('failure', gen, '', 'late-report');
      await admit('b');
      expect(await redis.pttl(keys[0])).to.equal(-1);
      await script(FORCE, 'reset', 'force-2');
      expect(await redis.pttl(keys[0])).to.be.within(day - 1_000, day);
    });

    it('lets the trial leases expire with the longest of them, whatever lease a later ADMIT asks', async () => {
      await openLongAgo();
      await admit('a', 2);
      expect(await redis.pttl(keys[1])).to.be.within(trialLease - 1_000, trialLease);
      await runScript(redis, ADMIT, keys, [10, `${keys[0]}:changes`, 100, 2, 'b']);
      expect(await redis.pttl(keys[1])).to.be.within(trialLease - 1_000, trialLease);
    });
  });

  it("doubles the circuit's own open time on a re-open, not a failure's retryAfter that held it open longer", async () => {
    // failureThreshold 1, no cap on the backoff: one failure (and its retryAfter) per batch.
    const fail = (gen: number, token: string, id: string, retryAfter: number) =>
      script(
        REPORT,
        id,
        trialLease,
        1,
        2,
        1_000_000,
        0,
        0,
        0,
        0,
        0,
        0,
        'failure',
        gen,
        token,
        0,
        retryAfter,
      );
    const [, , closedGen] = await admit('');
    await fail(closedGen, '', 'report-1', 120_000); // a 429 with Retry-After 120 s
    expect((await circuit()).m).to.equal('120000');
    await redis.hset(keys[0], 'o', 0); // its open time has passed
    const [verdict, , trialGen] = await admit('trial-1');
    expect(verdict).to.equal('trial');
    await fail(trialGen, 'trial-1', 'report-2', 0);
    // The backoff goes from the timeout (10 ms) to 20 ms, not from the 120 s the server asked for to 240 s.
    expect((await circuit()).m).to.equal('20');
  });

  it('forgets what it remembered once a trial lease has passed', async () => {
    await runScript(redis, FORCE, keys, [10, 'channel', 50, 'reset', 'force-1']);
    expect(await redis.pttl(keys[2])).to.be.within(1, 50);
  });
});
