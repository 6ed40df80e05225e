import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Cluster } from 'ioredis';
import { CircuitBreakerError, CircuitState, RateLimiter } from '../../src/index.js';
import { RedisCircuitBreaker, RedisConcurrencyLimiter, redisStore } from '../../src/redis/index.js';
import { RedisCluster } from './redis-cluster.js';
import { sleep, until } from './support.js';

const user = fileURLToPath(new URL('./cluster-user.child.js', import.meta.url));

/** The node serving `key`'s slot: a test only means something if the keys are spread over the nodes. */
async function nodeOf(client: Cluster, key: string): Promise<number> {
  const slot = (await client.call('CLUSTER', 'KEYSLOT', key)) as number;
  const ranges = (await client.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  return ranges.find(([from, to]) => slot >= from && slot <= to)![2][1];
}

describe('dspu/redis on a Redis Cluster of three masters', function () {
  this.timeout(30_000);
  let cluster: RedisCluster;
  const clients: Cluster[] = [];
  const closers: (() => Promise<void>)[] = [];

  const client = () => {
    const c = cluster.client();
    clients.push(c);
    return c;
  };

  before(async () => {
    cluster = await RedisCluster.start();
  });

  afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close()));
    for (const c of clients.splice(0)) c.disconnect();
  });

  after(async () => {
    await cluster.stop();
  });

  it('spreads the policies of these tests over more than one node', async () => {
    const admin = client();
    const names = ['bucket', 'permits', 'stalled', 'circuit'].map((n) => `{dspu:cluster-${n}}:x`);
    const nodes = await Promise.all(names.map((key) => nodeOf(admin, key)));
    expect(new Set(nodes).size).to.be.above(1);
  });

  it('shares one token bucket between clients, weighted takes served in turn', async () => {
    const [a, b] = [client(), client()].map(
      (c) => new RateLimiter({ rate: 10, per: '1s', store: redisStore(c, 'cluster-bucket') }),
    );
    expect(await a.tryAcquire(6)).to.equal(true);
    expect(await b.tryAcquire(5)).to.equal(false);
    expect(await b.tryAcquire(4)).to.equal(true);
    // A waiting 3-token take keeps its place: the tokens that come back are not given to a smaller take.
    const started = Date.now();
    const waiting = a.acquire(3);
    await sleep(150);
    expect(await b.tryAcquire(1)).to.equal(false);
    await waiting;
    expect(Date.now() - started).to.be.within(250, 400);
  });

  it('shares the permits of a concurrency limiter, and wakes a waiter of another client on release', async () => {
    const [a, b] = [client(), client()].map(
      (c) => new RedisConcurrencyLimiter(c, 'cluster-permits', { limit: 1, lease: '5s' }),
    );
    closers.push(
      () => a.close(),
      () => b.close(),
    );
    const permit = await a.acquire();
    let granted = 0;
    const waiting = b.run(async () => (granted = Date.now()));
    await sleep(100);
    expect(b.pending).to.equal(1);
    const released = Date.now();
    permit.release();
    await waiting;
    expect(granted - released).to.be.below(100);
  });

  it('gives back a permit whose ACQUIRE timed out on a stalled node, and probes that node to recover', async () => {
    const c = client();
    const options = { limit: 1, lease: 5_000, commandTimeout: 100, retryInterval: 50 };
    const limiter = new RedisConcurrencyLimiter(c, 'cluster-stalled', options);
    closers.push(() => limiter.close());
    const recovered: unknown[] = [];
    limiter.storeEvents.on('recovered', (e) => recovered.push(e));
    const key = '{dspu:cluster-stalled}:permits';
    const port = await nodeOf(c, key);
    const node = cluster.nodes.find((n) => n.port === port)!.client();
    try {
      await node.call('CLIENT', 'PAUSE', '300', 'ALL');
      expect(await limiter.run(async () => 'ran locally')).to.equal('ran locally');
      await node.ping(); // queued behind the pause
      await until(async () => (await node.zcard(key)) === 0, 500);
      await until(
        () => recovered.length === 1,
        2_000,
        () => limiter.run(async () => undefined),
      );
    } finally {
      node.disconnect();
    }
  });

  it('shares a circuit breaker, its changes heard by every client through pub/sub', async () => {
    const [a, b] = [client(), client()].map(
      (c) =>
        new RedisCircuitBreaker(c, 'cluster-circuit', {
          failureThreshold: 2,
          timeout: 200,
          trialLease: 5_000,
        }),
    );
    closers.push(
      () => a.close(),
      () => b.close(),
    );
    await b.protect(async () => 'joined');
    await sleep(100); // b's subscriber is up
    for (let i = 0; i < 2; i++)
      await a.protect(() => Promise.reject(new Error('down'))).catch(() => 0);
    // b learns it without calling: the message reached its subscriber on another node.
    await until(() => b.state === CircuitState.OPEN, 2_000);
    const open = (await b
      .protect(async () => 'no')
      .catch((e: unknown) => e)) as CircuitBreakerError;
    expect(open).to.be.instanceOf(CircuitBreakerError);
    await sleep(200);
    // Half-open: one trial slot across the cluster's clients.
    let release: (value: string) => void = () => undefined;
    const trial = a.protect(() => new Promise<string>((resolve) => (release = resolve)));
    await sleep(50);
    const busy = (await b
      .protect(async () => 'no')
      .catch((e: unknown) => e)) as CircuitBreakerError;
    expect(busy.state).to.equal(CircuitState.HALF_OPEN);
    expect(busy.retryAfter).to.be.above(4_000);
    release('ok');
    await trial;
  });
  it('lets a process exit at once when it quits its Cluster client, its subscribers made from it', async () => {
    const child = spawn(process.execPath, [user, String(cluster.nodes[0].port)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let quitAt = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('quit')) quitAt = Date.now();
    });
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000); // a process kept alive fails, not hangs
    const code = await new Promise((resolve) => child.once('exit', resolve));
    clearTimeout(kill);
    expect(code).to.equal(0);
    expect(quitAt).to.be.above(0);
    // ioredis makes a Cluster's subscriber connection with options of its own (no redisOptions): one cut in its
    // handshake by the quit keeps its socket, and the process, for its default disconnectTimeout of 2 s.
    expect(Date.now() - quitAt).to.be.below(2_500);
  });

  it("shares a rate-mode circuit breaker, its window in the circuit's slot", async () => {
    const options = {
      failureRateThreshold: 50,
      slidingWindow: { time: '10s' },
      minimumCalls: 4,
      timeout: 200,
    } as const;
    const [a, b] = [client(), client()].map(
      (c) => new RedisCircuitBreaker(c, 'cluster-rate-circuit', options),
    );
    closers.push(
      () => a.close(),
      () => b.close(),
    );
    await b.protect(async () => 'joined');
    await sleep(100); // b's subscriber is up
    await a.protect(async () => 'ok');
    for (let i = 0; i < 2; i++)
      await a.protect(() => Promise.reject(new Error('down'))).catch(() => 0);
    await until(() => b.state === CircuitState.OPEN, 2_000);
    const c = client();
    const keys = await Promise.all(
      ['circuit', 'window'].map((suffix) =>
        c.call('CLUSTER', 'KEYSLOT', `{dspu:cluster-rate-circuit}:${suffix}`),
      ),
    );
    expect(keys[0]).to.equal(keys[1]);
    expect(b.metrics().calls).to.equal(0); // opening cleared the window
  });
});
