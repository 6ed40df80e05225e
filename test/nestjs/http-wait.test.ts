import 'reflect-metadata';
import { Controller, Get, Injectable, Module, type Type } from '@nestjs/common';
import { expect } from 'chai';
import {
  Concurrency,
  ConfigError,
  RateLimited,
  ResilienceRegistry,
  type ResilienceConfig,
} from '../../src/index.js';
import { ResilienceModule } from '../../src/nestjs/index.js';
import type { ResilienceStaticOptions } from '../../src/nestjs/index.js';
import { listen, type RunningApp } from './support.js';

// Each gated handler holds its permit until released, so another request finds the limit taken.
const held: Record<string, (() => void)[]> = {};
function gate(name: string): Promise<void> {
  return new Promise<void>((resolve) => (held[name] ??= []).push(resolve));
}
async function entered(name: string): Promise<void> {
  while ((held[name]?.length ?? 0) === 0) await new Promise((resolve) => setTimeout(resolve, 2));
}
function release(name: string): void {
  held[name]?.shift()?.();
}

@Injectable()
class QuotaService {
  @RateLimited('api')
  async take(): Promise<{ ok: true }> {
    return { ok: true };
  }
}

@Controller()
class WaitController {
  constructor(private readonly quota: QuotaService) {}

  @Get('limited')
  @RateLimited('api')
  async limited(): Promise<{ ok: true }> {
    return { ok: true };
  }

  @Get('limited-patient')
  @RateLimited('api', { maxWait: '5s' })
  async patient(): Promise<{ ok: true }> {
    return { ok: true };
  }

  @Get('through-service')
  async throughService(): Promise<{ ok: true }> {
    return this.quota.take();
  }

  @Get('busy')
  @Concurrency({ limit: 1 })
  async busy(): Promise<{ ok: true }> {
    await gate('busy');
    return { ok: true };
  }

  @Get('busy-patient')
  @Concurrency({ limit: 1, maxWait: '5s' })
  async busyPatient(): Promise<{ ok: true }> {
    await gate('busyPatient');
    return { ok: true };
  }
}

const policies = { rateLimiter: { api: { rate: 1, per: '200ms' } } } satisfies ResilienceConfig;

function appWith(http: ResilienceStaticOptions['http']): Type {
  @Module({
    imports: [ResilienceModule.forRoot({ ...policies, http })],
    controllers: [WaitController],
    providers: [QuotaService],
  })
  class WaitModule {}
  return WaitModule;
}

describe('nestjs: an HTTP request never waits without bound (http: true)', () => {
  let running: RunningApp;
  const get = (path: string) => fetch(`${running.url}${path}`);

  afterEach(async () => {
    for (const waiting of Object.values(held)) for (const open of waiting.splice(0)) open();
    await running.app.close();
  });

  describe('by default (maxWait 0)', () => {
    beforeEach(async () => {
      running = await listen(appWith(true));
    });

    it('answers 429 at once when a controller’s rate limit has no token, instead of queueing', async () => {
      expect((await get('/limited')).status).to.equal(200);
      const started = Date.now();
      const response = await get('/limited');
      expect(response.status).to.equal(429);
      expect(Date.now() - started).to.be.below(150);
      expect(await response.json()).to.include({ code: 'ERR_RATE_LIMITED' });
    });

    it('answers 503 at once when a controller’s concurrency limit is taken', async () => {
      const first = get('/busy');
      await entered('busy');
      const second = await get('/busy');
      expect(second.status).to.equal(503);
      expect(await second.json()).to.include({ code: 'ERR_CONCURRENCY_LIMIT' });
      release('busy');
      expect((await first).status).to.equal(200);
    });

    it('keeps the maxWait a decorator gives: @RateLimited(policy, { maxWait })', async () => {
      expect((await get('/limited-patient')).status).to.equal(200);
      expect((await get('/limited-patient')).status).to.equal(200); // waited ~200 ms for its token
    });

    it('keeps the maxWait of a concurrency limiter configured with one', async () => {
      const first = get('/busy-patient');
      await entered('busyPatient');
      const second = get('/busy-patient');
      await new Promise((resolve) => setTimeout(resolve, 20));
      release('busyPatient');
      expect((await first).status).to.equal(200);
      await entered('busyPatient');
      release('busyPatient');
      expect((await second).status).to.equal(200);
    });

    it('leaves the methods of providers unbounded: a service waits for its token', async () => {
      expect((await get('/through-service')).status).to.equal(200);
      expect((await get('/through-service')).status).to.equal(200);
    });
  });

  describe('with http: { maxWait }', () => {
    beforeEach(async () => {
      running = await listen(appWith({ maxWait: '1s' }));
    });

    it('lets a controller’s rate-limited request wait up to maxWait for its token', async () => {
      expect((await get('/limited')).status).to.equal(200);
      expect((await get('/limited')).status).to.equal(200);
    });

    it('lets a controller’s request queue for a permit up to maxWait', async () => {
      const first = get('/busy');
      await entered('busy');
      const second = get('/busy');
      await new Promise((resolve) => setTimeout(resolve, 20));
      release('busy');
      expect((await first).status).to.equal(200);
      await entered('busy');
      release('busy');
      expect((await second).status).to.equal(200);
    });
  });

  describe('with a short http: { maxWait }', () => {
    beforeEach(async () => {
      running = await listen(appWith({ maxWait: '30ms' }));
    });

    it('answers 503 once a queued request has waited maxWait for a permit', async () => {
      const first = get('/busy');
      await entered('busy');
      const second = await get('/busy');
      expect(second.status).to.equal(503);
      expect(((await second.json()) as { message: string }).message).to.match(/within 30 ms/);
      release('busy');
      expect((await first).status).to.equal(200);
    });

    it('answers 429 at once when the token would come later than maxWait', async () => {
      expect((await get('/limited')).status).to.equal(200);
      expect((await get('/limited')).status).to.equal(429);
    });
  });
});

describe('nestjs: http options', () => {
  it('rejects an http option that is neither a boolean nor { maxWait }', () => {
    expect(() => ResilienceModule.forRoot({ http: 'yes' as never })).to.throw(
      ConfigError,
      'ResilienceModule.forRoot.http: expected a boolean or { maxWait }',
    );
    expect(() => ResilienceModule.forRoot({ http: { maxWait: '1 minute' as never } })).to.throw(
      ConfigError,
    );
    expect(() => ResilienceModule.forRoot({ http: { max: 1 } as never })).to.throw(
      ConfigError,
      'ResilienceModule.forRoot.http.max: unknown option (known: maxWait)',
    );
  });

  it('names the option an unreadable module option fails on, never a TypeError', () => {
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    const throwing = Object.defineProperty({}, 'maxWait', {
      enumerable: true,
      get() {
        throw new Error('nope');
      },
    });
    const cases: [unknown, string][] = [
      [revoked.proxy, 'ResilienceModule.forRoot: expected an options object'],
      [{ http: revoked.proxy }, 'ResilienceModule.forRoot.http: expected an options object'],
      [{ http: throwing }, 'ResilienceModule.forRoot.http.maxWait: could not be read'],
      [{ http: { maxWait: 10n } }, 'ResilienceModule.forRoot.http.maxWait: expected a duration'],
      [{ global: Symbol('g') }, 'ResilienceModule.forRoot.global: expected a boolean'],
      [{ drainTimeout: throwing }, 'drainTimeout: expected a duration'],
    ];
    for (const [options, message] of cases)
      expect(() => ResilienceModule.forRoot(options as never)).to.throw(ConfigError, message);
    expect(() =>
      ResilienceModule.forRootAsync({ http: revoked.proxy, useFactory: () => ({}) }),
    ).to.throw(ConfigError, 'ResilienceModule.forRootAsync.http: expected an options object');
    const nullPrototype = Object.assign(Object.create(null) as object, { http: { maxWait: 5 } });
    expect(() => ResilienceModule.forRoot(nullPrototype)).not.to.throw();
  });

  it('gives the application a plain registry without http', async () => {
    const running = await listen(appWith(false));
    try {
      expect(running.app.get(ResilienceRegistry).constructor).to.equal(ResilienceRegistry);
    } finally {
      await running.app.close();
    }
  });
});
