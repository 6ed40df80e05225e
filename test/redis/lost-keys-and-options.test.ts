import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { CircuitState, ConfigError } from '../../src/index.js';
import {
  RedisCircuitBreaker,
  RedisConcurrencyLimiter,
  RedisRetryBudgetStore,
  redisStore,
  withRedisStores,
} from '../../src/redis/index.js';
import { RedisServer } from './redis-server.js';
import { until, untilSubscribed } from './support.js';

const boom = () => Promise.reject(new Error('boom'));

describe('dspu/redis after Redis lost its keys, and option checks', function () {
  this.timeout(20_000);
  let server: RedisServer;
  let admin: Redis;
  const clients: Redis[] = [];
  const closers: { close(): Promise<void> }[] = [];
  let run = 0;

  before(async () => {
    server = await RedisServer.start();
    admin = server.client();
  });
  after(async () => {
    await Promise.all(closers.map((c) => c.close()));
    for (const client of [admin, ...clients]) client.disconnect();
    await server.stop();
  });

  function breaker(name: string, options = {}): RedisCircuitBreaker {
    const client = server.client();
    clients.push(client);
    const made = new RedisCircuitBreaker(client, name, { failureThreshold: 3, ...options });
    closers.push(made);
    return made;
  }

  it('counts failures again after Redis lost the circuit (FLUSHALL)', async () => {
    const name = `flushed-${++run}`;
    const one = breaker(name, { timeout: 100, successThreshold: 1 });
    for (let i = 0; i < 3; i++) await one.protect(boom).catch(() => undefined);
    await until(() => one.state === CircuitState.HALF_OPEN, 2_000);
    await one.protect(() => 'trial');
    await until(() => one.state === CircuitState.CLOSED, 2_000);
    await admin.flushall();
    // Calls sent before Redis answered the first report after the loss count for the lost circuit: keep failing.
    await until(
      async () => (await admin.hget(`{dspu:${name}}:circuit`, 's')) === 'open',
      2_000,
      () => one.protect(boom).catch(() => undefined),
    );
    expect(one.state).to.equal(CircuitState.OPEN);
  });

  it('closes an isolated process for a reset made after Redis lost the circuit', async () => {
    const name = `flushed-${++run}`;
    const [a, b] = [breaker(name), breaker(name)];
    await untilSubscribed(admin, name, 2);
    await a.protect(() => 'ok');
    a.isolate();
    await until(async () => (await admin.hget(`{dspu:${name}}:circuit`, 'i')) === '1', 2_000);
    await admin.flushall();
    await b.reset();
    await until(() => a.state === CircuitState.CLOSED, 2_000);
    expect(await a.protect(() => 'ran')).to.equal('ran');
  });

  it('rounds durations with a fraction of a ms up, so no script aborts half-way', async () => {
    const name = `fraction-${++run}`;
    const store = redisStore(admin, name, { commandTimeout: 250.1 });
    const errors: Error[] = [];
    store.events.on('storeError', ({ error }) => errors.push(error));
    const bucket = { capacity: 2, msPerToken: 1_000 };
    expect((await store.take(1, Date.now(), bucket)).granted).to.equal(true);
    const limiter = new RedisConcurrencyLimiter(admin, name, { limit: 1, lease: 1000.5 });
    closers.push(limiter);
    limiter.storeEvents.on('storeError', ({ error }) => errors.push(error));
    expect(await limiter.run(() => 'ran')).to.equal('ran');
    const trial = breaker(name, {
      trialLease: 1000.5,
      timeout: 50,
      failureThreshold: 1,
      successThreshold: 1,
    });
    trial.storeEvents.on('storeError', ({ error }) => errors.push(error));
    await trial.protect(boom).catch(() => undefined);
    await until(() => trial.state === CircuitState.HALF_OPEN, 2_000);
    await trial.protect(() => 'trial');
    await until(() => trial.state === CircuitState.CLOSED, 2_000);
    expect(errors).to.deep.equal([]);
  });

  describe('hostile options', () => {
    const revoked = () => {
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      return proxy;
    };
    const cases: [string, () => unknown][] = [
      [
        'a throwing getter',
        () => ({
          get onStoreError() {
            throw new Error('getter');
          },
        }),
      ],
      [
        'a Proxy whose ownKeys throws',
        () =>
          new Proxy(
            {},
            {
              ownKeys: () => {
                throw new Error('keys');
              },
            },
          ),
      ],
      ['a revoked Proxy', revoked],
      ['42', () => 42],
      ['[]', () => []],
    ];
    const sites: [string, (options: never) => unknown][] = [
      ['redisStore', (o) => redisStore(admin, 'x', o)],
      ['RedisRetryBudgetStore', (o) => new RedisRetryBudgetStore(admin, 'x', o)],
      ['RedisCircuitBreaker', (o) => new RedisCircuitBreaker(admin, 'x', o)],
      ['RedisConcurrencyLimiter', (o) => new RedisConcurrencyLimiter(admin, 'x', o)],
      [
        'withRedisStores options',
        (o) => withRedisStores(admin, { rateLimiter: { x: { rate: 1, store: 'redis' } } }, o),
      ],
      ['withRedisStores entry', (o) => withRedisStores(admin, { circuitBreaker: { x: o } })],
    ];
    for (const [site, make] of sites)
      // An entry that is not an options object is not a Redis entry: the registry reports it.
      for (const [what, value] of site.endsWith('entry') ? cases.slice(0, 3) : cases)
        it(`${site} refuses ${what} with a ConfigError`, () => {
          expect(() => make(value() as never)).to.throw(ConfigError);
        });

    it('refuses a symbol key it does not know, as the engines built on their own do', () => {
      const typo = { [Symbol('typo')]: 1 };
      expect(() => new RedisCircuitBreaker(admin, 'x', typo)).to.throw(
        ConfigError,
        /Symbol\(typo\): unknown option/,
      );
      expect(() => new RedisConcurrencyLimiter(admin, 'x', { limit: 1, ...typo })).to.throw(
        ConfigError,
        /Symbol\(typo\): unknown option/,
      );
    });

    it('names the options, not a missing limit, when RedisConcurrencyLimiter is given a number', () => {
      expect(() => new RedisConcurrencyLimiter(admin, 'x', 42 as never)).to.throw(
        ConfigError,
        /^options: expected an options object, got 42$/,
      );
    });

    it('refuses a store given to RedisConcurrencyLimiter instead of replacing it unnoticed', () => {
      const store = { take: () => undefined, give: () => undefined };
      expect(() => new RedisConcurrencyLimiter(admin, 'x', { limit: 1, store } as never)).to.throw(
        ConfigError,
        /store: expected no store/,
      );
    });

    it('ignores an option inherited from the prototype', () => {
      const inherited = Object.create({ commandTimeout: 'soon' }) as object;
      expect(() => redisStore(admin, 'x', Object.assign(inherited, {}))).to.throw(
        ConfigError,
        /options/,
      );
    });
  });

  it('lists a bad name and bad options of a store in one ConfigError', () => {
    for (const make of [
      () => redisStore(admin, 'a{b}', { commandTimeout: -5 }),
      () => new RedisRetryBudgetStore(admin, 'a{b}', { commandTimeout: -5 }),
    ]) {
      try {
        make();
        expect.fail('accepted');
      } catch (error) {
        const problems = (error as ConfigError).problems.map((p) => p.split(':')[0]);
        expect(problems.sort()).to.deep.equal(['commandTimeout', 'name']);
      }
    }
  });

  it('lists every problem of a breaker (its own, the store, the lease, the name) in one ConfigError', () => {
    const options = { failureThreshold: -1, commandTimeout: -5, trialLease: 0 };
    const problems = (make: () => unknown) => {
      try {
        make();
      } catch (error) {
        return (error as ConfigError).problems;
      }
      return [];
    };
    const direct = problems(() => new RedisCircuitBreaker(admin, 'a{b}', options));
    expect(direct.map((p) => p.split(':')[0]).sort()).to.deep.equal([
      'commandTimeout',
      'failureThreshold',
      'name',
      'trialLease',
    ]);
    const configured = problems(() =>
      withRedisStores(admin, { circuitBreaker: { p: { ...options, store: 'redis' } } }),
    );
    expect(configured.map((p) => p.split(':')[0]).sort()).to.deep.equal([
      'circuitBreaker.p.commandTimeout',
      'circuitBreaker.p.failureThreshold',
      'circuitBreaker.p.trialLease',
    ]);
  });
});
