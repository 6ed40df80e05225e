import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import {
  ConcurrencyLimitError,
  ConcurrencyLimiter,
  ConfigError,
  Timeout,
  currentSignal,
} from '../../src/index.js';
import {
  RedisConcurrencyLimiter,
  RedisStoreError,
  type RedisConcurrencyLimiterOptions,
} from '../../src/redis/index.js';
import { RedisServer } from './redis-server.js';
import { failingOnce, holdSubscriptions, sleep, stall, until } from './support.js';
import { RELEASE } from '../../src/redis/semaphore-scripts.js';

const holder = fileURLToPath(new URL('./permit-holder.child.js', import.meta.url));

describe('dspu/redis distributed concurrency limiter', function () {
  this.timeout(20_000);
  let server: RedisServer;
  const clients: Redis[] = [];
  const limiters: RedisConcurrencyLimiter[] = [];
  let run = 0;

  /** `count` limiters sharing one set of permits, each on a client of its own, as separate processes. */
  function fleet(
    count: number,
    options: RedisConcurrencyLimiterOptions,
    name = `permits-${++run}`,
  ) {
    return Array.from({ length: count }, () => {
      const client = server.client();
      clients.push(client);
      const limiter = new RedisConcurrencyLimiter(client, name, options);
      limiters.push(limiter);
      return limiter;
    });
  }

  before(async () => {
    server = await RedisServer.start();
  });

  afterEach(async () => {
    await Promise.all(limiters.splice(0).map((l) => l.close()));
    for (const client of clients.splice(0)) client.disconnect();
  });

  after(async () => {
    await server.stop();
  });

  it("keeps the caller's context for work that starts after a round trip (currentSignal())", async () => {
    const [limiter] = fleet(1, { limit: 1 });
    const budget = new Timeout(5_000);
    const sees = (signal: AbortSignal) => limiter.run(() => currentSignal() === signal);
    // The second call queues behind the first and starts when its permit is released.
    expect(await Promise.all([budget.run(sees), budget.run(sees)])).to.deep.equal([true, true]);
  });

  it('runs at most `limit` calls at once across every process', async () => {
    const members = fleet(3, { limit: 3 });
    let running = 0;
    let most = 0;
    const work = async () => {
      most = Math.max(most, ++running);
      await sleep(20);
      running--;
    };
    await Promise.all(members.flatMap((m) => Array.from({ length: 6 }, () => m.run(work))));
    expect(most).to.equal(3);
  });

  it('is a ConcurrencyLimiter, usable wherever one is', () => {
    const [limiter] = fleet(1, { limit: 1 });
    expect(limiter).to.be.instanceOf(ConcurrencyLimiter);
  });

  it('wakes a waiter in another process as soon as a permit is released', async () => {
    const [a, b] = fleet(2, { limit: 1, lease: '10s' });
    const permit = await a.acquire();
    let granted = 0;
    const waiting = b.run(async () => (granted = Date.now()));
    await sleep(100);
    const released = Date.now();
    permit.release();
    await waiting;
    expect(granted - released).to.be.below(100);
  });

  it('wakes a waiter whose process was not yet subscribed when the permit was released', async () => {
    const [a] = fleet(1, { limit: 1, lease: '10s' });
    // b's subscriber connection subscribes only after the release has been published.
    const client = server.client();
    clients.push(client);
    const subscribeNow = holdSubscriptions(client);
    const b = new RedisConcurrencyLimiter(client, `permits-${run}`, { limit: 1, lease: '10s' });
    limiters.push(b);
    const permit = await a.acquire();
    let granted = 0;
    const waiting = b.run(async () => (granted = Date.now()));
    await sleep(100); // b was told no permit is free
    permit.release();
    await sleep(100); // the release was published to nobody
    const subscribed = Date.now();
    subscribeNow();
    await waiting;
    expect(granted - subscribed).to.be.below(500);
  });

  it("returns a SIGKILLed holder's permit after the lease time", async () => {
    const lease = 600;
    const [limiter] = fleet(1, { limit: 1, lease });
    const name = `permits-${run}`;
    const child = spawn(process.execPath, [holder, String(server.port), name, '1', String(lease)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('held') && resolve());
        child.on('exit', (code) => reject(new Error(`holder exited with ${code}`)));
      });
      // The holder renews its lease: the permit stays taken well past one lease.
      await sleep(lease * 2);
      const [probe] = fleet(1, { limit: 1, lease, maxWait: 100 }, name);
      expect(await probe.run(async () => 'early').catch((e: unknown) => e)).to.be.instanceOf(
        ConcurrencyLimitError,
      );
      const killed = Date.now();
      child.kill('SIGKILL');
      expect(await limiter.run(async () => 'after the lease')).to.equal('after the lease');
      expect(Date.now() - killed).to.be.within(1, lease + 400);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('rejects with ConcurrencyLimitError beyond maxQueue and after maxWait', async () => {
    const [a, b] = fleet(2, { limit: 1, maxQueue: 1, maxWait: 150 });
    const permit = await a.acquire();
    const queued = b.run(async () => 'late');
    const refused = await b.run(async () => 'refused').catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(ConcurrencyLimitError);
    expect(await queued.catch((e: unknown) => e)).to.be.instanceOf(ConcurrencyLimitError);
    permit.release();
  });

  it('with maxWait 0, runs a call when a permit of the fleet is free and refuses it when none is', async () => {
    const [a, b] = fleet(2, { limit: 1, maxWait: 0 });
    expect(await b.run(async () => 'ran')).to.equal('ran');
    const permit = await a.acquire();
    const refused = await b.run(async () => 'refused').catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(ConcurrencyLimitError);
    permit.release();
    await until(
      async () => (await b.run(async () => 'again').catch(() => 'refused')) === 'again',
      5_000,
    );
    const hasty = await b.run(async () => 'ran', { maxWait: 0 });
    expect(hasty).to.equal('ran');
  });

  it('leaves the queue at once when the signal aborts', async () => {
    const [a, b] = fleet(2, { limit: 1 });
    const permit = await a.acquire();
    const controller = new AbortController();
    const waiting = b.run(async () => 'never', { signal: controller.signal });
    await sleep(20);
    controller.abort(new Error('gave up'));
    expect(((await waiting.catch((e: unknown) => e)) as Error).message).to.equal('gave up');
    expect(b.pending).to.equal(0);
    permit.release();
  });

  it("limits this process on its own while Redis is down ('local'), then shares again", async () => {
    const [a] = fleet(1, { limit: 2, commandTimeout: '100ms', retryInterval: '100ms' });
    const fallbacks: unknown[] = [];
    a.storeEvents.on('fallback', (e) => fallbacks.push(e));
    await server.stop();
    let running = 0;
    let most = 0;
    const work = async () => {
      most = Math.max(most, ++running);
      await sleep(10);
      running--;
    };
    await Promise.all(Array.from({ length: 6 }, () => a.run(work)));
    expect(most).to.equal(2);
    expect(fallbacks).to.have.length(1);
    await server.start();
    const recovered: unknown[] = [];
    a.storeEvents.on('recovered', (e) => recovered.push(e));
    await until(
      () => recovered.length === 1,
      10_000,
      () => a.run(work),
    );
  });

  it("refuses every call with a rejected RedisStoreError while Redis is down ('fail-closed'), never a throw", async () => {
    const options = { limit: 1, onStoreError: 'fail-closed', retryInterval: '10s' } as const;
    const [a] = fleet(1, options);
    await a.run(async () => undefined);
    await server.stop();
    try {
      const outcomes: unknown[] = [];
      for (let i = 0; i < 3; i++) {
        let call: Promise<unknown> | undefined;
        try {
          call = a.run(async () => 'ran');
        } catch (error) {
          outcomes.push(['thrown', error]);
          continue;
        }
        outcomes.push(await call.catch((error: unknown) => error));
      }
      expect(outcomes).to.have.length(3);
      for (const outcome of outcomes) expect(outcome).to.be.instanceOf(RedisStoreError);
    } finally {
      await server.start();
    }
  });

  describe('commands that time out and run later', () => {
    const slow = { commandTimeout: '100ms', retryInterval: '50ms' } as const;
    let admin: Redis;

    beforeEach(() => {
      admin = server.client();
      clients.push(admin);
    });

    it('gives a permit back at once when its ACQUIRE timed out and Redis ran it later', async () => {
      const [a, b] = fleet(2, { limit: 1, lease: '5s', ...slow });
      const key = `{dspu:permits-${run}}:permits`;
      await stall(admin, 300, async () => {
        // The ACQUIRE times out: the call runs on this process's own limiter.
        expect(await a.run(async () => 'ran locally')).to.equal('ran locally');
      });
      const resumed = Date.now();
      await until(async () => (await admin.zcard(key)) === 0, 1_000);
      expect(Date.now() - resumed).to.be.below(200);
      const started = Date.now();
      expect(await b.run(async () => 'at once')).to.equal('at once');
      expect(Date.now() - started).to.be.below(200);
    });

    it('gives a permit back when its RELEASE timed out, once Redis runs it', async () => {
      const [a] = fleet(1, { limit: 1, lease: '5s', ...slow });
      const permit = await a.acquire();
      const errors: unknown[] = [];
      a.storeEvents.on('storeError', (e) => errors.push(e));
      await stall(admin, 300, () => permit[Symbol.asyncDispose]());
      expect(errors).to.have.length(1);
      expect(await admin.zcard(`{dspu:permits-${run}}:permits`)).to.equal(0);
    });

    it('sends a RELEASE that failed again until Redis answers, so the permit does not wait for its lease', async () => {
      const name = `permits-${++run}`;
      const client = failingOnce(server.client(), RELEASE);
      clients.push(client);
      const limiter = new RedisConcurrencyLimiter(client, name, { limit: 1, lease: '5s', ...slow });
      limiters.push(limiter);
      await limiter.run(async () => 'done'); // its RELEASE fails
      await until(async () => (await admin.zcard(`{dspu:${name}}:permits`)) === 0, 500);
    });

    it('loses no lease when a RENEW timed out and Redis ran it later', async () => {
      // Renewals every 300 ms: the one at 300 ms is sent into the pause and times out at 400 ms; Redis runs it
      // when the pause ends, at about 500 ms, long before the lease would end (900 ms) even on a loaded machine.
      const [a] = fleet(1, { limit: 1, lease: 900, ...slow });
      const lost: Error[] = [];
      a.storeEvents.on('storeError', ({ error }) => lost.push(error));
      const permit = await a.acquire();
      await stall(admin, 500, () => sleep(420));
      await sleep(50);
      await permit[Symbol.asyncDispose]();
      expect(lost.some((e) => /ran out before renewal/.test(e.message))).to.equal(false);
      expect(await admin.zcard(`{dspu:permits-${run}}:permits`)).to.equal(0);
    });
  });

  it('throws a ConfigError naming an invalid lease', () => {
    const client = server.client();
    clients.push(client);
    expect(() => new RedisConcurrencyLimiter(client, 'x', { limit: 1, lease: 1 })).to.throw(
      ConfigError,
      /lease/,
    );
  });

  it('refuses a null lease, as every duration option does, instead of taking the default', () => {
    const client = server.client();
    clients.push(client);
    expect(
      () => new RedisConcurrencyLimiter(client, 'x', { limit: 1, lease: null as never }),
    ).to.throw(ConfigError, /^lease: expected a duration .*got null$/);
  });
});
