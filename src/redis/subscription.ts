import type { RedisClient } from './redis-link.js';
import { duplicateWhileClientLives } from './client-gone.js';

/**
 * The option `withRedisStores` sets so that an engine opens its subscriber on first use rather than when it is
 * built: a configuration validated or replaced without being used then holds no connection. A symbol, so it is
 * not an option anyone types and option validation never sees it.
 * @internal
 */
export const SUBSCRIBE_ON_FIRST_USE = Symbol('dspu.subscribeOnFirstUse');

// Read like any option: own property only, and an object that cannot be read (checked by then) has no such mark.
function subscribesOnFirstUse(options: object | undefined): boolean {
  try {
    return options !== undefined && Object.hasOwn(options, SUBSCRIBE_ON_FIRST_USE);
  } catch {
    return false;
  }
}

// One 'end' listener per client however many subscriptions it feeds: one each would trip Node's leak warning.
const byClient = new WeakMap<RedisClient, Set<Subscription>>();

/**
 * The connection on which a shared breaker or limiter hears other processes: a duplicate of its client,
 * subscribed to one channel. It opens when built (or, when the engine's options carry
 * {@link SUBSCRIBE_ON_FIRST_USE}, on the first {@link Subscription.open}) and ends with
 * {@link Subscription.close} or with its client, so quitting the client given to dspu lets the process exit.
 * @internal
 */
export class Subscription {
  private connection: RedisClient | undefined;
  private closed = false;

  /**
   * @param onSubscribed - called each time the subscription is (again) in place: whatever was published before
   *   it was, on connecting or during a reconnect, was missed
   */
  constructor(
    private readonly client: RedisClient,
    private readonly channel: string,
    private readonly onMessage: (message: string) => void,
    engineOptions: object | undefined,
    private readonly onSubscribed?: () => void,
  ) {
    if (!subscribesOnFirstUse(engineOptions)) this.open();
  }

  /** Subscribes, unless subscribed already, closed, or its client has ended. */
  open(): void {
    if (this.connection !== undefined || this.closed || this.client.status === 'end') return;
    if (!('duplicate' in this.client)) return;
    const connection = duplicateWhileClientLives(this.client, {
      // Let go within 100 ms of a socket ended mid-handshake: ioredis otherwise holds it, and the process, 2 s.
      disconnectTimeout: 100,
    });
    connection.on('error', () => undefined);
    connection.on('message', (_channel: string, message: string) => this.onMessage(message));
    const subscribe = (): void => {
      connection.subscribe(this.channel).then(this.onSubscribed, () => undefined);
    };
    subscribe();
    // After a reconnect ioredis subscribes again on its own, but says nothing once it has: subscribing here too
    // (Redis answers a second SUBSCRIBE of the same channel as the first) tells when messages flow again.
    let connected = false;
    connection.on('ready', () => {
      if (connected) subscribe();
      connected = true;
    });
    this.connection = connection;
    this.endingWithClient().add(this);
  }

  /** Ends the connection for good: a later {@link Subscription.open} does nothing. */
  close(): Promise<void> {
    this.closed = true;
    return this.end();
  }

  // The open subscriptions of this client, ended by the one 'end' listener they share.
  private endingWithClient(): Set<Subscription> {
    const existing = byClient.get(this.client);
    if (existing !== undefined) return existing;
    const subscriptions = new Set<Subscription>();
    byClient.set(this.client, subscriptions);
    this.client.once('end', () => {
      byClient.delete(this.client);
      for (const subscription of subscriptions) void subscription.end();
    });
    return subscriptions;
  }

  private async end(): Promise<void> {
    const connection = this.connection;
    if (connection === undefined) return;
    this.connection = undefined;
    byClient.get(this.client)?.delete(this);
    if (connection.status === 'end') return;
    // QUIT waits for a connection that may never come back; a subscriber that is let go has nothing left to say.
    if (connection.status === 'ready') await connection.quit().catch(() => undefined);
    connection.disconnect();
  }
}
