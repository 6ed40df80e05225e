import { expect } from 'chai';
import type { Redis } from 'ioredis';
import sinon from 'sinon';
import {
  ConfigError,
  ResilienceRegistry,
  RetryBudget,
  retry,
  type RetryBudgetOptions,
} from '../../src/index.js';
import { RedisStoreError, withRedisStores, type RedisClient } from '../../src/redis/index.js';
import { RedisRetryBudgetStore } from '../../src/redis/redis-retry-budget-store.js';
import type { RedisStoreOptions } from '../../src/redis/redis-link.js';
import { RedisServer } from './redis-server.js';
import { roundTrips, sleep, until } from './support.js';

/** A withdrawal as a promise, whatever the store answered with. */
const ask = (budget: RetryBudget) => Promise.resolve(budget.withdraw());

describe('dspu/redis retry budget store', function () {
  this.timeout(20_000);
  let server: RedisServer;
  let redis: Redis;
  let other: Redis;
  let admin: Redis;
  let run = 0;
  const name = (label: string) => `${label}-${++run}`;

  function budget(
    client: RedisClient,
    id: string,
    options: RetryBudgetOptions = {},
    store: RedisStoreOptions = {},
  ): { budget: RetryBudget; store: RedisRetryBudgetStore } {
    const s = new RedisRetryBudgetStore(client, id, store);
    return { budget: new RetryBudget({ ...options, store: s }), store: s };
  }

  /** The first tries and retries the budget's hash holds over all its buckets. */
  async function stored(
    store: RedisRetryBudgetStore,
  ): Promise<{ requests: number; retries: number }> {
    const hash = await admin.hgetall(store.key);
    let requests = 0;
    let retries = 0;
    for (const [field, value] of Object.entries(hash)) {
      if (field.startsWith('r')) requests += Number(value);
      if (field.startsWith('x')) retries += Number(value);
    }
    return { requests, retries };
  }

  before(async () => {
    server = await RedisServer.start();
    redis = server.client();
    other = server.client();
    admin = server.client();
  });

  after(async () => {
    for (const client of [redis, other, admin]) client.disconnect();
    await server.stop();
  });

  it('is one budget for every process: first tries counted by one pay for retries of another', async () => {
    const id = name('fleet');
    const a = budget(redis, id, { ratio: 0.5, minPerSecond: 0 });
    const b = budget(other, id, { ratio: 0.5, minPerSecond: 0 });
    for (let i = 0; i < 6; i++) a.budget.deposit();
    await sleep(20);
    const answers = await Promise.all([1, 2, 3, 4].map(() => ask(b.budget)));
    expect(answers).to.deep.equal([true, true, true, false]);
    expect(a.budget.metrics()).to.deep.equal({ requests: 6, retries: 0, available: 3 });
    expect(b.budget.metrics()).to.deep.equal({ requests: 6, retries: 3, available: 0 });
  });

  it('allows ratio × first tries to the last retry, as the in-memory budget does (0.29 × 100 is 29)', async () => {
    const { budget: shared } = budget(redis, name('rounding'), { ratio: 0.29, minPerSecond: 0 });
    for (let i = 0; i < 100; i++) shared.deposit();
    const answers = await Promise.all(Array.from({ length: 30 }, () => ask(shared)));
    expect(answers.filter(Boolean)).to.have.length(29);
    expect(shared.metrics().available).to.equal(0);
  });

  it('sends the first tries and withdrawals of one tick as one script call', async () => {
    const { budget: shared } = budget(redis, name('batch'), { ratio: 0.2, minPerSecond: 0 });
    let answers: boolean[] = [];
    const commands = await roundTrips(server, async () => {
      for (let i = 0; i < 100; i++) shared.deposit();
      answers = await Promise.all([1, 2, 3].map(() => ask(shared)));
    });
    expect(commands).to.deep.equal(['evalsha']);
    expect(answers).to.deep.equal([true, true, true]);
  });

  it('keeps one call in flight: what is asked meanwhile goes together in the next one', async () => {
    const { budget: shared } = budget(redis, name('in-flight'), { minPerSecond: 10 });
    const commands = await roundTrips(server, async () => {
      const first = ask(shared);
      await Promise.resolve(); // the first batch is sent
      const later = [1, 2, 3, 4].map(() => ask(shared));
      for (let i = 0; i < 50; i++) shared.deposit();
      await Promise.all([first, ...later]);
    });
    expect(commands).to.deep.equal(['evalsha', 'evalsha']);
  });

  it('keeps its window in one hash-tagged key, with batch markers on the same slot', async () => {
    const { budget: shared, store } = budget(redis, name('keys'));
    expect(store.key).to.match(/^\{dspu:keys-\d+\}:budget$/);
    await shared.withdraw();
    const keys = await admin.keys(`{dspu:keys-${run}}*`);
    expect(keys.every((key) => key.startsWith(`{dspu:keys-${run}}:`))).to.equal(true);
    expect(keys).to.include(store.key);
    expect(await admin.pttl(store.key)).to.be.within(1, 20_000);
  });

  it("counts in Redis TIME: a client's wrong clock changes nothing", async () => {
    const clock = sinon.useFakeTimers({ now: Date.now() + 3_600_000, toFake: ['Date'] });
    try {
      const { budget: shared } = budget(redis, name('time'), { ratio: 1, minPerSecond: 0 });
      for (let i = 0; i < 3; i++) shared.deposit();
      expect(await shared.withdraw()).to.equal(true);
      expect(shared.metrics()).to.include({ requests: 3, retries: 1 });
    } finally {
      clock.restore();
    }
  });

  it('counts a batch that timed out but ran later once, and never sends it again', async () => {
    const { budget: shared, store } = budget(
      redis,
      name('late'),
      { ratio: 1, minPerSecond: 0 },
      { commandTimeout: '50ms', retryInterval: '50ms' },
    );
    const errors: unknown[] = [];
    store.events.on('storeError', ({ error }) => errors.push(error));
    for (let i = 0; i < 4; i++) shared.deposit();
    await sleep(10);
    await admin.call('CLIENT', 'PAUSE', '300', 'ALL');
    for (let i = 0; i < 5; i++) shared.deposit();
    // Redis is paused: the withdrawal times out and the local budget (9 first tries) answers.
    expect(await shared.withdraw()).to.equal(true);
    expect(errors).to.have.length(1);
    await sleep(400); // the paused command has run by now
    expect(await stored(store)).to.deep.equal({ requests: 9, retries: 1 });
    // The next call finds the link still marked down and sends the link's own probe; once it answers, Redis again.
    const recovered = new Promise((resolve) => store.events.on('recovered', resolve));
    await shared.withdraw();
    await recovered;
    expect(await shared.withdraw()).to.equal(true);
    expect(await stored(store)).to.deep.equal({ requests: 9, retries: 2 });
  });

  it('counts a batch that ran twice once, and answers the second run as the first', async () => {
    const replies: unknown[] = [];
    // A client that sends every script twice, as a client resending after a reconnect would.
    const twice = new Proxy(redis, {
      get(target, key, receiver) {
        if (key !== 'evalsha') return Reflect.get(target, key, receiver) as unknown;
        return async (...args: Parameters<Redis['evalsha']>) => {
          replies.push(await target.evalsha(...args));
          const again = await target.evalsha(...args);
          replies.push(again);
          return again;
        };
      },
    });
    const { budget: shared, store } = budget(twice, name('twice'), { ratio: 0.5, minPerSecond: 0 });
    for (let i = 0; i < 4; i++) shared.deposit();
    const answers = await Promise.all([1, 2, 3].map(() => ask(shared)));
    expect(answers).to.deep.equal([true, true, false]);
    expect(await stored(store)).to.deep.equal({ requests: 4, retries: 2 });
    expect(replies[0]).to.deep.equal(replies[1]);
  });

  describe('while Redis cannot answer', () => {
    let down: RedisServer;
    let client: Redis;

    before(async () => {
      down = await RedisServer.start();
      client = down.client();
      await client.ping();
      await down.stop();
      await until(() => client.status === 'reconnecting', 5_000);
    });

    after(() => client.disconnect());

    it("answers from this process's own budget ('local'), fed by every first try", async () => {
      const { budget: shared, store } = budget(client, name('local'), {
        ratio: 0.5,
        minPerSecond: 0,
      });
      const fallbacks: unknown[] = [];
      store.events.on('fallback', (event) => fallbacks.push(event));
      for (let i = 0; i < 4; i++) shared.deposit();
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push(await shared.withdraw());
      expect(answers).to.deep.equal([true, true, false]);
      expect(fallbacks).to.have.length(1);
      expect(shared.metrics()).to.deep.equal({ requests: 4, retries: 2, available: 0 });
    });

    it("allows every retry ('fail-open')", async () => {
      const { budget: shared } = budget(
        client,
        name('open'),
        { ratio: 0, minPerSecond: 0 },
        {
          onStoreError: 'fail-open',
        },
      );
      expect(await shared.withdraw()).to.equal(true);
    });

    it("allows no retry ('fail-closed'): the retry gives up with the call's own error", async () => {
      const { budget: shared } = budget(
        client,
        name('closed'),
        {},
        { onStoreError: 'fail-closed' },
      );
      await Promise.resolve(shared.withdraw()).then(
        () => expect.fail('granted'),
        (error: unknown) => expect(error).to.be.instanceOf(RedisStoreError),
      );
      const down = new Error('down');
      let calls = 0;
      const failing = retry(
        async () => {
          calls++;
          throw down;
        },
        { maxAttempts: 3, baseDelay: 1, budget: shared },
      );
      await failing().then(
        () => expect.fail('resolved'),
        (error: unknown) => expect(error).to.equal(down),
      );
      expect(calls).to.equal(1);
    });
  });

  it('sends Redis only the first tries of the last window once it answers again after an outage', async () => {
    const own = await RedisServer.start();
    const client = own.client();
    try {
      const { budget: shared, store } = budget(
        client,
        name('outage'),
        { ratio: 1, minPerSecond: 0, window: '300ms' },
        { retryInterval: '50ms', commandTimeout: '100ms' },
      );
      shared.deposit();
      await shared.withdraw(); // attached, and Redis has answered
      let recovered = false;
      store.events.on('recovered', () => (recovered = true));
      await own.stop();
      await until(() => client.status === 'reconnecting', 5_000);
      await shared.withdraw(); // fails over to this process's own budget
      for (let i = 0; i < 100; i++) shared.deposit();
      await sleep(400); // those first tries age out of the window
      await own.start();
      await until(
        () => recovered,
        5_000,
        async () => shared.withdraw(),
      );
      shared.deposit();
      await shared.withdraw();
      // The window in Redis, as its last answer reported it.
      expect(shared.metrics().requests).to.be.at.most(2);
    } finally {
      client.disconnect();
      if (own.running) await own.stop();
    }
  });

  it("makes `store: 'redis'` budgets in withRedisStores, named in retry entries", async () => {
    const registry = new ResilienceRegistry(
      withRedisStores(redis, {
        retryBudget: { defaults: { ratio: 0.5 }, upstream: { store: 'redis', minPerSecond: 0 } },
        retry: { payments: { budget: 'upstream', baseDelay: 1 } },
      }),
    );
    const shared = registry.retryBudget('upstream');
    expect(shared.store).to.be.instanceOf(RedisRetryBudgetStore);
    expect(shared.options).to.deep.equal({ ratio: 0.5, minPerSecond: 0, windowMs: 10_000 });
    expect(registry.retry('payments').options.budget).to.equal(shared);
  });

  it('serves one budget only: a second budget of another shape is a ConfigError', () => {
    const store = new RedisRetryBudgetStore(redis, name('shape'));
    new RetryBudget({ store });
    new RetryBudget({ store }); // the same shape: the same budget, twice
    expect(() => new RetryBudget({ ratio: 0.5, store })).to.throw(
      ConfigError,
      /already serves a budget with other options/,
    );
  });
});
