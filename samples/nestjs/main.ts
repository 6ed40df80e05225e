// A NestJS app whose service calls a flaky upstream: retries, an opening circuit, a fallback and a 503.
import 'reflect-metadata';
import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ResilienceRegistry } from 'dspu';
import { ResilienceModule } from 'dspu/nestjs';
import { QuoteService, UPSTREAM_URL, upstreamPolicies, type Quote } from './quote.service.js';
import { startUpstream } from './upstream.js';

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
        ...upstreamPolicies,
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
