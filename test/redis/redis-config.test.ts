import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import {
  CircuitBreaker,
  CircuitBreakerError,
  CircuitState,
  ConcurrencyLimitError,
  ConfigError,
  MemoryTokenBucketStore,
  ResilienceRegistry,
} from '../../src/index.js';
import {
  RedisCircuitBreaker,
  RedisConcurrencyLimiter,
  RedisTokenBucketStore,
  withRedisStores,
  type RedisAwareConfig,
} from '../../src/redis/index.js';
import { RedisServer } from './redis-server.js';
import { until } from './support.js';

const user = fileURLToPath(new URL('./registry-user.child.js', import.meta.url));
const boom = () => Promise.reject(new Error('boom'));
const ok = () => Promise.resolve('ok');

describe('dspu/redis registry configuration', function () {
  this.timeout(20_000);
  let server: RedisServer;
  let admin: Redis;
  const clients: Redis[] = [];
  let run = 0;

  /** A registry configured through withRedisStores on a client of its own, as another process would be. */
  function registryOn(config: RedisAwareConfig): ResilienceRegistry {
    const client = server.client();
    clients.push(client);
    return new ResilienceRegistry().configure(withRedisStores(client, config));
  }

  /** Subscribers listening on the channel of policy `name`. */
  async function listeners(name: string, suffix: 'changes' | 'released'): Promise<number> {
    const reply = (await admin.call('PUBSUB', 'NUMSUB', `{dspu:${name}}:${suffix}`)) as [
      string,
      number,
    ];
    return Number(reply[1]);
  }

  async function untilListening(name: string, suffix: 'changes' | 'released'): Promise<void> {
    let count = 0;
    await until(
      () => count >= 1,
      2_000,
      async () => (count = await listeners(name, suffix)),
    );
  }

  before(async () => {
    server = await RedisServer.start();
    admin = server.client();
  });

  // Quitting a client ends the subscriber of every breaker and limiter withRedisStores made with it.
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.quit()));
  });

  after(async () => {
    admin.disconnect();
    await server.stop();
  });

  it('shares a configured breaker: opened through one registry, it rejects in another', async () => {
    const name = `payments-${++run}`;
    const config: RedisAwareConfig = {
      circuitBreaker: {
        defaults: { failureThreshold: 2 },
        [name]: { timeout: '30s', store: 'redis' },
      },
    };
    const [one, two] = [registryOn(config), registryOn(config)];
    const [a, b] = [one.circuitBreaker(name), two.circuitBreaker(name)];
    expect(a).to.be.instanceOf(RedisCircuitBreaker);
    expect(a.options).to.include({ failureThreshold: 2, timeout: 30_000 });
    expect(await b.protect(ok)).to.equal('ok'); // b joins the circuit, and listens from now on
    await untilListening(name, 'changes');
    await a.protect(boom).catch(() => undefined);
    await a.protect(boom).catch(() => undefined);
    await until(() => b.state === CircuitState.OPEN, 2_000);
    const error = (await b.protect(ok).catch((e: unknown) => e)) as CircuitBreakerError;
    expect(error).to.be.instanceOf(CircuitBreakerError);
    expect(error.retryAfter).to.be.within(25_000, 30_000);
  });

  it('shares a configured rate-mode breaker: its window judges the calls of every registry', async () => {
    const name = `search-${++run}`;
    const config: RedisAwareConfig = {
      circuitBreaker: {
        [name]: {
          failureRateThreshold: 50,
          minimumCalls: 4,
          slidingWindow: { calls: 10 },
          store: 'redis',
        },
      },
    };
    const [one, two] = [registryOn(config), registryOn(config)];
    const [a, b] = [one.circuitBreaker(name), two.circuitBreaker(name)];
    expect(a.options.rate).to.deep.include({ failureRateThreshold: 50, minimumCalls: 4 });
    expect(await b.protect(ok)).to.equal('ok');
    await untilListening(name, 'changes');
    await a.protect(ok);
    for (let i = 0; i < 2; i++) await a.protect(boom).catch(() => undefined);
    await until(() => b.state === CircuitState.OPEN, 2_000);
  });

  it('shares the permits of a configured concurrency entry across registries', async () => {
    const name = `reports-${++run}`;
    const config: RedisAwareConfig = {
      concurrency: { [name]: { limit: 1, maxWait: 100, store: 'redis' } },
    };
    const [one, two] = [registryOn(config), registryOn(config)];
    expect(one.concurrency(name)).to.be.instanceOf(RedisConcurrencyLimiter);
    const permit = await one.concurrency(name).acquire();
    const refused = await two
      .concurrency(name)
      .run(ok)
      .catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(ConcurrencyLimitError);
    await permit[Symbol.asyncDispose](); // released in Redis
    expect(await two.concurrency(name).run(ok)).to.equal('ok');
  });

  it("applies defaults that say store: 'redis' to every entry, leaving engines given as entries alone", () => {
    const own = new CircuitBreaker();
    const registry = registryOn({
      rateLimiter: {
        defaults: { store: 'redis' },
        github: { rate: 5, per: '1s' },
        local: { rate: 5, store: new MemoryTokenBucketStore() },
      },
      circuitBreaker: {
        defaults: { failureThreshold: 3, store: 'redis' },
        payments: { timeout: '30s' },
        own,
      },
      concurrency: { defaults: { lease: '5s', store: 'redis' }, reports: { limit: 4 } },
    });
    expect(registry.rateLimiter('github').store).to.be.instanceOf(RedisTokenBucketStore);
    expect(registry.rateLimiter('local').store).to.be.instanceOf(MemoryTokenBucketStore);
    expect(registry.circuitBreaker('payments')).to.be.instanceOf(RedisCircuitBreaker);
    expect(registry.circuitBreaker('payments').options).to.include({
      failureThreshold: 3,
      timeout: 30_000,
    });
    expect(registry.circuitBreaker('own')).to.equal(own);
    const reports = registry.concurrency('reports') as RedisConcurrencyLimiter;
    expect(reports).to.be.instanceOf(RedisConcurrencyLimiter);
    expect([reports.limit, reports.leaseMs]).to.deep.equal([4, 5_000]);
  });

  it('reports every invalid option of the Redis entries by path in one ConfigError', () => {
    const registry = new ResilienceRegistry();
    let error: unknown;
    try {
      registry.configure(
        withRedisStores(admin, {
          circuitBreaker: { payments: { failureThreshold: 0, store: 'redis' } },
          concurrency: { reports: { limit: 4, lease: 1, store: 'redis' } },
        }),
      );
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(ConfigError);
    const [breaker, limiter, ...more] = (error as ConfigError).problems;
    expect(breaker).to.match(/^circuitBreaker\.payments\.failureThreshold: expected an integer/);
    expect(limiter).to.equal(
      'concurrency.reports.lease: expected a duration of at least 30 ms, got 1',
    );
    expect(more).to.deep.equal([]);
    expect(registry.names('circuitBreaker')).to.deep.equal([]);
  });

  it('opens no connection for breakers and limiters until they are used', async () => {
    const name = `lazy-${++run}`;
    const config: RedisAwareConfig = {
      circuitBreaker: { [name]: { store: 'redis' } },
      concurrency: { [name]: { limit: 1, store: 'redis' } },
    };
    const client = server.client();
    clients.push(client);
    await client.ping();
    const connections = async () => ((await admin.client('LIST')) as string).split('\n').length;
    const before = await connections();
    const registry = new ResilienceRegistry().configure(withRedisStores(client, config));
    registry.configure(withRedisStores(client, config)); // the first engines are replaced unused
    expect(await listeners(name, 'changes')).to.equal(0);
    expect(await listeners(name, 'released')).to.equal(0);
    expect(await connections()).to.equal(before);
    await registry.circuitBreaker(name).protect(ok);
    await registry.concurrency(name).run(ok);
    await untilListening(name, 'changes');
    await untilListening(name, 'released');
  });

  it('lets a process exit once it quits the client it gave withRedisStores', async () => {
    const child = spawn(process.execPath, [user, String(server.port), `exit-${++run}`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let quitAt = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('quit')) quitAt = Date.now();
    });
    const kill = setTimeout(() => child.kill('SIGKILL'), 5_000); // a process kept alive fails, not hangs
    const code = await new Promise((resolve) => child.once('exit', resolve));
    clearTimeout(kill);
    expect(code).to.equal(0);
    expect(quitAt).to.be.above(0);
    expect(Date.now() - quitAt).to.be.below(2_000);
  });

  it('lets a process exit once it disconnects its client during an outage (while it reconnects)', async () => {
    const own = await RedisServer.start();
    const child = spawn(
      process.execPath,
      [user, String(own.port), `outage-${++run}`, 'after-outage'],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    let quitAt = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      if (text.includes('used')) void own.stop().then(() => child.stdin.end('down\n'));
      if (text.includes('quit')) quitAt = Date.now();
    });
    const kill = setTimeout(() => child.kill('SIGKILL'), 8_000); // a process kept alive fails, not hangs
    const code = await new Promise((resolve) => child.once('exit', resolve));
    clearTimeout(kill);
    if (own.running) await own.stop();
    expect(code).to.equal(0);
    expect(quitAt).to.be.above(0);
    expect(Date.now() - quitAt).to.be.below(2_500);
  });
});
