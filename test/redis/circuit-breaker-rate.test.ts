import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { CircuitBreakerError, CircuitState, ConfigError } from '../../src/index.js';
import { RedisCircuitBreaker, type RedisCircuitBreakerOptions } from '../../src/redis/index.js';
import { REPORT } from '../../src/redis/circuit-scripts.js';
import { RedisServer } from './redis-server.js';
import { failingOnce, roundTrips, sleep, until, untilSubscribed } from './support.js';

const boom = () => Promise.reject(new Error('boom'));
const ok = () => Promise.resolve('ok');
const settle = (p: Promise<unknown>) => p.catch(() => undefined);

describe('dspu/redis shared circuit breaker in rate mode', function () {
  this.timeout(20_000);
  let server: RedisServer;
  const clients: Redis[] = [];
  const breakers: RedisCircuitBreaker[] = [];
  let run = 0;
  const rate = {
    failureRateThreshold: 50,
    slidingWindow: { calls: 10 },
    minimumCalls: 4,
    timeout: '60s',
  } as const;

  /** `count` breakers sharing one circuit, each on a client of its own (as separate processes would be). */
  async function fleet(count: number, options: RedisCircuitBreakerOptions<never> = rate) {
    const name = `rate-circuit-${++run}`;
    const members = Array.from({ length: count }, () => {
      const client = server.client();
      clients.push(client);
      const breaker = new RedisCircuitBreaker(client, name, options);
      breakers.push(breaker);
      return breaker;
    });
    const admin = server.client();
    clients.push(admin);
    await untilSubscribed(admin, name, count);
    return members;
  }

  before(async () => {
    server = await RedisServer.start();
  });

  afterEach(async () => {
    await Promise.all(breakers.splice(0).map((b) => b.close()));
    for (const client of clients.splice(0)) client.disconnect();
    if (!server.running) await server.start();
  });

  after(async () => {
    await server.stop();
  });

  it('judges the failure rate of the calls of every process, and opens for all at the threshold', async () => {
    const [a, b] = await fleet(2);
    await a.protect(ok);
    await b.protect(ok);
    // Reports travel on each process's own connection: wait for b's before a reports again.
    await until(() => b.metrics().calls === 2, 1_000);
    await settle(a.protect(boom));
    await until(() => a.metrics().calls === 3, 1_000);
    expect(a.metrics()).to.include({ calls: 3, failedCalls: 1 });
    expect(a.state).to.equal(CircuitState.CLOSED);
    await settle(b.protect(boom)); // 2 of 4: 50 %
    await until(() => a.state === CircuitState.OPEN && b.state === CircuitState.OPEN, 2_000);
    const error = (await a.protect(ok).catch((e: unknown) => e)) as CircuitBreakerError;
    expect(error).to.be.instanceOf(CircuitBreakerError);
    expect(error.retryAfter).to.be.within(59_000, 60_000);
  });

  it('gives no verdict before minimumCalls, however many failed', async () => {
    const [a] = await fleet(1);
    for (let i = 0; i < 3; i++) await settle(a.protect(boom));
    await until(() => a.metrics().calls === 3, 1_000);
    expect(a.metrics().failureRate).to.equal(100);
    expect(a.state).to.equal(CircuitState.CLOSED);
  });

  it('opens on the slow-call rate, though every call succeeded', async () => {
    const [a] = await fleet(1, { ...rate, slowCallDuration: 20, slowCallRateThreshold: 50 });
    const slow = () => sleep(40).then(() => 'late');
    await Promise.all([a.protect(ok), a.protect(ok), a.protect(slow), a.protect(slow)]);
    await until(() => a.state === CircuitState.OPEN, 2_000);
  });

  it('sends the reports of calls that end in the same tick as one script call', async () => {
    const [a] = await fleet(1, { ...rate, slidingWindow: { calls: 100 } });
    await a.protect(ok); // learns the circuit: later closed calls run without asking
    const sent = await roundTrips(server, async () => {
      await Promise.all(Array.from({ length: 64 }, () => a.protect(ok)));
      await until(() => a.metrics().calls === 65, 1_000);
    });
    expect(sent.filter((command) => command.startsWith('eval'))).to.have.length(1);
  });

  it('rejects without a round trip while open', async () => {
    const [a] = await fleet(1);
    for (let i = 0; i < 4; i++) await settle(a.protect(boom));
    await until(() => a.state === CircuitState.OPEN, 2_000);
    const sent = await roundTrips(server, () => settle(a.protect(ok)));
    expect(sent).to.deep.equal([]);
  });

  it('lets halfOpenMaxCalls trials run at once across the fleet, and closes after successThreshold', async () => {
    const options = { ...rate, timeout: 100, halfOpenMaxCalls: 2, successThreshold: 2 };
    const [a, b, c] = await fleet(3, options);
    for (let i = 0; i < 4; i++) await settle(a.protect(boom));
    await until(() => c.state === CircuitState.OPEN, 2_000);
    await sleep(120);
    const releases: (() => void)[] = [];
    const trial = () => new Promise<string>((resolve) => releases.push(() => resolve('ok')));
    const first = a.protect(trial);
    const second = b.protect(trial);
    await until(() => releases.length === 2, 1_000);
    const third = (await c.protect(ok).catch((e: unknown) => e)) as CircuitBreakerError;
    expect(third.state).to.equal(CircuitState.HALF_OPEN);
    releases.forEach((release) => release());
    await Promise.all([first, second]);
    await until(() => c.state === CircuitState.CLOSED, 2_000);
    expect(c.metrics().calls).to.equal(0);
  });

  it('doubles the open time on each re-open from HALF_OPEN, up to maxTimeout', async () => {
    const [a, b] = await fleet(2, { ...rate, timeout: 100, maxTimeout: 300 });
    for (let i = 0; i < 4; i++) await settle(a.protect(boom));
    const openTimes: number[] = [];
    for (let i = 0; i < 3; i++) {
      await until(() => a.state === CircuitState.HALF_OPEN, 2_000);
      await settle(a.protect(boom)); // the trial fails
      await until(() => b.state === CircuitState.OPEN, 2_000);
      const error = (await b.protect(ok).catch((e: unknown) => e)) as CircuitBreakerError;
      openTimes.push(error.retryAfter);
    }
    expect(openTimes[0]).to.be.within(150, 200);
    expect(openTimes[1]).to.be.within(250, 300);
    expect(openTimes[2]).to.be.within(250, 300);
    // A snapshot of the backed-off circuit ends its open time when the shared circuit does.
    const { openedAt, openMs } = b.toJSON();
    expect(openedAt! + openMs! - Date.now()).to.be.within(200, 300);
  });

  it('stays open as long as the error that opened it asked with retryAfter', async () => {
    const [a, b] = await fleet(2);
    const throttled = () =>
      Promise.reject(Object.assign(new Error('429'), { retryAfter: 120_000 }));
    for (let i = 0; i < 3; i++) await settle(a.protect(boom));
    await settle(a.protect(throttled));
    await until(() => b.state === CircuitState.OPEN, 2_000);
    const error = (await b.protect(ok).catch((e: unknown) => e)) as CircuitBreakerError;
    expect(error.retryAfter).to.be.within(119_000, 120_000);
  });

  it('rotates a time window: calls older than it are no longer judged', async () => {
    const options = { ...rate, slidingWindow: { time: 300, buckets: 3 } };
    const [a] = await fleet(1, options);
    for (let i = 0; i < 3; i++) await settle(a.protect(boom));
    await until(() => a.metrics().calls === 3, 1_000);
    await sleep(400); // past the window
    expect(a.metrics().calls).to.equal(0); // nothing reported for a whole window: read as empty
    await a.protect(ok);
    await until(() => a.metrics().calls === 1, 1_000);
    expect(a.state).to.equal(CircuitState.CLOSED);
  });

  it("sends a trial's batch that failed again until Redis answers, counted once", async () => {
    const options = { ...rate, timeout: 50, trialLease: 5_000, successThreshold: 2 };
    const [a] = await fleet(1, options);
    const client = failingOnce(server.client(), REPORT);
    clients.push(client);
    const flaky = new RedisCircuitBreaker(client, `rate-circuit-${run}`, options);
    breakers.push(flaky);
    for (let i = 0; i < 4; i++) await settle(a.protect(boom));
    await until(() => a.state === CircuitState.OPEN, 2_000);
    await sleep(80);
    expect(await flaky.protect(ok)).to.equal('ok'); // the trial; its report fails once
    const admin = server.client();
    clients.push(admin);
    await until(async () => (await admin.zcard(`{dspu:rate-circuit-${run}}:trials`)) === 0, 2_000);
    expect(await admin.hget(`{dspu:rate-circuit-${run}}:circuit`, 'k')).to.equal('1');
  });

  it('counts a batch once when its REPORT timed out and Redis ran it later', async () => {
    const slow = { commandTimeout: '100ms', retryInterval: '100ms' } as const;
    const [a, b] = await fleet(2, { ...rate, ...slow });
    await a.protect(ok);
    const admin = server.client();
    clients.push(admin);
    await admin.call('CLIENT', 'PAUSE', '300', 'ALL');
    await settle(a.protect(boom));
    await sleep(150); // its report times out, and runs once Redis resumes
    await admin.ping();
    await until(
      () => b.metrics().failedCalls === 1,
      2_000,
      () => b.protect(ok),
    );
    await b.protect(ok);
    await until(() => b.metrics().calls >= 4, 1_000);
    expect(b.metrics().failedCalls).to.equal(1);
  });

  it("judges with this process's own rate-mode window while Redis is down, then shares again", async () => {
    const [a] = await fleet(1, { ...rate, retryInterval: '100ms' });
    await a.protect(ok);
    let down = false;
    a.storeEvents.on('fallback', () => (down = true));
    await server.stop();
    await until(
      () => down,
      2_000,
      () => settle(a.protect(ok)),
    );
    for (let i = 0; i < 4; i++) await settle(a.protect(boom));
    // Its own window: 4 failures of the few calls made since Redis went away.
    expect(a.state).to.equal(CircuitState.OPEN);
    expect(a.metrics().calls).to.equal(0); // opening cleared it
    await server.start();
    await until(
      () => a.state === CircuitState.CLOSED,
      5_000,
      () => settle(a.protect(ok)),
    );
  });

  it('counts a trial once and frees its slot when its batch timed out, ran late, and was sent again', async () => {
    const slow = { commandTimeout: '100ms', retryInterval: '100ms' } as const;
    const options = { ...rate, ...slow, timeout: 50, trialLease: 5_000, successThreshold: 3 };
    const [a] = await fleet(1, options);
    for (let i = 0; i < 4; i++) await settle(a.protect(boom));
    await until(() => a.state === CircuitState.OPEN, 2_000);
    await sleep(80);
    const admin = server.client();
    clients.push(admin);
    const circuit = `{dspu:rate-circuit-${run}}`;
    let timedOut = 0;
    a.storeEvents.on('storeError', () => timedOut++);
    // The trial is admitted, then Redis stalls: its report times out, runs when Redis resumes, and is resent.
    const trial = a.protect(async () => {
      await admin.call('CLIENT', 'PAUSE', '400', 'WRITE');
      return 'ok';
    });
    expect(await trial).to.equal('ok');
    await sleep(500);
    expect(timedOut).to.be.above(0);
    await until(async () => (await admin.zcard(`${circuit}:trials`)) === 0, 3_000);
    await sleep(300); // a resend after the late run changes nothing
    expect(await admin.hget(`${circuit}:circuit`, 'k')).to.equal('1');
  });

  it('keeps a window per shape when processes sharing the circuit differ in slidingWindow', async () => {
    // A rolling deploy that changes the window: old and new processes share the circuit, never a window.
    const name = `rate-circuit-${++run}`;
    const [oldClient, newClient] = [server.client(), server.client()];
    clients.push(oldClient, newClient);
    const before = new RedisCircuitBreaker(oldClient, name, rate);
    const after = new RedisCircuitBreaker(newClient, name, {
      ...rate,
      slidingWindow: { time: '10s', buckets: 5 },
    });
    breakers.push(before, after);
    await untilSubscribed(oldClient, name, 2);
    for (let i = 0; i < 6; i++) await before.protect(ok);
    for (let i = 0; i < 3; i++) await settle(after.protect(boom));
    await until(() => before.metrics().calls === 6 && after.metrics().calls === 3, 1_000);
    expect(before.metrics()).to.include({ calls: 6, failedCalls: 0 });
    expect(after.metrics()).to.include({ calls: 3, failedCalls: 3 });
    expect(after.state).to.equal(CircuitState.CLOSED); // under minimumCalls: no verdict yet
    await settle(after.protect(boom));
    await until(() => before.state === CircuitState.OPEN, 2_000);
    // The transition emptied both windows, though only one process moved the circuit.
    await before.reset();
    await before.protect(ok);
    await until(() => before.metrics().calls === 1, 1_000);
    expect(before.metrics()).to.include({ calls: 1, failedCalls: 0 });
  });

  it('throws a ConfigError naming failureThreshold given with failureRateThreshold', () => {
    const client = server.client();
    clients.push(client);
    expect(
      () => new RedisCircuitBreaker(client, 'x', { failureThreshold: 5, failureRateThreshold: 50 }),
    ).to.throw(ConfigError, /failureThreshold/);
    expect(
      () => new RedisCircuitBreaker(client, 'x', { failureRateThreshold: 50, minimumCalls: 0 }),
    ).to.throw(ConfigError, /minimumCalls/);
  });
});
