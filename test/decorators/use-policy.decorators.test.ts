// Compiled twice: with experimentalDecorators (build/test) and with TC39 standard decorators (build/tc39).
import { expect } from 'chai';
import {
  ConfigError,
  EventEmitter,
  Fallback,
  Invocation,
  ResilienceRegistry,
  Retry,
  UsePolicy,
  bindRegistry,
  getResiliencePolicies,
  type CallOptions,
  type Next,
  type Policy,
} from '../../src/index.js';
import { observe, useFakeClock } from '../support/fake-clock.js';

interface TraceEvents {
  call: { label: string };
}

/** A policy of one's own: records where it sits, then runs the rest of the call. */
class Trace implements Policy<TraceEvents> {
  readonly kind = 'trace';
  readonly events = new EventEmitter<TraceEvents>();

  constructor(
    private readonly label: string,
    private readonly log: string[],
  ) {}

  async executeWith<I, T>(next: Next<I, T>, invocation: I, _options?: CallOptions): Promise<T> {
    const args = invocation instanceof Invocation ? invocation.args.join(',') : '?';
    this.log.push(`${this.label}(${args})`);
    this.events.emit('call', { label: this.label });
    try {
      return await next(invocation);
    } finally {
      this.log.push(`/${this.label}`);
    }
  }
}

describe('decorators: policies of your own (@UsePolicy)', () => {
  const time = useFakeClock();

  it('runs a policy instance around the method, with its arguments and this', async () => {
    const log: string[] = [];
    class Svc {
      factor = 2;
      @UsePolicy(new Trace('trace', log))
      async double(n: number) {
        log.push('method');
        return n * this.factor;
      }
    }
    expect(await new Svc().double(21)).to.equal(42);
    expect(log).to.deep.equal(['trace(21)', 'method', '/trace']);
  });

  it('composes inside Fallback and outside Retry, the decorator written first outermost', async () => {
    const log: string[] = [];
    class Svc {
      @UsePolicy(new Trace('outer', log))
      @Retry({ maxAttempts: 2, baseDelay: 10 })
      @Fallback(() => 'fallback')
      @UsePolicy(new Trace('inner', log))
      async call() {
        log.push('try');
        throw new Error('down');
      }
    }
    expect(getResiliencePolicies(Svc, 'call').map((p) => p.kind)).to.deep.equal([
      'fallback',
      'custom',
      'custom',
      'retry',
    ]);
    const result = observe(new Svc().call());
    await time.clock.tickAsync(100);
    expect(result.value).to.equal('fallback');
    expect(log).to.deep.equal(['outer()', 'inner()', 'try', 'try', '/inner', '/outer']);
  });

  it('resolves a name from the registry, and relays the policy events under its own kind', async () => {
    const log: string[] = [];
    const registry = new ResilienceRegistry().configure({
      policies: { audit: new Trace('audit', log) },
    });
    const events: { kind: string; name: string; type: string }[] = [];
    registry.on('*', (event) =>
      events.push({ kind: event.kind, name: event.name, type: String(event.type) }),
    );
    class Svc {
      @UsePolicy('audit')
      async call() {
        return 'ok';
      }
    }
    expect(await bindRegistry(new Svc(), registry).call()).to.equal('ok');
    expect(log).to.deep.equal(['audit()', '/audit']);
    expect(registry.policy('audit')).to.be.instanceOf(Trace);
    expect(events).to.deep.equal([{ kind: 'trace', name: 'audit', type: 'call' }]);
  });

  it('fails the first call with a ConfigError for a name the registry does not know', async () => {
    class Svc {
      @UsePolicy('nope')
      async call() {
        return 'ok';
      }
    }
    const svc = bindRegistry(new Svc(), new ResilienceRegistry().configure({ policies: {} }));
    const error = await svc.call().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(ConfigError);
    expect((error as Error).message).to.match(/policies "nope" is not configured/);
  });

  it('refuses a registry entry under `policies` that is not a policy, naming its path', () => {
    expect(() => new ResilienceRegistry().configure({ policies: { audit: {} as never } })).to.throw(
      ConfigError,
      /^policies\.audit: expected a Policy/,
    );
  });
});
