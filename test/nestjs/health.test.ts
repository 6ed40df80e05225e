import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { expect } from 'chai';
import { ConfigError, ResilienceRegistry } from '../../src/index.js';
import { ResilienceHealthIndicator, ResilienceModule } from '../../src/nestjs/index.js';
import { listen, rejectionOf, type RunningApp } from './support.js';

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
    ResilienceModule.forRoot({ circuitBreaker: { payments: {}, github: {} } }),
  ],
  controllers: [HealthController],
})
class HealthModule {}

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
        circuitBreakers: { status: 'up', breakers: { payments: 'closed', github: 'closed' } },
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
        circuitBreakers: { status: 'down', breakers: { payments: 'open', github: 'closed' } },
      },
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

  it('rejects with a ConfigError for a name the registry does not know', async () => {
    const indicator = running.app.get(ResilienceHealthIndicator);
    const error = await rejectionOf(indicator.isHealthy('x', { names: ['paymnts'] }));
    expect(error).to.be.instanceOf(ConfigError);
    expect(error.message).to.equal(
      'circuitBreaker "paymnts" is not configured; known: payments, github',
    );
  });
});
