import { ConcurrencyLimitError } from '../index.js';
import type { RedisLink } from './redis-link.js';
import { ACQUIRE, RELEASE, RENEW } from './semaphore-scripts.js';

/**
 * The permits of one shared limiter in Redis, taken and given back by id. The caller makes each id and uses it
 * once, so every command is safe to run late or twice: taking an id that was given back takes nothing, taking
 * one held already takes no second permit. A take given up on (its command timed out; a stalled Redis may
 * still run it, never again after its connection broke: command-connection.ts) is given back at once, so no
 * permit stays leased by nobody until its lease ends; when its connection broke after it ran, the permit is
 * given back once Redis answers again, or comes back when its lease ends, whichever is first.
 * @internal
 */
export class PermitLeases {
  private readonly keys: readonly string[];

  constructor(
    private readonly link: RedisLink,
    name: string,
    private readonly channel: string,
    private readonly leaseMs: number,
  ) {
    this.keys = [link.key(name, 'permits'), link.key(name, 'given-back')];
  }

  /** Takes permit `id` if fewer than `limit` are held: resolves 0, else the ms until the earliest lease ends. */
  take(id: string, limit: number): Promise<number> {
    return this.link.run(ACQUIRE, this.keys, [this.leaseMs, limit, id]).then(
      (reply) => {
        this.link.succeeded();
        const [granted, wait] = reply as [number, number];
        return granted === 1 ? 0 : Math.max(1, wait);
      },
      (error: unknown) => {
        // Redis may still run the ACQUIRE (it was stalled, not gone): make sure it takes nothing then.
        void this.link.insist(RELEASE, this.keys, [this.leaseMs, id, this.channel], this.leaseMs);
        throw this.link.failed(error);
      },
    );
  }

  /**
   * Gives permit `id` back. A release that fails is reported as an event and sent again until Redis answers
   * (it is safe to repeat), so the permit does not wait for its lease to end.
   */
  giveBack(id: string): Promise<void> {
    const args = [this.leaseMs, id, this.channel];
    return this.link.run(RELEASE, this.keys, args).then(
      () => this.link.succeeded(),
      (error: unknown) => {
        this.link.failed(error);
        void this.link.insist(RELEASE, this.keys, args, this.leaseMs);
      },
    );
  }

  /** Extends the leases of `ids`; a lease found lost is reported as an event. */
  renew(ids: readonly string[]): void {
    this.link.run(RENEW, this.keys, [this.leaseMs, ...ids]).then(
      (lost) => {
        this.link.succeeded();
        if ((lost as number) > 0)
          this.link.warn(
            new ConcurrencyLimitError(
              `${String(lost)} permit lease(s) ran out before renewal: the limit may have been exceeded`,
            ),
          );
      },
      (error: unknown) => void this.link.failed(error),
    );
  }
}
