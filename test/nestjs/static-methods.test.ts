import 'reflect-metadata';
import { Controller, Get, Injectable, Module, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { expect } from 'chai';
import {
  ConfigError,
  PolicyResetError,
  RateLimited,
  ResilienceRegistry,
  Retry,
  Timeout,
  registry,
} from '../../src/index.js';
import { ResilienceModule } from '../../src/nestjs/index.js';
import { resetResilience } from '../../src/testing/index.js';
import { listen, rejectionOf } from './support.js';

// A provider whose only dspu policies are on static methods: the explorer must still see it.
@Injectable()
class Reports {
  static tries = 0;

  @Retry('nightly')
  static async build(): Promise<string> {
    if (++Reports.tries < 3) throw new Error(`try ${Reports.tries} failed`);
    return `built after ${Reports.tries} tries`;
  }
}

@Controller('reports')
class ReportsController {
  @Get()
  async build(): Promise<string> {
    return Reports.build();
  }
}

@Injectable()
class Typo {
  @Retry('nightlly')
  static async run(): Promise<void> {}

  @Timeout('1s')
  async fine(): Promise<void> {}
}

@Controller('jobs')
class JobsController {
  @RateLimited('enqueue')
  static async enqueue(): Promise<string> {
    return 'queued';
  }
}

const nightly = { retry: { nightly: { maxAttempts: 3, baseDelay: 0 } } };

describe('nestjs: static methods of providers', () => {
  afterEach(() => {
    Reports.tries = 0;
  });

  it('resolves a provider’s static method in the application’s registry, over HTTP', async () => {
    @Module({
      imports: [ResilienceModule.forRoot(nightly)],
      controllers: [ReportsController],
      providers: [Reports],
    })
    class AppModule {}
    expect(registry.has('retry', 'nightly')).to.equal(false); // only the application knows the name
    const { app, url } = await listen(AppModule);
    try {
      const response = await fetch(`${url}/reports`);
      expect(await response.text()).to.equal('built after 3 tries');
      expect(response.status).to.equal(200);
    } finally {
      await app.close();
    }
  });

  it('fails the bootstrap when a static method names an unknown policy', async () => {
    @Module({ imports: [ResilienceModule.forRoot(nightly)], providers: [Typo] })
    class AppModule {}
    const booted = listen(AppModule).then(async ({ app }) => app.close());
    const error = await rejectionOf(booted);
    expect(error).to.be.instanceOf(ConfigError);
    expect(error.message).to.equal('Typo.run (static) uses retry "nightlly"; known: nightly');
  });

  it('leaves a controller’s static methods unbounded by http.maxWait: they handle no request', async () => {
    @Module({
      imports: [
        ResilienceModule.forRoot({ http: true, rateLimiter: { enqueue: { rate: 1, per: '1h' } } }),
      ],
      controllers: [JobsController],
    })
    class AppModule {}
    const { app } = await listen(AppModule);
    const policies = app.get(ResilienceRegistry);
    try {
      const seen: string[] = [];
      policies.on('throttled', () => seen.push('throttled'));
      policies.on('rejected', () => seen.push('rejected'));
      expect(await JobsController.enqueue()).to.equal('queued');
      const second = JobsController.enqueue().catch((error: unknown) => error);
      await new Promise((resolve) => setImmediate(resolve));
      expect(seen).to.deep.equal(['throttled']); // it waits for its token, as a provider's method does
      resetResilience(policies);
      expect(await second).to.be.instanceOf(PolicyResetError);
    } finally {
      await app.close();
    }
  });

  it('gives the class back to the default registry when the application closes', async () => {
    @Module({ imports: [ResilienceModule.forRoot(nightly)], providers: [Reports] })
    class AppModule {}
    const { app } = await listen(AppModule);
    await app.close();
    const error = await rejectionOf(Reports.build());
    expect(error).to.be.instanceOf(ConfigError);
    expect(error.message).to.match(/^retry "nightly" is not configured/);
  });

  it('warns when a second running application binds the same class for its static methods', async () => {
    const warnings: string[] = [];
    const logger: LoggerService = {
      log: () => undefined,
      error: () => undefined,
      warn: (message: unknown) => void warnings.push(String(message)),
    };
    @Module({ imports: [ResilienceModule.forRoot(nightly)], providers: [Reports] })
    class AppModule {}
    const first = await NestFactory.createApplicationContext(AppModule, { logger: false });
    const second = await NestFactory.createApplicationContext(AppModule, { logger });
    try {
      expect(warnings.join('\n')).to.match(
        /^Reports has static methods with policies and the class is already bound to the ResilienceRegistry of another running application/,
      );
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  it('gives the class to the next running application when the one that bound it closes', async () => {
    @Module({ imports: [ResilienceModule.forRoot(nightly)], providers: [Reports] })
    class AppModule {}
    const first = await NestFactory.createApplicationContext(AppModule, { logger: false });
    const second = await NestFactory.createApplicationContext(AppModule, { logger: false });
    try {
      await first.close();
      expect(await Reports.build()).to.equal('built after 3 tries'); // in the second one's registry
    } finally {
      await second.close();
    }
    expect(await rejectionOf(Reports.build())).to.be.instanceOf(ConfigError);
  });

  it('gives back what it bound when its bootstrap fails, so the next application binds it', async () => {
    @Module({ imports: [ResilienceModule.forRoot(nightly)], providers: [Typo, Reports] })
    class Broken {}
    await rejectionOf(
      NestFactory.createApplicationContext(Broken, { logger: false, abortOnError: false }),
    );
    @Module({ imports: [ResilienceModule.forRoot(nightly)], providers: [Reports] })
    class Good {}
    const app = await NestFactory.createApplicationContext(Good, { logger: false });
    try {
      expect(await Reports.build()).to.equal('built after 3 tries');
    } finally {
      await app.close();
    }
  });
});
