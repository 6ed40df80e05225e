import { expect } from 'chai';
import {
  CircuitBreaker,
  CircuitState,
  ConfigError,
  DEFAULT_ORDER,
  ConcurrencyLimiter,
  EventEmitter,
  RateLimiter,
  ResilienceRegistry,
  RetryPolicy,
  Timeout,
  type Policy,
} from '../../src/index.js';
import { POLICY_KINDS } from '../../src/registry/policy-kinds.js';
import { useFakeClock } from '../support/fake-clock.js';
import { HOSTILE_FUNCTIONS, HOSTILE_VALUES } from '../support/hostile-values.js';
import { configProblems } from '../support/rejection.js';

describe('ResilienceRegistry', () => {
  const time = useFakeClock();

  it('composes in the order of its kinds table, which the decorators know without loading it', () => {
    expect(DEFAULT_ORDER).to.deep.equal(Object.keys(POLICY_KINDS));
  });

  it('resolves each name to one shared instance, created on first use', () => {
    const registry = new ResilienceRegistry({
      retry: { payments: { maxAttempts: 5 } },
      circuitBreaker: { payments: { failureThreshold: 5, timeout: '30s' } },
      rateLimiter: { github: { rate: 5000, per: '1h' } },
      timeout: { slow: '2s' },
      concurrency: { db: { limit: 10 } },
    });
    expect(registry.retry('payments'))
      .to.be.instanceOf(RetryPolicy)
      .and.equal(registry.retry('payments'));
    expect(registry.circuitBreaker('payments')).to.be.instanceOf(CircuitBreaker);
    expect(registry.circuitBreaker('payments').options.timeout).to.equal(30_000);
    expect(registry.rateLimiter('github')).to.be.instanceOf(RateLimiter);
    expect(registry.timeout('slow')).to.be.instanceOf(Timeout);
    expect(registry.timeout('slow').timeout).to.equal(2000);
    expect(registry.concurrency('db')).to.be.instanceOf(ConcurrencyLimiter);
  });

  it('merges each entry over its kind’s defaults', () => {
    const registry = new ResilienceRegistry({
      retry: { defaults: { maxAttempts: 3, baseDelay: '100ms' }, payments: { maxAttempts: 5 } },
    });
    expect(registry.retry('payments').options).to.include({ maxAttempts: 5, baseDelay: 100 });
  });

  it('lets an entry choose the breaker mode its defaults did not: the entry’s mode wins', async () => {
    const registry = new ResilienceRegistry({
      circuitBreaker: {
        defaults: { failureThreshold: 3, timeout: '10s' },
        rated: { failureRateThreshold: 50, slidingWindow: { calls: 4 }, minimumCalls: 4 },
        counted: {},
      },
    });
    const rated = registry.circuitBreaker('rated');
    for (const outcome of [true, false, true, false])
      await rated
        .protect(() => (outcome ? 'ok' : Promise.reject(new Error('down'))))
        .catch(() => {});
    expect(rated.state).to.equal(CircuitState.OPEN); // 50 % of 4 calls; three in a row never happened
    expect(registry.circuitBreaker('counted').options).to.include({
      failureThreshold: 3,
      timeout: 10_000,
    });

    const back = new ResilienceRegistry({
      circuitBreaker: {
        defaults: { failureRateThreshold: 20, minimumCalls: 5 },
        counted: { failureThreshold: 2 },
      },
    });
    expect(back.circuitBreaker('counted').options).to.include({ failureThreshold: 2 });
    expect(back.circuitBreaker('counted').options.rate).to.equal(undefined);
  });

  it('names the known entries when asked for an unknown one', () => {
    const registry = new ResilienceRegistry({ circuitBreaker: { payments: {}, github: {} } });
    expect(() => registry.circuitBreaker('paymnts')).to.throw(
      ConfigError,
      'circuitBreaker "paymnts" is not configured; known: payments, github',
    );
  });

  it('lists every problem of a configuration by path, and changes nothing', () => {
    const registry = new ResilienceRegistry({ retry: { payments: { maxAttempts: 2 } } });
    const problems = configProblems(() =>
      registry.configure({
        retry: { payments: { maxAttempts: 0 } },
        circuitBreaker: { payments: { timeout: '30' as never } },
        timeout: { slow: 'soon' as never },
        rateLimiter: { github: { rate: -1 } },
        cache: {},
      } as never),
    );
    expect(problems).to.include(
      "circuitBreaker.payments.timeout: expected a duration (milliseconds, or a string like '250ms', '1s', '2m', '1h'), got \"30\"",
    );
    expect(
      problems.some((p) => p.startsWith('retry.payments.maxAttempts: expected an integer')),
    ).to.equal(true);
    expect(problems.some((p) => p.startsWith('timeout.slow: expected a duration'))).to.equal(true);
    expect(problems.some((p) => p.startsWith('rateLimiter.github.rate'))).to.equal(true);
    expect(problems).to.include(
      'cache: unknown policy kind (known: retry, hedge, circuitBreaker, rateLimiter, timeout, concurrency, retryBudget, policies, order)',
    );
    expect(registry.retry('payments').options.maxAttempts).to.equal(2);
  });

  it('rejects unknown option keys: a typo must not fall back to a default', () => {
    const problems = configProblems(
      () => new ResilienceRegistry({ retry: { api: { maxAtempts: 5 } as never } }),
    );
    expect(problems[0]).to.match(/^retry\.api\.maxAtempts: unknown option/);
  });

  it('rejects __proto__ and constructor as names without polluting any prototype', () => {
    const config = JSON.parse(
      '{"retry":{"__proto__":{"maxAttempts":1},"constructor":{}}}',
    ) as object;
    const problems = configProblems(() => new ResilienceRegistry(config));
    expect(problems).to.deep.equal([
      'retry.__proto__: this name is not allowed',
      'retry.constructor: this name is not allowed',
    ]);
    expect(({} as Record<string, unknown>).maxAttempts).to.equal(undefined);
  });

  it('refuses the empty name, which no decorator can ask for, in every kind and among policies of your own', () => {
    const policy: Policy = {
      kind: 'audit',
      events: new EventEmitter(),
      executeWith: async (next, call) => next(call),
    };
    const problems = configProblems(
      () =>
        new ResilienceRegistry({
          retry: { '': {} },
          timeout: { '': '1s' },
          policies: { '': policy },
        }),
    );
    expect(problems).to.deep.equal([
      'retry."": a policy name is a non-empty string',
      'timeout."": a policy name is a non-empty string',
      'policies."": a policy name is a non-empty string',
    ]);
  });

  it('validates the order', () => {
    expect(
      configProblems(() => new ResilienceRegistry({ order: ['retry', 'retries'] as never }))[0],
    ).to.match(/^order: expected policy kinds/);
    expect(new ResilienceRegistry({ order: ['timeout', 'retry'] }).order).to.deep.equal([
      'timeout',
      'retry',
    ]);
  });

  it('merges an entry given as undefined over the defaults, and does not merge one that is not a plain object', () => {
    const registry = new ResilienceRegistry({
      retry: { defaults: { maxAttempts: 5 }, a: undefined },
    });
    expect(registry.retry('a').options.maxAttempts).to.equal(5);
    const inherited = Object.create({ maxAttempts: 2 }) as object;
    expect(
      configProblems(
        () => new ResilienceRegistry({ retry: { defaults: { maxAttempts: 5 }, a: inherited } }),
      ),
    ).to.deep.equal(['retry.a.options: expected an options object, got a Object instance']);
  });

  it('checks a decorator’s inline options over its defaults, saying so in each problem', () => {
    const registry = new ResilienceRegistry({ retry: { defaults: { baseDelay: '10s' } } });
    expect(
      configProblems(() => registry.checkInline(RetryPolicy, { maxDelay: '1s' })),
    ).to.deep.equal([
      'maxDelay: expected at least baseDelay (10000 ms), got "1s" (over the registry\'s retry defaults)',
    ]);
    expect(() => registry.checkInline(RetryPolicy, { maxDelay: '20s' })).not.to.throw();
  });

  it('accepts defaults given as undefined', () => {
    expect(
      () => new ResilienceRegistry({ timeout: { defaults: undefined, slow: '1s' } }),
    ).not.to.throw();
  });

  it('refuses defaults as the name of a budget or of a policy of your own, and names that are no names', () => {
    const audit: Policy = {
      kind: 'audit',
      events: new EventEmitter(),
      executeWith: async (next, invocation) => next(invocation),
    };
    expect(
      configProblems(
        () =>
          new ResilienceRegistry({
            retryBudget: { defaults: {} },
            retry: { a: { budget: 'defaults' } },
          }),
      ),
    ).to.deep.equal(['retry.a.budget: retryBudget "defaults" is not configured; known: (none)']);
    const policies = JSON.parse('{"defaults": 0, "constructor": 0}') as Record<string, Policy>;
    for (const name of Object.keys(policies)) policies[name] = audit;
    expect(configProblems(() => new ResilienceRegistry({ policies }))).to.deep.equal([
      'policies.defaults: this name is not allowed',
      'policies.constructor: this name is not allowed',
    ]);
  });

  it('reads each entry once, and lists one that cannot be read with every other problem', () => {
    let reads = 0;
    const counted = {
      get maxAttempts() {
        return ++reads === 1 ? 2 : 'changed';
      },
    };
    const registry = new ResilienceRegistry({ retry: { a: counted as never } });
    expect(registry.retry('a').options.maxAttempts).to.equal(2);
    const unreadable = {
      get maxAttempts(): number {
        throw new Error('no');
      },
    };
    expect(
      configProblems(
        () => new ResilienceRegistry({ retry: { a: unreadable }, cache: {} } as never),
      ),
    ).to.have.lengthOf(2);
  });

  it('holds a policy of your own from configure() on: listed and relayed before any use', () => {
    const events = new EventEmitter<{ call: { ok: boolean } }>();
    const audit: Policy<{ call: { ok: boolean } }> = {
      kind: 'audit',
      events,
      executeWith: async (next, invocation) => next(invocation),
    };
    const registry = new ResilienceRegistry();
    const heard: string[] = [];
    registry.on('*', (event) => heard.push(`${event.name} ${String(event.type)}`));
    registry.configure({ policies: { audit } });
    expect(registry.engines().map(({ name, engine }) => [name, engine])).to.deep.equal([
      ['audit', audit],
    ]);
    events.emit('call', { ok: true });
    expect(heard).to.deep.equal(['audit call']);
  });

  it('keeps the order a configure() set through later calls that do not set one', () => {
    const registry = new ResilienceRegistry({ order: ['timeout', 'retry'] });
    registry.configure({ retry: { payments: { maxAttempts: 2 } } });
    expect(registry.order).to.deep.equal(['timeout', 'retry']);
  });

  it('uses a policy of your own written as an object literal as it is, not a copy of it', async () => {
    const audit = {
      kind: 'audit',
      events: new EventEmitter<{ call: { ok: boolean } }>(),
      calls: 0,
      async executeWith<I, T>(next: (invocation: I) => Promise<T>, invocation: I): Promise<T> {
        this.calls++;
        return next(invocation);
      },
    };
    const registry = new ResilienceRegistry({ policies: { audit } });
    expect(registry.policy('audit')).to.equal(audit);
    await registry.policy('audit').executeWith(async () => 'ok', undefined);
    expect(audit.calls).to.equal(1);
  });

  it('keeps a policy of your own, its events relayed once under its name, across a later configure()', () => {
    const events = new EventEmitter<{ call: { ok: boolean } }>();
    const audit: Policy<{ call: { ok: boolean } }> = {
      kind: 'audit',
      events,
      executeWith: async (next, invocation) => next(invocation),
    };
    const registry = new ResilienceRegistry({ policies: { audit } });
    const heard: unknown[] = [];
    registry.on('*', (event) => heard.push(event));
    registry.configure({ retry: { payments: { maxAttempts: 2 } } });
    expect(registry.policy('audit')).to.equal(audit);
    events.emit('call', { ok: true });
    expect(heard).to.deep.equal([{ type: 'call', kind: 'audit', name: 'audit', ok: true }]);
  });

  it('re-emits every engine event with its kind and name, to typed and wildcard listeners', async () => {
    const registry = new ResilienceRegistry({
      circuitBreaker: { payments: { failureThreshold: 1 } },
    });
    const changes: unknown[] = [];
    const all: string[] = [];
    registry.on('stateChange', ({ name, kind, from, to }) =>
      changes.push({ name, kind, from, to }),
    );
    registry.on('*', (event) => all.push(`${event.kind}:${event.name}:${String(event.type)}`));
    await registry
      .circuitBreaker('payments')
      .protect(() => Promise.reject(new Error('x')))
      .catch(() => undefined);
    expect(changes).to.deep.equal([
      {
        name: 'payments',
        kind: 'circuitBreaker',
        from: CircuitState.CLOSED,
        to: CircuitState.OPEN,
      },
    ]);
    expect(all).to.include('circuitBreaker:payments:stateChange');
  });

  it('subscribes to engines only while someone listens, so an unobserved engine builds no events', () => {
    const registry = new ResilienceRegistry({ retry: { api: {} } });
    const policy = registry.retry('api');
    expect(policy.events.has('retry')).to.equal(false);
    const off = registry.on('retry', () => undefined);
    expect(policy.events.has('retry')).to.equal(true);
    off();
    expect(policy.events.has('retry')).to.equal(false);
  });

  it('keeps a breaker’s state when its name is reconfigured', async () => {
    const registry = new ResilienceRegistry({
      circuitBreaker: { payments: { failureThreshold: 1, timeout: '1m' } },
    });
    await registry
      .circuitBreaker('payments')
      .protect(() => Promise.reject(new Error('x')))
      .catch(() => undefined);
    registry.configure({ circuitBreaker: { payments: { failureThreshold: 3, timeout: '2m' } } });
    const breaker = registry.circuitBreaker('payments');
    expect(breaker.options.failureThreshold).to.equal(3);
    expect(breaker.state).to.equal(CircuitState.OPEN);
    await time.clock.tickAsync(60_000);
    expect(breaker.state).to.equal(CircuitState.OPEN);
  });

  it('uses an engine given as an entry as it is: the kind’s defaults do not apply to it', () => {
    const payments = new CircuitBreaker({ failureThreshold: 3 });
    const registry = new ResilienceRegistry({
      circuitBreaker: { defaults: { failureThreshold: 7, timeout: '10s' }, payments, search: {} },
      timeout: { slow: new Timeout('2s') },
    });
    expect(registry.circuitBreaker('payments')).to.equal(payments);
    expect(payments.options).to.include({ failureThreshold: 3, timeout: 60_000 });
    expect(registry.circuitBreaker('search').options).to.include({ failureThreshold: 7 });
    expect(registry.timeout('slow').timeout).to.equal(2000);
    expect(registry.names('circuitBreaker')).to.deep.equal(['payments', 'search']);
  });

  it('rejects an engine of another kind, or as defaults, naming its path', () => {
    const problems = configProblems(
      () =>
        new ResilienceRegistry({
          circuitBreaker: { payments: new RateLimiter({ rate: 1 }) as never },
          concurrency: {
            defaults: new ConcurrencyLimiter({ limit: 1 }),
            db: { limit: 2 },
          },
        }),
    );
    expect(problems).to.deep.equal([
      'circuitBreaker.payments: expected options or a CircuitBreaker, got a RateLimiter instance',
      'concurrency.defaults: expected options, got a ConcurrencyLimiter instance',
    ]);
  });

  it('keeps an engine given as an entry when a reconfiguration gives the same one', async () => {
    const payments = new CircuitBreaker({ failureThreshold: 1 });
    const registry = new ResilienceRegistry({ circuitBreaker: { payments } });
    const changes: string[] = [];
    registry.on('stateChange', ({ name, to }) => changes.push(`${name}:${to}`));
    expect(registry.circuitBreaker('payments')).to.equal(payments);
    registry.configure({ circuitBreaker: { payments, search: {} } });
    expect(registry.circuitBreaker('payments')).to.equal(payments);
    await payments.protect(() => Promise.reject(new Error('x'))).catch(() => undefined);
    expect(changes).to.deep.equal(['payments:open']); // re-emitted once, not once per configuration
    registry.configure({ circuitBreaker: { payments: { failureThreshold: 2 } } });
    const replaced = registry.circuitBreaker('payments');
    expect(replaced).not.to.equal(payments);
    expect(replaced.state).to.equal(CircuitState.OPEN); // options replacing an engine keep its state
  });

  it('relays an engine given as an entry from configure() on, even when only used directly', async () => {
    const payments = new CircuitBreaker({ failureThreshold: 1 });
    const registry = new ResilienceRegistry({ circuitBreaker: { payments } });
    const changes: string[] = [];
    registry.on('stateChange', ({ name, to }) => changes.push(`${name}:${to}`));
    await payments.protect(() => Promise.reject(new Error('x'))).catch(() => undefined);
    expect(changes).to.deep.equal(['payments:open']);
    expect(registry.engines().map(({ name, engine }) => [name, engine])).to.deep.equal([
      ['payments', payments],
    ]);
  });

  it('relays an engine given under two names once, under the first', async () => {
    const shared = new CircuitBreaker({ failureThreshold: 1 });
    const registry = new ResilienceRegistry({ circuitBreaker: { first: shared, second: shared } });
    const changes: string[] = [];
    registry.on('stateChange', ({ name, to }) => changes.push(`${name}:${to}`));
    await shared.protect(() => Promise.reject(new Error('x'))).catch(() => undefined);
    expect(changes).to.deep.equal(['first:open']);
    expect(registry.engines()).to.have.length(1);
  });

  it('relays an engine held under two names under the second once the first is given another entry', async () => {
    const shared = new CircuitBreaker({ failureThreshold: 1 });
    const registry = new ResilienceRegistry({ circuitBreaker: { first: shared, second: shared } });
    const changes: string[] = [];
    registry.on('stateChange', ({ name, to }) => changes.push(`${name}:${to}`));
    registry.configure({ circuitBreaker: { first: { failureThreshold: 1 } } });
    expect(registry.circuitBreaker('second')).to.equal(shared);
    await shared.protect(() => Promise.reject(new Error('x'))).catch(() => undefined);
    const first = registry.circuitBreaker('first');
    await first.protect(() => Promise.reject(new Error('y'))).catch(() => undefined);
    expect(changes).to.deep.equal(['second:open', 'first:open']);
  });

  it('lets go of the engines once closed: nothing is re-emitted, and the engines hold no listener of it', async () => {
    const payments = new CircuitBreaker({ failureThreshold: 1 }); // outlives the registry, as a module's would
    const registry = new ResilienceRegistry({ circuitBreaker: { payments, search: {} } });
    const search = registry.circuitBreaker('search');
    const heard: string[] = [];
    registry.on('*', (event) => heard.push(`${event.name} ${event.type}`));
    registry.close();
    expect(payments.events.has('stateChange')).to.equal(false);
    expect(search.events.has('stateChange')).to.equal(false);
    await payments.protect(() => Promise.reject(new Error('x'))).catch(() => undefined);
    expect(payments.state).to.equal(CircuitState.OPEN);
    expect(heard).to.deep.equal([]);
    expect(registry.circuitBreaker('payments')).to.equal(payments); // its policies still resolve
  });

  it('answers a name that is not a string, or a kind without names, with a ConfigError at every accessor', () => {
    const registry = new ResilienceRegistry({ circuitBreaker: { payments: {} } });
    const odd = [
      ...HOSTILE_VALUES,
      ...HOSTILE_FUNCTIONS,
      { label: 'a null-prototype object', value: Object.create(null) as object },
      { label: 'null', value: null },
      { label: 'a number', value: 42 },
    ];
    for (const { label, value } of odd) {
      const accessors: [string, () => unknown][] = [
        ['circuitBreaker', () => registry.circuitBreaker(value as never)],
        ['retry', () => registry.retry(value as never)],
        ['retryBudget', () => registry.retryBudget(value as never)],
        ['policy', () => registry.policy(value as never)],
        ['get name', () => registry.get('circuitBreaker', value as never)],
        ['get kind', () => registry.get(value as never, 'payments')],
      ];
      for (const [accessor, call] of accessors) {
        expect(call, `${accessor}(${label})`)
          .to.throw(ConfigError)
          .with.property('message')
          .that.matches(
            accessor === 'get kind'
              ? /^kind: expected a policy kind/
              : / is not configured: a policy name is a string; known: /,
          );
      }
    }
    expect(() => registry.get('nonsense' as never, 'payments')).to.throw(
      ConfigError,
      'kind: expected a policy kind with names (retry, hedge, circuitBreaker, rateLimiter, timeout, concurrency), got "nonsense"',
    );
  });

  it('keeps two registries isolated: the same name is two instances', () => {
    const a = new ResilienceRegistry({ circuitBreaker: { payments: {} } });
    const b = new ResilienceRegistry({ circuitBreaker: { payments: {} } });
    expect(a.circuitBreaker('payments')).not.to.equal(b.circuitBreaker('payments'));
  });

  it('lists configured names by kind', () => {
    const registry = new ResilienceRegistry({ retry: { defaults: {}, a: {}, b: {} } });
    expect(registry.names('retry')).to.deep.equal(['a', 'b']);
    expect(registry.has('retry', 'a')).to.equal(true);
    expect(registry.has('retry', 'defaults')).to.equal(false);
  });
});
