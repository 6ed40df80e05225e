import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { expect } from 'chai';
import sinon from 'sinon';
import { ConfigError, ResilienceRegistry } from '../../src/index.js';
import { ResilienceHealthIndicator, ResilienceModule } from '../../src/nestjs/index.js';
import { listen, rejectionOf, type RunningApp } from './support.js';
import { HOSTILE_VALUES } from '../support/hostile-values.js';

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly breakers: ResilienceHealthIndicator,
  ) {}

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.breakers.isHealthy('circuitBreakers')]);
  }

  @Get('github')
  @HealthCheck()
  github() {
    return this.health.check([() => this.breakers.isHealthy('github', { names: ['github'] })]);
  }
}

@Module({
  imports: [
    TerminusModule.forRoot({ logger: false }),
    ResilienceModule.forRoot({
      circuitBreaker: { payments: {}, github: {}, search: { failureRateThreshold: 50 } },
    }),
  ],
  controllers: [HealthController],
})
class HealthModule {}

const empty = { calls: 0, failedCalls: 0, slowCalls: 0, failureRate: 0, slowCallRate: 0 };

describe('nestjs: health indicator', () => {
  let running: RunningApp;
  beforeEach(async () => (running = await listen(HealthModule)));
  afterEach(() => running.app.close());

  const check = async (path: string) => {
    const response = await fetch(`${running.url}/health/${path}`);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('reports every named breaker as up while none is open', async () => {
    const { status, body } = await check('ready');
    expect(status).to.equal(200);
    expect(body).to.deep.include({
      status: 'ok',
      details: {
        circuitBreakers: {
          status: 'up',
          breakers: { payments: 'closed', github: 'closed', search: 'closed' },
          windows: { search: empty },
        },
      },
    });
  });

  it('reports down, and terminus answers 503, while a breaker is open', async () => {
    running.app.get(ResilienceRegistry).circuitBreaker('payments').isolate();
    const { status, body } = await check('ready');
    expect(status).to.equal(503);
    expect(body).to.deep.include({
      status: 'error',
      error: {
        circuitBreakers: {
          status: 'down',
          breakers: { payments: 'open', github: 'closed', search: 'closed' },
          windows: { search: empty },
        },
      },
    });
  });

  it("adds a rate-mode breaker's window figures, so a failing dependency shows before it trips", async () => {
    const search = running.app.get(ResilienceRegistry).circuitBreaker('search');
    await search.protect(async () => 'hit');
    await search.protect(() => Promise.reject(new Error('miss'))).catch(() => undefined);
    const { body } = await check('ready');
    const details = body.details as Record<string, { windows: Record<string, unknown> }>;
    expect(details.circuitBreakers.windows.search).to.deep.equal({
      calls: 2,
      failedCalls: 1,
      slowCalls: 0,
      failureRate: 50,
      slowCallRate: 0,
    });
  });

  it('reports only the breakers named in options.names', async () => {
    running.app.get(ResilienceRegistry).circuitBreaker('payments').isolate();
    const { status, body } = await check('github');
    expect(status).to.equal(200);
    expect(body.details).to.deep.equal({
      github: { status: 'up', breakers: { github: 'closed' } },
    });
  });

  it('changes no breaker by reporting it: an open breaker past its timeout reads half-open, unmoved', async () => {
    const clock = sinon.useFakeTimers({ toFake: ['Date'] });
    try {
      const registry = running.app.get(ResilienceRegistry);
      const payments = registry.circuitBreaker('payments');
      for (let i = 0; i < 5; i++)
        await payments.protect(() => Promise.reject(new Error('down'))).catch(() => undefined);
      const changes: unknown[] = [];
      registry.on('stateChange', (change) => changes.push(change));
      clock.tick(60_000);
      const indicator = running.app.get(ResilienceHealthIndicator);
      for (let i = 0; i < 2; i++) {
        const report = await indicator.isHealthy();
        expect(report.circuitBreakers.breakers.payments).to.equal('half_open');
      }
      expect(changes).to.deep.equal([]);
    } finally {
      clock.restore();
    }
  });

  it('rejects with a ConfigError naming the key or option that is not what it should be', async () => {
    const indicator = running.app.get(ResilienceHealthIndicator);
    const cases: [string, () => Promise<unknown>, RegExp][] = [
      ['null options', () => indicator.isHealthy('x', null as never), /^options: expected/],
      [
        'names as a string',
        () => indicator.isHealthy('x', { names: 'github' as never }),
        /^names: expected/,
      ],
      [
        'a misspelt option',
        () => indicator.isHealthy('x', { nmes: [] } as never),
        /^nmes: unknown option/,
      ],
      [
        'a key that is no string',
        () => indicator.isHealthy(42 as never),
        /^key: expected a string/,
      ],
    ];
    for (const { label, value } of HOSTILE_VALUES) {
      cases.push([`options: ${label}`, () => indicator.isHealthy('x', value as never), /./]);
      cases.push([`key: ${label}`, () => indicator.isHealthy(value as never), /./]);
      cases.push([
        `names: ${label}`,
        () => indicator.isHealthy('x', { names: value as never }),
        /./,
      ]);
    }
    for (const [label, call, message] of cases) {
      const error = await rejectionOf(call());
      expect(error, label).to.be.instanceOf(ConfigError);
      expect(error.message, label).to.match(message);
    }
  });

  it('rejects with a ConfigError for a name the registry does not know', async () => {
    const indicator = running.app.get(ResilienceHealthIndicator);
    const error = await rejectionOf(indicator.isHealthy('x', { names: ['paymnts'] }));
    expect(error).to.be.instanceOf(ConfigError);
    expect(error.message).to.equal(
      'circuitBreaker "paymnts" is not configured; known: payments, github, search',
    );
  });
});
