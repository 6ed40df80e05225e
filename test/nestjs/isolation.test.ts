import 'reflect-metadata';
import {
  Controller,
  Get,
  Injectable,
  Module,
  Scope,
  type DynamicModule,
  type LoggerService,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { expect } from 'chai';
import {
  CircuitBreaker,
  CircuitBreakerError,
  CircuitState,
  ConfigError,
  ResilienceRegistry,
  Retry,
} from '../../src/index.js';
import { ResilienceModule } from '../../src/nestjs/index.js';
import { listen, rejectionOf } from './support.js';

@Injectable()
class InventoryService {
  attempts = 0;

  @Retry('stock')
  @CircuitBreaker('stock')
  async count(): Promise<number> {
    this.attempts++;
    throw new Error('warehouse offline');
  }
}

function appModule(maxAttempts: number): DynamicModule {
  @Module({
    imports: [
      ResilienceModule.forRoot({
        retry: { stock: { maxAttempts, baseDelay: 0 } },
        circuitBreaker: { stock: { failureThreshold: 3, timeout: '1m' } },
      }),
    ],
    providers: [InventoryService],
  })
  class AppModule {}
  return { module: AppModule };
}

@Injectable({ scope: Scope.REQUEST })
class RequestScopedService {
  tries = 0;

  @Retry('perRequest')
  async greet(): Promise<string> {
    if (++this.tries === 1) throw new Error('first try fails');
    return `hello after ${this.tries} tries`;
  }
}

@Controller()
class GreetingController {
  constructor(private readonly service: RequestScopedService) {}

  @Get('greet')
  async greet(): Promise<string> {
    return this.service.greet();
  }
}

@Injectable({ scope: Scope.TRANSIENT })
class TransientHelper {
  @Retry('perRequest')
  async ping(): Promise<string> {
    return 'pong';
  }
}

@Injectable()
class HelperUser {
  constructor(readonly helper: TransientHelper) {}
}

const perRequest = { retry: { perRequest: { maxAttempts: 2, baseDelay: 0 } } };

describe('nestjs: isolation and scopes', () => {
  it('gives two applications in one process their own registries and engines', async () => {
    const first = await Test.createTestingModule({ imports: [appModule(2)] }).compile();
    const second = await Test.createTestingModule({ imports: [appModule(4)] }).compile();
    await Promise.all([first.init(), second.init()]);
    try {
      expect(first.get(ResilienceRegistry)).not.to.equal(second.get(ResilienceRegistry));
      const a = first.get(InventoryService);
      const b = second.get(InventoryService);

      expect(await rejectionOf(a.count())).to.have.property('message', 'warehouse offline');
      expect(a.attempts).to.equal(2);
      expect(await rejectionOf(a.count())).to.be.instanceOf(CircuitBreakerError);
      expect(first.get(ResilienceRegistry).circuitBreaker('stock').state).to.equal(
        CircuitState.OPEN,
      );

      // The second application's circuit was closed: three tries reach the method before it opens too.
      expect(await rejectionOf(b.count())).to.be.instanceOf(CircuitBreakerError);
      expect(b.attempts).to.equal(3);
      expect(second.get(ResilienceRegistry).circuitBreaker('stock').state).to.equal(
        CircuitState.OPEN,
      );
      expect(a.attempts, 'the first application’s circuit stayed as it was').to.equal(3);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  it('binds request-scoped providers, so each request resolves the module’s policies', async () => {
    @Module({
      imports: [ResilienceModule.forRoot(perRequest)],
      controllers: [GreetingController],
      providers: [RequestScopedService],
    })
    class RequestModule {}
    const { app, url } = await listen(RequestModule);
    try {
      for (let i = 0; i < 2; i++) {
        const response = await fetch(`${url}/greet`);
        expect(response.status).to.equal(200);
        expect(await response.text()).to.equal('hello after 2 tries');
      }
    } finally {
      await app.close();
    }
  });

  it('fails the bootstrap for an unknown name on a request-scoped provider', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ResilienceModule.forRoot()],
      providers: [RequestScopedService],
    }).compile();
    const error = await rejectionOf(moduleRef.init());
    await moduleRef.close();
    expect(error).to.be.instanceOf(ConfigError);
    expect(error.message).to.equal(
      'RequestScopedService.greet uses retry "perRequest"; known: (none); configure it in ' +
        'ResilienceModule.forRoot({ retry: { "perRequest": { ... } } })',
    );
  });

  it('gives a request-scoped class back to the default registry when the application closes', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ResilienceModule.forRoot(perRequest)],
      providers: [RequestScopedService],
    }).compile();
    await moduleRef.init();
    await moduleRef.close();
    const error = await rejectionOf(new RequestScopedService().greet());
    expect(error).to.be.instanceOf(ConfigError);
    expect(error.message).to.match(/^retry "perRequest" is not configured/);
  });

  it('warns when a second running application binds the same request-scoped class', async () => {
    const warnings: string[] = [];
    const logger: LoggerService = {
      log: () => undefined,
      error: () => undefined,
      warn: (message: unknown) => void warnings.push(String(message)),
    };
    @Module({
      imports: [ResilienceModule.forRoot(perRequest)],
      providers: [RequestScopedService],
    })
    class RequestModule {}
    const first = await NestFactory.createApplicationContext(RequestModule, { logger: false });
    const second = await NestFactory.createApplicationContext(RequestModule, { logger });
    try {
      expect(warnings.join('\n')).to.match(
        /^RequestScopedService is request-scoped and its class is already bound to the ResilienceRegistry of another running application/,
      );
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  it('binds a frozen singleton through its class, so it boots and resolves the module’s policies', async () => {
    @Injectable()
    class FrozenService {
      constructor() {
        Object.freeze(this);
      }

      @Retry('perRequest')
      async greet(): Promise<string> {
        throw new Error('always fails');
      }
    }
    @Controller()
    class FrozenController {
      constructor(private readonly service: FrozenService) {}

      @Get('frozen')
      async greet(): Promise<string> {
        return this.service.greet().catch((error: Error) => `${error.message} after the retries`);
      }
    }
    @Module({
      imports: [ResilienceModule.forRoot(perRequest)],
      controllers: [FrozenController],
      providers: [FrozenService],
    })
    class FrozenModule {}
    const { app, url } = await listen(FrozenModule);
    try {
      const response = await fetch(`${url}/frozen`);
      expect(await response.text()).to.equal('always fails after the retries');
      expect(
        app
          .get(ResilienceRegistry)
          .engines()
          .map(({ name }) => name),
      ).to.include('perRequest');
    } finally {
      await app.close();
    }
  });

  it('binds transient providers', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ResilienceModule.forRoot(perRequest)],
      providers: [TransientHelper, HelperUser],
    }).compile();
    await moduleRef.init();
    try {
      expect(await moduleRef.get(HelperUser).helper.ping()).to.equal('pong');
    } finally {
      await moduleRef.close();
    }
  });
});
