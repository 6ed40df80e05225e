import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import {
  CircuitBreaker,
  CircuitBreakerError,
  CircuitState,
  ConfigError,
  Timeout,
  currentSignal,
  withSignal,
  type CircuitBreakerEvents,
} from '../../src/index.js';
import {
  RedisCircuitBreaker,
  RedisStoreError,
  type RedisCircuitBreakerOptions,
} from '../../src/redis/index.js';
import { RedisServer } from './redis-server.js';
import {
  failingOnce,
  failingTimes,
  holdSubscriptions,
  roundTrips,
  sleep,
  stall,
  until,
  untilSubscribed,
} from './support.js';
import { FORCE, REPORT } from '../../src/redis/circuit-scripts.js';

const opener = fileURLToPath(new URL('./breaker-opener.child.js', import.meta.url));
const boom = () => Promise.reject(new Error('boom'));
const ok = () => Promise.resolve('ok');

describe('dspu/redis shared circuit breaker', function () {
  this.timeout(20_000);
  let server: RedisServer;
  const clients: Redis[] = [];
  const breakers: RedisCircuitBreaker[] = [];
  let run = 0;

  /** `count` breakers sharing one circuit, each on a client of its own (as separate processes would be). */
  async function fleet(count: number, options: RedisCircuitBreakerOptions<never> = {}) {
    const name = `circuit-${++run}`;
    const members = Array.from({ length: count }, () => {
      const client = server.client();
      clients.push(client);
      const breaker = new RedisCircuitBreaker(client, name, { timeout: '60s', ...options });
      breakers.push(breaker);
      return breaker;
    });
    const admin = server.client();
    clients.push(admin);
    await untilSubscribed(admin, name, count);
    return members;
  }

  async function openIt(breaker: RedisCircuitBreaker): Promise<void> {
    const threshold = breaker.options.failureThreshold;
    for (let i = 0; i < threshold; i++) await breaker.protect(boom).catch(() => undefined);
    await until(() => breaker.state !== CircuitState.CLOSED, 2_000);
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

  it('counts consecutive failures across processes and opens for all at the threshold', async () => {
    const [a, b] = await fleet(2, { failureThreshold: 4 });
    await a.protect(boom).catch(() => undefined);
    await b.protect(boom).catch(() => undefined);
    await a.protect(boom).catch(() => undefined);
    await sleep(50);
    expect(a.state).to.equal(CircuitState.CLOSED);
    await b.protect(boom).catch(() => undefined);
    await until(() => a.state === CircuitState.OPEN && b.state === CircuitState.OPEN, 2_000);
  });

  it('clears the shared failure count on a success anywhere', async () => {
    const [a, b] = await fleet(2, { failureThreshold: 3 });
    await a.protect(boom).catch(() => undefined);
    await a.protect(boom).catch(() => undefined);
    await b.protect(ok);
    await sleep(50);
    await a.protect(boom).catch(() => undefined);
    await a.protect(boom).catch(() => undefined);
    await sleep(50);
    expect(a.state).to.equal(CircuitState.CLOSED);
  });

  it('rejects in another process without a Redis round trip once one process opened it', async () => {
    const [a, b] = await fleet(2, { failureThreshold: 2 });
    await b.protect(ok); // b has joined the circuit
    await openIt(a);
    await until(() => b.state === CircuitState.OPEN, 2_000);
    const calls: string[] = [];
    const sent = await roundTrips(server, async () => {
      for (let i = 0; i < 50; i++)
        await b.protect(ok).catch((e: unknown) => calls.push((e as CircuitBreakerError).state));
    });
    expect(sent).to.deep.equal([]);
    expect(calls).to.have.length(50);
    expect(calls.every((s) => s === CircuitState.OPEN)).to.equal(true);
  });

  it('rejects without a round trip once a breaker in a child process opened it', async () => {
    const [b] = await fleet(1, { failureThreshold: 3 });
    await b.protect(ok);
    const name = `circuit-${run}`;
    const child = spawn(process.execPath, [opener, String(server.port), name, '3'], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).to.equal(0);
    await until(() => b.state === CircuitState.OPEN, 2_000);
    const sent = await roundTrips(server, async () => {
      for (let i = 0; i < 20; i++) await b.protect(ok).catch(() => undefined);
    });
    expect(sent).to.deep.equal([]);
  });

  it('tells the caller how long the circuit stays open', async () => {
    const [a] = await fleet(1, { failureThreshold: 1, timeout: '10s' });
    await openIt(a);
    const error = (await a.protect(ok).catch((e: unknown) => e)) as CircuitBreakerError;
    expect(error).to.be.instanceOf(CircuitBreakerError);
    expect(error.retryAfter).to.be.within(9_000, 10_000);
  });

  it('lets at most halfOpenMaxCalls trial calls run at once across the fleet', async () => {
    const members = await fleet(3, { failureThreshold: 1, timeout: '100ms', halfOpenMaxCalls: 2 });
    await openIt(members[0]);
    await sleep(150);
    let running = 0;
    let most = 0;
    const slowTrial = async () => {
      most = Math.max(most, ++running);
      await sleep(100);
      running--;
      return 'ok';
    };
    const outcomes = await Promise.allSettled(
      members.flatMap((m) => Array.from({ length: 5 }, () => m.protect(slowTrial))),
    );
    expect(most).to.equal(2);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).to.have.length(2);
    const rejected = outcomes.filter((o) => o.status === 'rejected');
    expect(rejected.every((o) => o.reason instanceof CircuitBreakerError)).to.equal(true);
  });

  it("keeps the caller's context for a call admitted after a round trip (currentSignal())", async () => {
    const [breaker] = await fleet(1, { failureThreshold: 1, timeout: '100ms' });
    const budget = new Timeout(5_000);
    // A new breaker knows no state yet: its first call is admitted by a script first.
    expect(
      await budget.run((signal) => breaker.protect(() => currentSignal() === signal)),
    ).to.equal(true);
    await openIt(breaker);
    await sleep(150);
    // The half-open trial is admitted by a script too.
    expect(
      await budget.run((signal) => breaker.protect(() => currentSignal() === signal)),
    ).to.equal(true);
  });

  describe('a caller that gives up (its signal aborts)', () => {
    const hang = () => new Promise<never>(() => undefined);

    it('runs no work, and leaves the trial slot free, when the caller gave up during the ADMIT round trip', async () => {
      const [a, b] = await fleet(2, { failureThreshold: 1, timeout: 50 });
      await openIt(a);
      await sleep(100);
      let ran = 0;
      const controller = new AbortController();
      const call = a.protect(() => (++ran, hang()), { signal: controller.signal });
      controller.abort(new Error('gave up'));
      expect(((await call.catch((e: unknown) => e)) as Error).message).to.equal('gave up');
      await until(async () => (await b.protect(ok).catch(() => 'rejected')) === 'ok', 2_000);
      expect(ran).to.equal(0);
    });

    it('frees the trial slot at once when the caller of a running trial gives up', async () => {
      const [a, b] = await fleet(2, { failureThreshold: 1, timeout: 50 });
      await openIt(a);
      await sleep(100);
      let ran = 0;
      const controller = new AbortController();
      const call = a.protect(() => (++ran, hang()), { signal: controller.signal });
      await until(() => ran === 1, 2_000);
      controller.abort(new Error('gave up'));
      expect(((await call.catch((e: unknown) => e)) as Error).message).to.equal('gave up');
      await until(async () => (await b.protect(ok).catch(() => 'rejected')) === 'ok', 2_000);
    });

    it('frees the trial slot at once when a call made under withSignal is given up (a decorated method)', async () => {
      const [a, b] = await fleet(2, { failureThreshold: 1, timeout: 50 });
      await openIt(a);
      await sleep(100);
      let ran = 0;
      const controller = new AbortController();
      // What a pipeline does: the breaker's executeWith, with the caller's signal in the call's context only.
      const call = withSignal(controller.signal, () =>
        a.executeWith(() => (++ran, hang()), undefined),
      );
      await until(() => ran === 1, 2_000);
      controller.abort(new Error('gave up'));
      expect(((await call.catch((e: unknown) => e)) as Error).message).to.equal('gave up');
      await until(async () => (await b.protect(ok).catch(() => 'rejected')) === 'ok', 2_000);
    });

    it('counts no failure of a call whose caller gave up before it failed', async () => {
      const [a] = await fleet(1, { failureThreshold: 1 });
      await a.protect(ok); // the circuit is known closed: calls run at once
      let fail!: (error: Error) => void;
      const controller = new AbortController();
      const call = a.protect(() => new Promise((_, reject) => (fail = reject)), {
        signal: controller.signal,
      });
      controller.abort(new Error('gave up'));
      expect(((await call.catch((e: unknown) => e)) as Error).message).to.equal('gave up');
      fail(new Error('boom'));
      await sleep(100); // a report would have reached Redis by now
      expect(await a.protect(ok)).to.equal('ok');
      expect(a.state).to.equal(CircuitState.CLOSED);
    });
  });

  it('closes for every process after successThreshold trial successes', async () => {
    const [a, b] = await fleet(2, { failureThreshold: 1, timeout: '100ms', successThreshold: 2 });
    await b.protect(ok);
    await openIt(a);
    await sleep(150);
    await a.protect(ok);
    await b.protect(ok);
    await until(() => a.state === CircuitState.CLOSED && b.state === CircuitState.CLOSED, 2_000);
  });

  it('opens again with a fresh timeout when a trial fails', async () => {
    const [a] = await fleet(1, { failureThreshold: 1, timeout: '100ms' });
    await openIt(a);
    await sleep(150);
    await a.protect(boom).catch(() => undefined);
    await until(() => a.toJSON().state === CircuitState.OPEN, 2_000);
    const error = (await a.protect(ok).catch((e: unknown) => e)) as CircuitBreakerError;
    expect(error.retryAfter).to.be.within(50, 100);
  });

  it('frees the slot of a trial whose process never reports back after trialLease', async () => {
    const [a, b] = await fleet(2, { failureThreshold: 1, timeout: '50ms', trialLease: '200ms' });
    await openIt(a);
    await sleep(100);
    void a.protect(() => new Promise(() => undefined)); // a trial that never ends, as if its process died
    await sleep(30);
    const busy = (await b.protect(ok).catch((e: unknown) => e)) as CircuitBreakerError;
    expect(busy.state).to.equal(CircuitState.HALF_OPEN);
    // Not 0 (a Retry-After: 0 for a slot that stays taken): the time until the trial's lease ends.
    expect(busy.retryAfter).to.be.within(100, 200);
    await sleep(250);
    expect(await b.protect(ok)).to.equal('ok');
  });

  it('invalidates the cached open state in every process when one resets it', async () => {
    const [a, b] = await fleet(2, { failureThreshold: 1 });
    await b.protect(ok);
    await openIt(a);
    await until(() => b.state === CircuitState.OPEN, 2_000);
    const seen: CircuitBreakerEvents['stateChange'][] = [];
    b.events.on('stateChange', (e) => seen.push(e));
    await a.reset();
    await until(() => b.state === CircuitState.CLOSED, 2_000);
    expect(seen).to.deep.equal([{ from: CircuitState.OPEN, to: CircuitState.CLOSED }]);
    expect(await b.protect(ok)).to.equal('ok');
  });

  it('asks Redis again once subscribed, so a reset published before is not missed', async () => {
    const [b] = await fleet(1);
    const client = server.client();
    clients.push(client);
    const subscribeNow = holdSubscriptions(client);
    const a = new RedisCircuitBreaker(client, `circuit-${run}`, { timeout: '60s' });
    breakers.push(a);
    b.isolate();
    await until(
      async () => (await a.protect(ok).catch((e: unknown) => e)) instanceof CircuitBreakerError,
      1_000,
    );
    await b.reset(); // published while a was not subscribed
    expect(await a.protect(ok).catch((e: unknown) => e)).to.be.instanceOf(CircuitBreakerError);
    subscribeNow();
    await until(async () => (await a.protect(ok).catch(() => 'rejected')) === 'ok', 1_000);
  });

  it('keeps every process open after isolate() until a reset', async () => {
    const [a, b] = await fleet(2, { timeout: '10ms' });
    await b.protect(ok);
    const changes: unknown[] = [];
    a.events.on('stateChange', (e) => changes.push(e));
    a.isolate();
    expect(changes).to.deep.equal([{ from: CircuitState.CLOSED, to: CircuitState.OPEN }]);
    await until(() => b.state === CircuitState.OPEN, 2_000);
    await sleep(50);
    const error = (await b.protect(ok).catch((e: unknown) => e)) as CircuitBreakerError;
    expect(error.message).to.match(/isolated/);
    await b.reset();
    await until(() => a.state === CircuitState.CLOSED, 2_000);
  });

  it('stays isolated through the answer of a report sent before isolate()', async () => {
    const [a] = await fleet(1);
    await a.protect(ok); // known closed: the next call runs at once, and reports afterwards
    const changes: unknown[] = [];
    a.events.on('stateChange', (e) => changes.push(e));
    const call = a.protect(ok);
    await call; // its report is sent: its answer, from before the isolation, comes back first
    a.isolate();
    await until(async () => (await a.protect(ok).catch(() => 'rejected')) === 'rejected', 1_000);
    await sleep(50); // the FORCE's answer has come back
    expect(changes).to.deep.equal([{ from: CircuitState.CLOSED, to: CircuitState.OPEN }]);
  });

  it('works as the instance given to the @CircuitBreaker decorator', async () => {
    const [shared] = await fleet(1, { failureThreshold: 1 });
    class Payments {
      @CircuitBreaker(shared)
      async charge(): Promise<string> {
        throw new Error('declined');
      }
    }
    await new Payments().charge().catch(() => undefined);
    await until(() => shared.state === CircuitState.OPEN, 2_000);
    expect(await new Payments().charge().catch((e: unknown) => e)).to.be.instanceOf(
      CircuitBreakerError,
    );
  });

  it("falls back to this process's own breaker while Redis is down, then shares again", async () => {
    const [a] = await fleet(1, {
      failureThreshold: 2,
      commandTimeout: '100ms',
      retryInterval: '100ms',
    });
    const fallbacks: unknown[] = [];
    const recovered: unknown[] = [];
    a.storeEvents.on('fallback', (e) => fallbacks.push(e));
    a.storeEvents.on('recovered', (e) => recovered.push(e));
    await a.protect(ok);
    await server.stop();
    await a.protect(ok); // its report fails: the fallback begins
    await until(() => fallbacks.length === 1, 2_000);
    await a.protect(boom).catch(() => undefined);
    await a.protect(boom).catch(() => undefined);
    expect(a.state).to.equal(CircuitState.OPEN); // the local breaker, with the same options
    await server.start();
    await until(
      () => recovered.length === 1,
      10_000,
      () => a.protect(ok).catch(() => undefined),
    );
    expect(a.state).to.equal(CircuitState.CLOSED); // the shared circuit never saw those failures
  });

  it('reads the shared state for observers, as the state getter does', async () => {
    const [a, b] = await fleet(2, { failureThreshold: 1, timeout: '200ms' });
    await openIt(a);
    await until(() => b.state === CircuitState.OPEN, 2_000);
    expect(b.peekState()).to.equal(CircuitState.OPEN);
    await sleep(250);
    expect(b.peekState()).to.equal(CircuitState.HALF_OPEN);
  });

  it('reads its state for observers without moving the local breaker while Redis is down', async () => {
    const [a] = await fleet(1, {
      failureThreshold: 1,
      timeout: '200ms',
      commandTimeout: '100ms',
      retryInterval: '10s',
    });
    let down = false;
    a.storeEvents.on('fallback', () => (down = true));
    await server.stop();
    await a.protect(ok);
    await until(() => down, 2_000);
    await a.protect(boom).catch(() => undefined);
    expect(a.peekState()).to.equal(CircuitState.OPEN);
    const changes: unknown[] = [];
    a.events.on('stateChange', (change) => changes.push(change));
    await sleep(250);
    expect(a.peekState()).to.equal(CircuitState.HALF_OPEN);
    expect(a.peekState()).to.equal(CircuitState.HALF_OPEN);
    expect(changes).to.deep.equal([]);
  });

  it("refuses calls with RedisStoreError while Redis is down ('fail-closed')", async () => {
    const [a] = await fleet(1, { onStoreError: 'fail-closed', retryInterval: '1s' });
    await a.protect(ok);
    let down = false;
    a.storeEvents.on('fallback', () => (down = true));
    await server.stop();
    // Closed: runs, and its report finds Redis gone (unless the lost connection told already: then refused).
    await a.protect(ok).catch(() => undefined);
    await until(() => down, 2_000);
    expect(await a.protect(ok).catch((e: unknown) => e)).to.be.instanceOf(RedisStoreError);
  });

  describe('commands that time out and run later', () => {
    const slow = { commandTimeout: '100ms', retryInterval: '100ms' } as const;
    let admin: Redis;

    beforeEach(() => {
      admin = server.client();
      clients.push(admin);
    });

    it('frees the trial slot of an ADMIT that timed out and ran later', async () => {
      const options = { failureThreshold: 1, timeout: 50, trialLease: 5_000 };
      const [a, b] = await fleet(2, { ...options, ...slow });
      await openIt(a);
      await sleep(100);
      // The ADMIT times out: the call runs on this process's own breaker, and never reports a trial.
      await stall(admin, 300, () => a.protect(ok));
      await sleep(20);
      expect(await b.protect(ok)).to.equal('ok');
    });

    it("sends a trial's REPORT that failed again until Redis answers, freeing its slot", async () => {
      const options = { failureThreshold: 1, timeout: 50, trialLease: 5_000, ...slow };
      const [a] = await fleet(1, options);
      const client = failingOnce(server.client(), REPORT);
      clients.push(client);
      const flaky = new RedisCircuitBreaker(client, `circuit-${run}`, options);
      breakers.push(flaky);
      await openIt(a);
      await sleep(100);
      expect(await flaky.protect(ok)).to.equal('ok'); // the trial; its report fails
      await until(async () => (await admin.zcard(`{dspu:circuit-${run}}:trials`)) === 0, 1_000);
    });

    it('isolates the fleet with an isolate() whose command failed, once Redis answers', async () => {
      const [a] = await fleet(1, slow);
      const client = failingOnce(server.client(), FORCE);
      clients.push(client);
      const flaky = new RedisCircuitBreaker(client, `circuit-${run}`, slow);
      breakers.push(flaky);
      await untilSubscribed(admin, `circuit-${run}`, 2);
      flaky.isolate(); // its FORCE fails without reaching Redis
      await until(() => a.state === CircuitState.OPEN, 2_000);
      expect(await a.protect(ok).catch((e: unknown) => e)).to.be.instanceOf(CircuitBreakerError);
    });

    it('resets the fleet with a reset() whose command failed, once Redis answers', async () => {
      const [a] = await fleet(1, { failureThreshold: 1, ...slow });
      const client = failingOnce(server.client(), FORCE);
      clients.push(client);
      const flaky = new RedisCircuitBreaker(client, `circuit-${run}`, slow);
      breakers.push(flaky);
      await untilSubscribed(admin, `circuit-${run}`, 2);
      await openIt(a);
      await flaky.reset(); // its FORCE fails without reaching Redis ('local': no error for the caller)
      await until(() => a.state === CircuitState.CLOSED, 2_000);
    });

    it('never sends again a reset() whose command failed once an isolate() followed it', async () => {
      // The reset's command and the first resend fail: the next resend is due after retryInterval.
      const client = failingTimes(server.client(), FORCE, 2);
      clients.push(client);
      const flaky = new RedisCircuitBreaker(client, `circuit-${++run}`, slow);
      breakers.push(flaky);
      await flaky.protect(ok);
      await flaky.reset();
      flaky.isolate();
      await sleep(300); // three retry intervals
      expect(await admin.hget(`{dspu:circuit-${run}}:circuit`, 'i')).to.equal('1');
    });

    it('is reset by its own reset() after several isolate() whose commands failed', async () => {
      // Five FORCEs fail; only the newest is sent again, so Redis moves one generation, not five.
      const client = failingTimes(server.client(), FORCE, 5);
      clients.push(client);
      const flaky = new RedisCircuitBreaker(client, `circuit-${++run}`, slow);
      breakers.push(flaky);
      await flaky.protect(ok);
      for (let i = 0; i < 5; i++) flaky.isolate();
      await until(
        async () => (await admin.hget(`{dspu:circuit-${run}}:circuit`, 'i')) === '1',
        2_000,
      );
      await flaky.reset();
      expect(flaky.state).to.equal(CircuitState.CLOSED);
      expect(await flaky.protect(ok)).to.equal('ok');
    });

    it('counts a failure once when its REPORT timed out and Redis ran it later', async () => {
      const [a, b] = await fleet(2, { failureThreshold: 2, ...slow });
      await a.protect(ok);
      await stall(admin, 300, async () => {
        await a.protect(boom).catch(() => undefined);
        await sleep(150); // its report times out
      });
      await b.protect(boom).catch(() => undefined);
      await until(() => b.state === CircuitState.OPEN, 2_000);
    });

    it("refuses every call and runs no user work to probe Redis while it does not answer ('fail-closed')", async () => {
      const [a] = await fleet(1, { onStoreError: 'fail-closed', ...slow });
      await a.protect(ok);
      let down = false;
      a.storeEvents.on('fallback', () => (down = true));
      let ran = 0;
      const work = async () => ++ran;
      const outcomes: unknown[] = [];
      await stall(admin, 700, async () => {
        await a.protect(work); // runs: nothing has failed yet, and its report finds Redis stalled
        await until(() => down, 1_000);
        ran = 0;
        // Calls over several retry intervals: each is refused, and a probe of the breaker's own is sent.
        for (let i = 0; i < 12; i++) {
          outcomes.push(await a.protect(work).catch((e: unknown) => e));
          await sleep(30);
        }
      });
      expect(ran).to.equal(0);
      expect(outcomes.every((o) => o instanceof RedisStoreError)).to.equal(true);
      await until(
        () => ran > 0,
        2_000,
        () => a.protect(work).catch(() => undefined),
      );
    });
  });

  it('throws a ConfigError naming invalid options', () => {
    const client = server.client();
    clients.push(client);
    expect(() => new RedisCircuitBreaker(client, 'x', { trialLease: 0 })).to.throw(
      ConfigError,
      /trialLease/,
    );
    expect(() => new RedisCircuitBreaker(client, 'x', { failureThreshold: 0 })).to.throw(
      ConfigError,
      /failureThreshold/,
    );
  });
});
