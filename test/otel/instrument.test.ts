import { expect } from 'chai';
import {
  CircuitBreaker,
  ConfigError,
  Concurrency,
  Fallback,
  Hedge,
  RateLimited,
  ResilienceRegistry,
  Retry,
  Timeout,
  bindRegistry,
} from '../../src/index.js';
import { instrument } from '../../src/otel/index.js';
import { observe, useFakeClock } from '../support/fake-clock.js';
import { metricsHarness, policy } from './metrics-reader.js';

class Down extends Error {}

const policies = () =>
  new ResilienceRegistry({
    retry: { flaky: { maxAttempts: 5, baseDelay: 100, strategy: 'constant' } },
    circuitBreaker: { payments: { failureThreshold: 3, timeout: '30s', successThreshold: 1 } },
    rateLimiter: { github: { rate: 1, per: '1s' } },
  });

describe('dspu/otel: instrument()', () => {
  const time = useFakeClock();
  let metrics: ReturnType<typeof metricsHarness>;
  let registry: ResilienceRegistry;
  let stop: () => void;

  beforeEach(() => {
    metrics = metricsHarness();
    registry = policies();
    stop = instrument(registry, { meter: metrics.provider.getMeter('test') });
  });

  afterEach(async () => {
    stop();
    await metrics.provider.shutdown();
  });

  describe('a call that succeeds after three retries', () => {
    beforeEach(async () => {
      let tries = 0;
      class Client {
        @Retry('flaky')
        async fetch() {
          if (++tries <= 3) throw new Down(`try ${tries}`);
          return 'ok';
        }
      }
      const result = observe(bindRegistry(new Client(), registry).fetch());
      await time.clock.tickAsync(300);
      expect(result.value).to.equal('ok');
    });

    it('counts one successful call for the retry policy', async () => {
      expect(await metrics.points('dspu.calls')).to.deep.equal([
        { attributes: policy('retry', 'flaky', 'success'), value: 1 },
      ]);
    });

    it('records four attempts for that call', async () => {
      expect(await metrics.points('dspu.retry.attempts')).to.deep.equal([
        {
          attributes: policy('retry', 'flaky', 'success'),
          value: { count: 1, sum: 4, min: 4, max: 4 },
        },
      ]);
    });
  });

  it('records one attempt for a call that succeeds at once', async () => {
    class Client {
      @Retry('flaky')
      async fetch() {
        return 'ok';
      }
    }
    await bindRegistry(new Client(), registry).fetch();
    expect(await metrics.points('dspu.retry.attempts')).to.deep.equal([
      {
        attributes: policy('retry', 'flaky', 'success'),
        value: { count: 1, sum: 1, min: 1, max: 1 },
      },
    ]);
  });

  it('records a failed call with the attempts it made before giving up', async () => {
    class Client {
      @Retry({ maxAttempts: 2, baseDelay: 10 })
      async fetch() {
        throw new Down('always');
      }
    }
    const result = observe(bindRegistry(new Client(), registry).fetch());
    await time.clock.tickAsync(10);
    expect(result.error).to.be.instanceOf(Down);
    expect(await metrics.points('dspu.retry.attempts')).to.deep.equal([
      {
        attributes: policy('retry', 'Client.fetch', 'failure'),
        value: { count: 1, sum: 2, min: 2, max: 2 },
      },
    ]);
  });

  describe('a breaker that opens', () => {
    class Payments {
      @CircuitBreaker('payments')
      async pay(ok: boolean) {
        if (!ok) throw new Down('declined');
        return 'paid';
      }
    }
    let payments: Payments;
    const transition = (from: string, to: string) => ({
      ...policy('circuitBreaker', 'payments'),
      'dspu.circuit_breaker.from_state': from,
      'dspu.circuit_breaker.to_state': to,
    });

    beforeEach(async () => {
      payments = bindRegistry(new Payments(), registry);
      for (let i = 0; i < 4; i++) await payments.pay(false).catch(() => undefined);
    });

    it('counts the failures that opened it and the call it rejected', async () => {
      expect(await metrics.points('dspu.calls')).to.have.deep.members([
        { attributes: policy('circuitBreaker', 'payments', 'failure'), value: 3 },
        { attributes: policy('circuitBreaker', 'payments', 'rejected'), value: 1 },
      ]);
    });

    it('reports its state as 2 while open', async () => {
      expect(await metrics.points('dspu.circuit_breaker.state')).to.deep.equal([
        { attributes: policy('circuitBreaker', 'payments'), value: 2 },
      ]);
    });

    it('reports 1 once the open timeout has passed (half-open), read live at collection', async () => {
      await time.clock.tickAsync(30_000);
      expect(await metrics.points('dspu.circuit_breaker.state')).to.deep.equal([
        { attributes: policy('circuitBreaker', 'payments'), value: 1 },
      ]);
    });

    it('changes nothing by being collected: no stateChange event and no transition counted', async () => {
      const changes: unknown[] = [];
      registry.on('stateChange', (event) => changes.push(event));
      await time.clock.tickAsync(30_000);
      for (let i = 0; i < 3; i++) {
        expect(await metrics.points('dspu.circuit_breaker.state')).to.deep.equal([
          { attributes: policy('circuitBreaker', 'payments'), value: 1 },
        ]);
      }
      expect(changes).to.deep.equal([]);
      const counted = await metrics.points('dspu.circuit_breaker.transitions');
      expect(counted.map((point) => point.attributes)).to.deep.equal([
        transition('closed', 'open'),
      ]);
    });

    it('reports 0 after a successful trial closed it again', async () => {
      await time.clock.tickAsync(30_000);
      expect(await payments.pay(true)).to.equal('paid');
      expect(await metrics.points('dspu.circuit_breaker.state')).to.deep.equal([
        { attributes: policy('circuitBreaker', 'payments'), value: 0 },
      ]);
    });

    it('counts every state change with the states left and entered', async () => {
      await time.clock.tickAsync(30_000);
      await payments.pay(true);
      expect(await metrics.points('dspu.circuit_breaker.transitions')).to.have.deep.members([
        { attributes: transition('closed', 'open'), value: 1 },
        { attributes: transition('open', 'half_open'), value: 1 },
        { attributes: transition('half_open', 'closed'), value: 1 },
      ]);
    });
  });

  it('reports a configured breaker as closed (0) before any call', async () => {
    expect(await metrics.points('dspu.circuit_breaker.state')).to.deep.equal([
      { attributes: policy('circuitBreaker', 'payments'), value: 0 },
    ]);
  });

  describe('throttling', () => {
    class Api {
      @RateLimited('github')
      async get() {
        return Date.now();
      }
    }

    it('records the wait of each throttled call in milliseconds', async () => {
      const api = bindRegistry(new Api(), registry);
      const calls = [observe(api.get()), observe(api.get()), observe(api.get())];
      await time.clock.tickAsync(2000);
      expect(calls.map((call) => call.value)).to.deep.equal([0, 1000, 2000]);
      expect(await metrics.points('dspu.rate_limiter.wait.duration')).to.deep.equal([
        {
          attributes: policy('rateLimiter', 'github'),
          value: { count: 2, sum: 3000, min: 1000, max: 2000 },
        },
      ]);
    });

    it('counts a call refused for exceeding maxWait as rejected', async () => {
      const limiter = registry.rateLimiter('github');
      await limiter.acquire();
      const refused = observe(limiter.run(() => 'late', { maxWait: 500 }));
      await time.clock.tickAsync(0);
      expect(refused.error).to.be.instanceOf(Error);
      expect(await metrics.points('dspu.calls')).to.deep.equal([
        { attributes: policy('rateLimiter', 'github', 'rejected'), value: 1 },
      ]);
    });
  });

  it('counts timeouts, fallbacks and concurrency rejections of inline policies as Class.method', async () => {
    class Slow {
      @Fallback(() => 'cached')
      @Timeout('1s')
      async call() {
        await new Promise((resolve) => setTimeout(resolve, 5000));
        return 'fresh';
      }

      @Concurrency({ limit: 1, maxQueue: 0 })
      async exclusive() {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    const slow = bindRegistry(new Slow(), registry);
    const answer = observe(slow.call());
    const first = observe(slow.exclusive());
    const second = observe(slow.exclusive());
    await time.clock.tickAsync(5000);
    expect(answer.value).to.equal('cached');
    expect(first.settled && second.error).to.be.instanceOf(Error);
    expect(await metrics.points('dspu.calls')).to.have.deep.members([
      { attributes: policy('timeout', 'Slow.call', 'timeout'), value: 1 },
      { attributes: policy('fallback', 'Slow.call', 'fallback'), value: 1 },
      { attributes: policy('concurrency', 'Slow.exclusive', 'rejected'), value: 1 },
    ]);
  });

  it('counts the hedges sent and the calls a hedge won, by policy', async () => {
    registry.configure({ hedge: { search: { delay: 50, maxHedges: 2 } } });
    const latencies = [1_000, 10, 120, 1_000, 1_000];
    class Search {
      @Hedge('search')
      async query() {
        await new Promise((resolve) => setTimeout(resolve, latencies.shift()));
      }
    }
    const search = bindRegistry(new Search(), registry);
    const won = observe(search.query()); // the first hedge wins
    await time.clock.tickAsync(60);
    const lost = observe(search.query()); // two hedges sent, the first attempt wins after all
    await time.clock.tickAsync(1_000);
    expect(won.settled && lost.settled).to.equal(true);
    expect(await metrics.points('dspu.hedge.attempts')).to.deep.equal([
      { attributes: policy('hedge', 'search'), value: 3 },
    ]);
    expect(await metrics.points('dspu.hedge.wins')).to.deep.equal([
      { attributes: policy('hedge', 'search'), value: 1 },
    ]);
  });

  it('records nothing more once stopped', async () => {
    stop();
    class Payments {
      @CircuitBreaker('payments')
      async pay() {
        throw new Down('declined');
      }
    }
    const payments = bindRegistry(new Payments(), registry);
    for (let i = 0; i < 4; i++) await payments.pay().catch(() => undefined);
    expect(await metrics.points('dspu.calls')).to.deep.equal([]);
    expect(await metrics.points('dspu.circuit_breaker.state')).to.deep.equal([]);
  });

  it('stops the registry re-emitting events once stopped', () => {
    const breaker = registry.circuitBreaker('payments');
    expect(breaker.events.has('stateChange')).to.equal(true);
    stop();
    expect(breaker.events.has('stateChange')).to.equal(false);
  });
});

describe('dspu/otel: instrument() and rate-mode breakers', () => {
  const time = useFakeClock();
  let metrics: ReturnType<typeof metricsHarness>;
  let registry: ResilienceRegistry;
  let stop: () => void;

  beforeEach(() => {
    metrics = metricsHarness();
    registry = new ResilienceRegistry({
      circuitBreaker: {
        consecutive: { failureThreshold: 3 },
        search: { failureRateThreshold: 80, minimumCalls: 10, slowCallDuration: '1s' },
      },
    });
    stop = instrument(registry, { meter: metrics.provider.getMeter('test') });
  });

  afterEach(async () => {
    stop();
    await metrics.provider.shutdown();
  });

  it('reports the failure rate and slow-call rate of the window as fractions, read live', async () => {
    const search = registry.circuitBreaker('search');
    for (let i = 0; i < 4; i++) await search.protect(async () => 'hit');
    await search.protect(() => Promise.reject(new Down('miss'))).catch(() => undefined);
    const slow = observe(search.protect(() => time.clock.tickAsync(1_500).then(() => 'late')));
    await time.clock.tickAsync(1_500);
    expect(slow.value).to.equal('late');
    expect(await metrics.points('dspu.circuit_breaker.failure_rate')).to.deep.equal([
      { attributes: policy('circuitBreaker', 'search'), value: 1 / 6 },
    ]);
    expect(await metrics.points('dspu.circuit_breaker.slow_call_rate')).to.deep.equal([
      { attributes: policy('circuitBreaker', 'search'), value: 1 / 6 },
    ]);
  });

  it('reports no rate for a consecutive breaker', async () => {
    expect(await metrics.points('dspu.circuit_breaker.failure_rate')).to.deep.equal([
      { attributes: policy('circuitBreaker', 'search'), value: 0 },
    ]);
  });

  it('reports no rate once stopped', async () => {
    stop();
    expect(await metrics.points('dspu.circuit_breaker.failure_rate')).to.deep.equal([]);
  });
});

describe('dspu/otel: instrument() given what it cannot use', () => {
  const revoked = () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    return proxy;
  };
  const cases: [string, () => [unknown, unknown?], RegExp][] = [
    ['a null registry', () => [null], /^registry: expected a ResilienceRegistry, got null/],
    ['an empty object as the registry', () => [{}], /^registry: expected a ResilienceRegistry/],
    [
      'a revoked Proxy as the registry',
      () => [revoked()],
      /^registry: expected a ResilienceRegistry/,
    ],
    [
      'null options',
      () => [new ResilienceRegistry(), null],
      /^options: expected an options object/,
    ],
    [
      'a string as options',
      () => [new ResilienceRegistry(), 'x'],
      /^options: expected an options object/,
    ],
    ['revoked options', () => [new ResilienceRegistry(), revoked()], /^options: /],
    [
      'a meter that is a number',
      () => [new ResilienceRegistry(), { meter: 5 }],
      /^meter: expected an OpenTelemetry Meter, got 5/,
    ],
    [
      'a typo (metre)',
      () => [new ResilienceRegistry(), { metre: {} }],
      /^metre: unknown option \(known: meter\)/,
    ],
  ];
  for (const [label, make, problem] of cases)
    it(`refuses ${label} with a ConfigError`, () => {
      const [registry, options] = make();
      expect(() => instrument(registry as never, options as never)).to.throw(ConfigError, problem);
    });

  it('creates no instrument when it refuses its arguments', () => {
    const created: string[] = [];
    const meter = new Proxy(
      {},
      {
        get:
          (_target, method) =>
          (...args: unknown[]) =>
            void created.push(`${String(method)} ${String(args[0])}`),
      },
    );
    expect(() => instrument(null as never, { meter: meter as never })).to.throw(ConfigError);
    expect(created).to.deep.equal([]);
  });
});
