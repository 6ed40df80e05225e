import 'reflect-metadata';
import { Controller, Get, Injectable, Module, Query, UseFilters } from '@nestjs/common';
import { expect } from 'chai';
import {
  CircuitBreaker,
  Concurrency,
  currentSignal,
  RateLimited,
  ResilienceRegistry,
  Retry,
  type ResilienceConfig,
  Timeout,
} from '../../src/index.js';
import { ResilienceExceptionFilter, ResilienceModule } from '../../src/nestjs/index.js';
import { listen, type RunningApp } from './support.js';

@Injectable()
class UpstreamService {
  calls = 0;

  @CircuitBreaker('upstream')
  async fetchQuote(): Promise<string> {
    this.calls++;
    throw new Error('upstream is down');
  }
}

let releaseBusy: () => void = () => undefined;
let enteredBusy: () => void = () => undefined;

@Controller()
class ApiController {
  flakyCalls = 0;

  constructor(private readonly upstream: UpstreamService) {}

  @Get('above')
  @Retry('quick')
  async above(): Promise<{ route: string; calls: number }> {
    if (++this.flakyCalls % 2 === 1) throw new Error('first try fails');
    return { route: 'above', calls: this.flakyCalls };
  }

  @Retry('quick')
  @Get('below')
  @Timeout('1s')
  async below(@Query('name') name: string): Promise<{ route: string; name: string }> {
    return { route: 'below', name };
  }

  @Get('upstream')
  async quote(): Promise<string> {
    return this.upstream.fetchQuote();
  }

  @Get('limited')
  @RateLimited('api', { maxWait: 0 })
  async limited(): Promise<{ ok: true }> {
    return { ok: true };
  }

  @Get('slow')
  @Timeout('20ms')
  async slow(): Promise<never> {
    const signal = currentSignal();
    return new Promise((_, reject) =>
      signal.addEventListener('abort', () => reject(signal.reason as Error)),
    );
  }

  @Get('busy')
  @Concurrency({ limit: 1, maxQueue: 0 })
  async busy(): Promise<{ ok: true }> {
    await new Promise<void>((resolve) => {
      releaseBusy = resolve;
      enteredBusy();
    });
    return { ok: true };
  }

  @Get('plain-error')
  async plainError(): Promise<never> {
    throw new Error('not a dspu error');
  }
}

const policies = {
  retry: { quick: { maxAttempts: 3, baseDelay: 0 } },
  circuitBreaker: { upstream: { failureThreshold: 2, timeout: '30s' } },
  rateLimiter: { api: { rate: 1, per: '1m' } },
} satisfies ResilienceConfig;

@Module({
  imports: [ResilienceModule.forRoot({ ...policies, http: true })],
  controllers: [ApiController],
  providers: [UpstreamService],
})
class HttpAppModule {}

describe('nestjs: HTTP', () => {
  let running: RunningApp;

  beforeEach(async () => {
    running = await listen(HttpAppModule);
  });

  afterEach(async () => {
    releaseBusy();
    await running.app.close();
  });

  const get = (path: string) => fetch(`${running.url}${path}`);

  it('serves a route whose @Get sits above our decorators, retrying its failed first try', async () => {
    const response = await get('/above');
    expect(response.status).to.equal(200);
    expect(await response.json()).to.deep.equal({ route: 'above', calls: 2 });
  });

  it('serves a route whose @Get sits between our decorators, with its parameters', async () => {
    const response = await get('/below?name=ada');
    expect(response.status).to.equal(200);
    expect(await response.json()).to.deep.equal({ route: 'below', name: 'ada' });
  });

  it('answers 503 with Retry-After in seconds once the circuit is open', async () => {
    expect((await get('/upstream')).status).to.equal(500);
    expect((await get('/upstream')).status).to.equal(500);
    const response = await get('/upstream');
    expect(response.status).to.equal(503);
    expect(response.headers.get('retry-after')).to.equal('30');
    expect(await response.json()).to.include({ statusCode: 503, code: 'ERR_CIRCUIT_OPEN' });
    expect(running.app.get(UpstreamService).calls).to.equal(2);
  });

  it('answers 429 with Retry-After when the rate limit is exhausted', async () => {
    expect((await get('/limited')).status).to.equal(200);
    const response = await get('/limited');
    expect(response.status).to.equal(429);
    expect(response.headers.get('retry-after')).to.equal('60');
    expect(await response.json()).to.include({ statusCode: 429, code: 'ERR_RATE_LIMITED' });
  });

  it('answers 504 when a method times out', async () => {
    const response = await get('/slow');
    expect(response.status).to.equal(504);
    expect(response.headers.get('retry-after')).to.equal(null);
    expect(await response.json()).to.include({ statusCode: 504, code: 'ERR_TIMEOUT' });
  });

  it('answers 503 without Retry-After when the concurrency limit rejects', async () => {
    const entered = new Promise<void>((resolve) => (enteredBusy = resolve));
    const first = get('/busy');
    await entered;
    const second = await get('/busy');
    expect(second.status).to.equal(503);
    expect(second.headers.get('retry-after')).to.equal(null);
    expect(await second.json()).to.include({ code: 'ERR_CONCURRENCY_LIMIT' });
    releaseBusy();
    expect((await first).status).to.equal(200);
  });

  it('leaves other errors to NestJS (500)', async () => {
    const response = await get('/plain-error');
    expect(response.status).to.equal(500);
    expect(await response.json()).to.deep.equal({
      statusCode: 500,
      message: 'Internal server error',
    });
  });

  it('resolves the controller’s names in the module’s registry', () => {
    const registry = running.app.get(ResilienceRegistry);
    expect(registry.names('rateLimiter')).to.deep.equal(['api']);
  });
});

describe('nestjs: HTTP mapping is opt-in', () => {
  @Controller()
  class BareController {
    @Get('limited')
    @RateLimited({ rate: 1, per: '1m' }, { maxWait: 0 })
    async limited(): Promise<string> {
      return 'ok';
    }
  }

  @Controller()
  @UseFilters(ResilienceExceptionFilter)
  class FilteredController {
    @Get('filtered')
    @RateLimited({ rate: 1, per: '1m' }, { maxWait: 0 })
    async filtered(): Promise<string> {
      return 'ok';
    }
  }

  @Module({
    imports: [ResilienceModule.forRoot()],
    controllers: [BareController, FilteredController],
  })
  class OptInModule {}

  let running: RunningApp;
  beforeEach(async () => (running = await listen(OptInModule)));
  afterEach(() => running.app.close());

  it('leaves dspu errors to NestJS (500) without http: true', async () => {
    await fetch(`${running.url}/limited`);
    expect((await fetch(`${running.url}/limited`)).status).to.equal(500);
  });

  it('maps them where the exported filter is applied with @UseFilters', async () => {
    await fetch(`${running.url}/filtered`);
    const response = await fetch(`${running.url}/filtered`);
    expect(response.status).to.equal(429);
    expect(response.headers.get('retry-after')).to.equal('60');
  });
});
