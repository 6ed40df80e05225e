import type { ConcurrencyLimiterOptions, Permit } from '../index.js';

const REDIS_KEYS = ['commandTimeout', 'onStoreError', 'retryInterval', 'prefix', 'lease'];

/** Separates the limiter's own options from the Redis ones. @internal */
export function splitOptions(options: object): [ConcurrencyLimiterOptions, object] {
  const limiter: Record<string, unknown> = {};
  const redis: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options))
    (REDIS_KEYS.includes(key) ? redis : limiter)[key] = value;
  return [limiter as unknown as ConcurrencyLimiterOptions, redis];
}

/** A permit of a `RedisConcurrencyLimiter`: its lease ends with `release()`. @internal */
export class LeasedPermit implements Permit {
  private held = true;

  constructor(private readonly giveBack: () => Promise<void>) {}

  release(): void {
    if (!this.held) return;
    this.held = false;
    void this.giveBack();
  }

  [Symbol.dispose](): void {
    this.release();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.held) return;
    this.held = false;
    await this.giveBack();
  }
}

/** @internal */
export function toError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}
