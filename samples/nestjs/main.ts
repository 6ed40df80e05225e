// A NestJS app whose service calls a flaky upstream: retries, an opening circuit, a fallback and a 503.
import 'reflect-metadata';
import {
  BadGatewayException,
  Controller,
  Get,
  Inject,
  Injectable,
  Module,
  type INestApplication,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CircuitBreaker, currentSignal, Fallback, ResilienceRegistry, Retry, Timeout } from 'dspu';
import { ResilienceModule } from 'dspu/nestjs';
import { startUpstream } from './upstream.js';

interface Quote {
  quote: string;
  stale?: boolean;
}

const UPSTREAM_URL = Symbol('UPSTREAM_URL');

@Injectable()
class QuoteService {
  private lastGood: Quote | undefined;

  constructor(@Inject(UPSTREAM_URL) private readonly url: string) {}

  /** Straight from the upstream: retried, behind a circuit breaker, each try with its own deadline. */
  @Retry('upstream')
  @CircuitBreaker('upstream')
  @Timeout('upstream')
  async live(): Promise<Quote> {
    const response = await fetch(this.url, { signal: currentSignal() });
    if (!response.ok) throw new BadGatewayException(`upstream answered ${response.status}`);
    this.lastGood = (await response.json()) as Quote;
    return this.lastGood;
  }

  /** The same, but degrades to the last good quote instead of failing. */
  @Fallback('cached')
  async quote(): Promise<Quote> {
    return this.live();
  }

  cached(error: unknown): Quote {
    if (!this.lastGood) throw error;
    return { ...this.lastGood, stale: true };
  }
}

@Controller('quote')
class QuoteController {
  constructor(private readonly quotes: QuoteService) {}

  @Get()
  quote(): Promise<Quote> {
    return this.quotes.quote();
  }

  @Get('live')
  live(): Promise<Quote> {
    return this.quotes.live();
  }
}

function appModule(upstreamUrl: string) {
  @Module({
    imports: [
      ResilienceModule.forRoot({
        // CircuitBreakerError → 503 with Retry-After, RateLimitExceededError → 429, …; a request waits at
        // most maxWait in a controller's rate or concurrency limit (0: it never queues).
        http: { maxWait: 0 },
        retry: { upstream: { maxAttempts: 3, baseDelay: '50ms' } },
        circuitBreaker: { upstream: { failureThreshold: 3, timeout: '10s' } },
        timeout: { upstream: '1s' },
      }),
    ],
    controllers: [QuoteController],
    providers: [QuoteService, { provide: UPSTREAM_URL, useValue: upstreamUrl }],
  })
  class AppModule {}
  return AppModule;
}

const upstream = await startUpstream();
const app: INestApplication = await NestFactory.create(appModule(upstream.url), { logger: false });
await app.listen(0, '127.0.0.1');
const { port } = (app.getHttpServer() as Server).address() as AddressInfo;

const registry = app.get(ResilienceRegistry);
registry.on('retry', ({ name, attempt, error }) =>
  console.log(`  [${name}] try ${attempt} failed (${(error as Error).message}); retrying`),
);
registry.on('stateChange', ({ name, from, to }) =>
  console.log(`  [${name}] circuit ${from} -> ${to}`),
);

async function get(path: string): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  const retryAfter = response.headers.get('retry-after');
  const body = await response.text();
  console.log(
    `GET ${path} -> ${response.status}${retryAfter ? ` (Retry-After: ${retryAfter})` : ''} ${body}`,
  );
}

console.log('1. The upstream fails twice, then recovers: the retries hide it.');
upstream.fail(2);
await get('/quote/live');

console.log('2. The upstream goes down: three failures open the circuit.');
upstream.fail(Infinity);
await get('/quote/live');

console.log('3. While the circuit is open, no request reaches the upstream.');
const before = upstream.requests();
await get('/quote/live');
await get('/quote');
console.log(`upstream requests while open: ${upstream.requests() - before}`);

await app.close();
await upstream.close();
console.log('closed');
