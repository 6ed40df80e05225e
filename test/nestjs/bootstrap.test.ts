import 'reflect-metadata';
import { Controller, Get, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { expect } from 'chai';
import {
  CircuitBreaker,
  ConfigError,
  EventEmitter,
  RateLimited,
  Retry,
  UsePolicy,
  type Next,
  type Policy,
  type ResilienceConfig,
} from '../../src/index.js';
import { ResilienceModule } from '../../src/nestjs/index.js';
import { listen, rejectionOf } from './support.js';

const known = {
  circuitBreaker: { payments: {}, github: {} },
  rateLimiter: { github: { rate: 10 } },
} satisfies ResilienceConfig;

@Injectable()
class UsersService {
  @CircuitBreaker('paymnts')
  async find(): Promise<string> {
    return 'ada';
  }

  @CircuitBreaker('payments')
  async list(): Promise<string[]> {
    return [];
  }
}

@Controller('repos')
class ReposController {
  @Get()
  @Retry('githib')
  @RateLimited('gthub')
  async list(): Promise<string[]> {
    return [];
  }
}

@Injectable()
@Retry('everywhere')
class AuditService {
  async write(): Promise<void> {}
}

describe('nestjs: bootstrap validation', () => {
  it('fails NestFactory’s bootstrap with the class, method and known names of an unknown name', async () => {
    @Module({ imports: [ResilienceModule.forRoot(known)], providers: [UsersService] })
    class AppModule {}
    const app = await NestFactory.create(AppModule, { logger: false, abortOnError: false });
    const error = await rejectionOf(app.listen(0, '127.0.0.1'));
    await app.close();
    expect(error).to.be.instanceOf(ConfigError);
    expect(error.message).to.equal(
      'UsersService.find uses circuitBreaker "paymnts"; known: payments, github',
    );
  });

  it('lists every problem of every provider and controller in one error', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ResilienceModule.forRoot(known)],
      providers: [UsersService, AuditService],
      controllers: [ReposController],
    }).compile();
    const error = await rejectionOf(moduleRef.init());
    await moduleRef.close();
    expect(error).to.be.instanceOf(ConfigError);
    expect([...(error as ConfigError).problems].sort()).to.deep.equal([
      'AuditService.write uses retry "everywhere"; known: (none); configure it in ' +
        'ResilienceModule.forRoot({ retry: { "everywhere": { ... } } })',
      'ReposController.list uses rateLimiter "gthub"; known: github',
      'ReposController.list uses retry "githib"; known: (none); configure it in ' +
        'ResilienceModule.forRoot({ retry: { "githib": { ... } } })',
      'UsersService.find uses circuitBreaker "paymnts"; known: payments, github',
    ]);
    expect(error.message).to.match(/^4 configuration problems:\n {2}/);
  });

  it('boots when every name is configured, and the methods work', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ResilienceModule.forRoot({
          ...known,
          circuitBreaker: { paymnts: {}, payments: {} },
          retry: { githib: {}, everywhere: {} },
          rateLimiter: { gthub: { rate: 10 } },
        }),
      ],
      providers: [UsersService, AuditService],
      controllers: [ReposController],
    }).compile();
    await moduleRef.init();
    expect(await moduleRef.get(UsersService).find()).to.equal('ada');
    expect(await moduleRef.get(ReposController).list()).to.deep.equal([]);
    await moduleRef.close();
  });

  it('fails the bootstrap for a policy of your own under an unknown name, naming the known ones', async () => {
    class Audit implements Policy {
      readonly kind = 'audit';
      readonly events = new EventEmitter();
      executeWith<I, T>(next: Next<I, T>, invocation: I): Promise<T> {
        return Promise.resolve(next(invocation));
      }
    }
    @Injectable()
    class LedgerService {
      @UsePolicy('audti')
      async post(): Promise<void> {}
    }
    @Module({
      imports: [ResilienceModule.forRoot({ policies: { audit: new Audit() } })],
      providers: [LedgerService],
    })
    class AppModule {}
    const booted = listen(AppModule).then(async ({ app }) => app.close());
    const error = await rejectionOf(booted);
    expect(error).to.be.instanceOf(ConfigError);
    expect(error.message).to.equal('LedgerService.post uses policy "audti"; known: audit');
  });

  it('labels each problem of an inline policy once with its class and method', async () => {
    @Injectable()
    class QuotesService {
      @Retry({ maxAttempts: 2, budget: 'upstrem' })
      async quote(): Promise<number> {
        return 1;
      }
    }
    const moduleRef = await Test.createTestingModule({
      imports: [ResilienceModule.forRoot({ retryBudget: { upstream: {} } })],
      providers: [QuotesService],
    }).compile();
    const error = await rejectionOf(moduleRef.init());
    await moduleRef.close();
    expect(error).to.be.instanceOf(ConfigError);
    expect(error.message).to.equal(
      'QuotesService.quote: budget: retryBudget "upstrem" is not configured; known: upstream',
    );
  });

  it('resolves names that exist only once the async factory has run', async () => {
    @Injectable()
    class LateService {
      @Retry('late')
      async run(): Promise<number> {
        return 1;
      }
    }
    const moduleRef = await Test.createTestingModule({
      imports: [ResilienceModule.forRootAsync({ useFactory: () => ({ retry: { late: {} } }) })],
      providers: [LateService],
    }).compile();
    await moduleRef.init();
    expect(await moduleRef.get(LateService).run()).to.equal(1);
    await moduleRef.close();
  });
});
