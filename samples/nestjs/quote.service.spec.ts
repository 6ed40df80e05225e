// How a Nest team tests the service: Vitest (the Nest 12 template's runner), Test.createTestingModule, Vitest's
// fake timers, a mocked fetch.
// Run by the package check against the packed package (test/package/runners.test.ts).
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { BadGatewayException } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { CircuitBreakerError, ResilienceRegistry, TimeoutError } from 'dspu';
import { ResilienceModule } from 'dspu/nestjs';
import { resetResilience } from 'dspu/testing';
import { QuoteService, UPSTREAM_URL, upstreamPolicies } from './quote.service.js';

const answer = (status: number) =>
  Promise.resolve(new Response(JSON.stringify({ quote: 'fresh' }), { status }));

describe('QuoteService', () => {
  let moduleRef: TestingModule;
  let quotes: QuoteService;
  let fetchMock: MockInstance<typeof fetch>;

  beforeEach(async () => {
    vi.useFakeTimers();
    fetchMock = vi.spyOn(globalThis, 'fetch');
    moduleRef = await Test.createTestingModule({
      imports: [ResilienceModule.forRoot(upstreamPolicies)],
      providers: [QuoteService, { provide: UPSTREAM_URL, useValue: 'http://upstream.test/quote' }],
    }).compile();
    await moduleRef.init();
    quotes = moduleRef.get(QuoteService);
  });

  afterEach(async () => {
    resetResilience(moduleRef.get(ResilienceRegistry));
    await moduleRef.close();
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it('hides two failures of the upstream behind retries', async () => {
    fetchMock
      .mockImplementationOnce(() => answer(502))
      .mockImplementationOnce(() => answer(502))
      .mockImplementation(() => answer(200));
    const quote = quotes.live();
    await vi.advanceTimersByTimeAsync(50 + 100); // the two backoffs
    await expect(quote).resolves.toEqual({ quote: 'fresh' });
    expect(fetchMock).toHaveBeenCalledTimes(3);
  });

  it('opens the circuit after three failures, then fails fast until its 10 s are over', async () => {
    fetchMock.mockImplementation(() => answer(502));
    const failing = expect(quotes.live()).rejects.toBeInstanceOf(BadGatewayException);
    await vi.advanceTimersByTimeAsync(150);
    await failing;
    await expect(quotes.live()).rejects.toBeInstanceOf(CircuitBreakerError);
    expect(fetchMock).toHaveBeenCalledTimes(3);

    fetchMock.mockImplementation(() => answer(200));
    await vi.advanceTimersByTimeAsync(10_000);
    await expect(quotes.live()).resolves.toEqual({ quote: 'fresh' });
  });

  it('gives each try 1 s, aborting the request that is late', async () => {
    fetchMock.mockImplementation(
      (_url, init) =>
        new Promise((_resolve, reject) => {
          const signal = init!.signal!;
          signal.addEventListener('abort', () => reject(signal.reason as Error));
        }),
    );
    const late = expect(quotes.live()).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(3 * 1_000 + 150);
    await late;
    expect(fetchMock).toHaveBeenCalledTimes(3);
  });

  // The previous test left the circuit open: resetResilience() closed it, so this one reaches the upstream.
  it('serves the last good quote, marked stale, while the upstream is down', async () => {
    fetchMock.mockImplementationOnce(() => answer(200));
    await expect(quotes.quote()).resolves.toEqual({ quote: 'fresh' });
    fetchMock.mockImplementation(() => answer(502));
    const stale = quotes.quote();
    await vi.advanceTimersByTimeAsync(150);
    await expect(stale).resolves.toEqual({ quote: 'fresh', stale: true });
  });
});
