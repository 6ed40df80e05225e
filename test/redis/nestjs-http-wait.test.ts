import 'reflect-metadata';
import { Controller, Get, Module, type Type } from '@nestjs/common';
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import { Concurrency } from '../../src/index.js';
import { ResilienceModule, type ResilienceStaticOptions } from '../../src/nestjs/index.js';
import { RedisConcurrencyLimiter, withRedisStores } from '../../src/redis/index.js';
import { listen, type RunningApp } from '../nestjs/support.js';
import { RedisServer } from './redis-server.js';

/*
 * A controller's concurrency limit shared by a fleet: the permits are taken in other processes, so this one
 * holds none and queues nobody, and only Redis knows the limit is reached. The request must still get its
 * bounded wait (503), not a wait for as long as the other processes hold their permits.
 */
describe('nestjs + dspu/redis: an HTTP request never waits without bound for a fleet-wide permit', function () {
  this.timeout(20_000);
  let server: RedisServer;
  let client: Redis;
  let other: Redis;
  let running: RunningApp | undefined;
  let elsewhere: RedisConcurrencyLimiter | undefined;

  @Controller()
  class ReportsController {
    @Get('report')
    @Concurrency('reports')
    async report(): Promise<{ ok: true }> {
      return { ok: true };
    }
  }

  function appWith(http: ResilienceStaticOptions['http']): Type {
    @Module({
      imports: [
        ResilienceModule.forRoot({
          ...withRedisStores(client, { concurrency: { reports: { limit: 1, store: 'redis' } } }),
          http,
        }),
      ],
      controllers: [ReportsController],
    })
    class ReportsModule {}
    return ReportsModule;
  }

  before(async () => {
    server = await RedisServer.start();
    client = server.client();
    other = server.client();
  });

  afterEach(async () => {
    await running?.app.close();
    await elsewhere?.close();
    running = elsewhere = undefined;
  });

  after(async () => {
    client.disconnect();
    other.disconnect();
    await server.stop();
  });

  async function permitHeldElsewhere(): Promise<() => void> {
    elsewhere = new RedisConcurrencyLimiter(other, 'reports', { limit: 1 });
    const permit = await elsewhere.acquire();
    return () => permit.release();
  }

  it('answers 503 at once with http: true', async () => {
    running = await listen(appWith(true));
    expect((await fetch(`${running.url}/report`)).status).to.equal(200);
    const release = await permitHeldElsewhere();
    const started = Date.now();
    const response = await fetch(`${running.url}/report`);
    expect(response.status).to.equal(503);
    expect(Date.now() - started).to.be.below(1_000);
    release();
  });

  it('answers 503 after http.maxWait', async () => {
    running = await listen(appWith({ maxWait: '100ms' }));
    const release = await permitHeldElsewhere();
    const started = Date.now();
    const response = await fetch(`${running.url}/report`);
    expect(response.status).to.equal(503);
    expect(((await response.json()) as { message: string }).message).to.match(/within 100 ms/);
    expect(Date.now() - started).to.be.within(90, 2_000);
    release();
  });

  it('serves the request when the permit comes back within http.maxWait', async () => {
    running = await listen(appWith({ maxWait: '5s' }));
    const release = await permitHeldElsewhere();
    const answer = fetch(`${running.url}/report`);
    setTimeout(release, 50);
    expect((await answer).status).to.equal(200);
  });
});
