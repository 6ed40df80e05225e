// The sample's service: a quote from a flaky upstream, retried, behind a breaker, with a fallback.
import { BadGatewayException, Inject, Injectable } from '@nestjs/common';
import {
  CircuitBreaker,
  currentSignal,
  Fallback,
  Retry,
  Timeout,
  type ResilienceConfig,
} from 'dspu';

export interface Quote {
  quote: string;
  stale?: boolean;
}

export const UPSTREAM_URL = Symbol('UPSTREAM_URL');

@Injectable()
export class QuoteService {
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

/** The named policies the service uses: the application's module configures them, and so do its tests. */
export const upstreamPolicies = {
  retry: { upstream: { maxAttempts: 3, baseDelay: '50ms' } },
  circuitBreaker: { upstream: { failureThreshold: 3, timeout: '10s' } },
  timeout: { upstream: '1s' },
} satisfies ResilienceConfig;
