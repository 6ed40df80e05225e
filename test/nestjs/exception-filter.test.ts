import 'reflect-metadata';
import { Controller, Get, Module, type ArgumentsHost } from '@nestjs/common';
import { expect } from 'chai';
import { firstValueFrom, isObservable } from 'rxjs';
import {
  CircuitBreaker,
  CircuitBreakerError,
  ConcurrencyLimitError,
  ConfigError,
  RateLimitExceededError,
  RateLimited,
  TimeoutError,
} from '../../src/index.js';
import {
  ResilienceExceptionFilter,
  ResilienceModule,
  toHttpResponse,
} from '../../src/nestjs/index.js';
import { listen, rejectionOf, type RunningApp } from './support.js';

describe('nestjs: toHttpResponse', () => {
  it('rounds an open circuit’s retryAfter up to whole seconds', () => {
    expect(toHttpResponse(new CircuitBreakerError('open', 1))).to.deep.include({
      status: 503,
      retryAfter: 1,
    });
    expect(toHttpResponse(new CircuitBreakerError('half_open', 0))).to.deep.include({
      status: 503,
      retryAfter: 0,
    });
  });

  it('answers an isolated circuit with 503 and no Retry-After: it stays open until reset()', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1 });
    breaker.isolate();
    const error = await breaker.protect(async () => 1).catch((rejected: unknown) => rejected);
    expect(error).to.be.instanceOf(CircuitBreakerError).with.property('isolated', true);
    const answer = toHttpResponse(error)!;
    expect(answer.status).to.equal(503);
    expect(answer).not.to.have.property('retryAfter');
  });

  it('maps a rate limit to 429 with Retry-After', () => {
    expect(toHttpResponse(new RateLimitExceededError(1_500))).to.deep.include({
      status: 429,
      retryAfter: 2,
    });
  });

  it('maps a timeout to 504 and a concurrency limit to 503, neither with Retry-After', () => {
    const timeout = toHttpResponse(new TimeoutError(100));
    const busy = toHttpResponse(new ConcurrencyLimitError('queue full'));
    expect(timeout).to.deep.equal({
      status: 504,
      body: {
        statusCode: 504,
        message: 'Operation timed out after 100 ms',
        error: 'Gateway Timeout',
        code: 'ERR_TIMEOUT',
      },
    });
    expect(busy?.status).to.equal(503);
    expect(busy).not.to.have.property('retryAfter');
  });

  it('returns undefined for any other error', () => {
    expect(toHttpResponse(new Error('plain'))).to.equal(undefined);
    expect(toHttpResponse(new ConfigError('x: expected y, got z'))).to.equal(undefined);
  });
});

describe('nestjs: ResilienceExceptionFilter', () => {
  @Controller()
  class LimitedController {
    @Get('limited')
    @RateLimited({ rate: 1, per: '1m' }, { maxWait: 0 })
    async limited(): Promise<string> {
      return 'ok';
    }
  }

  const twice = async ({ url }: RunningApp) => {
    await fetch(`${url}/limited`);
    return fetch(`${url}/limited`);
  };

  it('answers without an HTTP adapter when created with new and no arguments', async () => {
    @Module({ imports: [ResilienceModule.forRoot()], controllers: [LimitedController] })
    class PlainModule {}
    const running = await listen(PlainModule, (app) =>
      app.useGlobalFilters(new ResilienceExceptionFilter()),
    );
    try {
      const response = await twice(running);
      expect(response.status).to.equal(429);
      expect(response.headers.get('retry-after')).to.equal('60');
      expect(response.headers.get('content-type')).to.match(/^application\/json/);
      expect(await response.json()).to.include({ statusCode: 429, code: 'ERR_RATE_LIMITED' });
    } finally {
      await running.app.close();
    }
  });

  it('is registered globally by forRootAsync({ http: true })', async () => {
    @Module({
      imports: [ResilienceModule.forRootAsync({ http: true, useFactory: () => ({}) })],
      controllers: [LimitedController],
    })
    class AsyncHttpModule {}
    const running = await listen(AsyncHttpModule);
    try {
      expect((await twice(running)).status).to.equal(429);
    } finally {
      await running.app.close();
    }
  });

  it('hands the error on as an errored observable outside HTTP', async () => {
    const host = { getType: () => 'rpc' } as unknown as ArgumentsHost;
    const error = new CircuitBreakerError('open', 1_000);
    const result = new ResilienceExceptionFilter().catch(error, host);
    expect(isObservable(result)).to.equal(true);
    expect(await rejectionOf(firstValueFrom(result!))).to.equal(error);
  });
});
