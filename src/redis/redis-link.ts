import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import {
  ConfigError,
  DeadlineQueue,
  EventEmitter,
  OptionsChecker,
  ResilienceError,
  type DeadlineEntry,
  type Duration,
} from '../index.js';
import { commandConnection } from './command-connection.js';

/** A connected ioredis client: a single node (`Redis`) or a cluster (`Cluster`). */
export type RedisClient = Redis | Cluster;

/**
 * What a Redis-backed store does while Redis cannot answer:
 * - `'local'`: an in-memory instance with the same options takes over (this process alone is limited);
 * - `'fail-open'`: every call is let through, unlimited;
 * - `'fail-closed'`: every call is refused with {@link RedisStoreError}.
 */
export type StoreErrorMode = 'local' | 'fail-open' | 'fail-closed';

/** Options shared by every Redis-backed store. */
export interface RedisStoreOptions {
  /** How long one Redis command may take before it counts as failed. Default `'250ms'`. */
  commandTimeout?: Duration;
  /** What to do while Redis fails. Default `'local'`. */
  onStoreError?: StoreErrorMode;
  /** After a failure, how long the fallback serves before Redis is tried again. Default `'1s'`. */
  retryInterval?: Duration;
  /** First part of every key, inside the hash tag: `{<prefix>:<name>}:…`. Default `'dspu'`. */
  prefix?: string;
}

/** The option names every Redis-backed store accepts. */
export const REDIS_STORE_OPTION_KEYS = [
  'commandTimeout',
  'onStoreError',
  'retryInterval',
  'prefix',
] as const;

/** Events of a Redis-backed store. */
export interface RedisStoreEvents {
  /** A command failed or timed out; `mode` says what happens to the call that needed it. */
  storeError: { error: Error; mode: StoreErrorMode };
  /** Redis stopped answering: calls follow `mode` until Redis is back. */
  fallback: { mode: StoreErrorMode; error: Error };
  /** Redis answered again after `downMs` of fallback: the shared state is used again. */
  recovered: { downMs: number };
}

/** Redis could not answer in time (or at all); `cause` holds the client's error when there is one. */
export class RedisStoreError extends ResilienceError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'ERR_REDIS_STORE', options);
  }
}

const MODES: readonly StoreErrorMode[] = ['local', 'fail-open', 'fail-closed'];
// Statuses after a lost connection: a command sent now would sit in ioredis' offline queue and run late.
const DOWN = new Set(['reconnecting', 'close', 'end']);
const SAFE_PART = /^[^{}]+$/;

/** A Lua script with its SHA1, so a call costs one EVALSHA round trip once the server has cached it. */
export class LuaScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }
}

// Has no effect: it only shows that the node serving the policy's keys answers scripts again.
const PROBE = new LuaScript('return 1');

/**
 * The connection of a store: runs scripts with a timeout, tracks whether Redis is usable, and emits the
 * fault events. One per store, so each store recovers on its own.
 * @internal
 */
export class RedisLink {
  readonly events = new EventEmitter<RedisStoreEvents>();
  readonly mode: StoreErrorMode;
  readonly timeoutMs: number;
  readonly retryMs: number;
  readonly prefix: string;
  // Every command of a link has the same timeout, so they expire in the order they were sent: one shared timer.
  private readonly deadlines = new DeadlineQueue();
  private downSince = 0;
  private retryAt = 0;
  private probing = false;
  // A key of the policy, so a probe reaches the node that serves it on a Cluster.
  private home: string | undefined;

  // Where commands go: a connection of the client's that never resends one (see command-connection.ts), made
  // when the first command is sent, so a store built and never used holds no connection.
  private sender: RedisClient | undefined;

  /**
   * @param options - read once each, own properties only; every problem is listed in one ConfigError
   * @param known - the engine's own options besides the store's (checked by the engine)
   */
  constructor(
    readonly client: RedisClient,
    options: unknown,
    known: readonly PropertyKey[] = [],
  ) {
    const o = new OptionsChecker(options);
    o.onlyKnown([...REDIS_STORE_OPTION_KEYS, ...known]);
    if (typeof readSafely(client, 'evalsha') !== 'function')
      o.problems.push(ConfigError.invalid('client', 'an ioredis client', client).message);
    this.timeoutMs = wholeMs(o, 'commandTimeout', 250);
    this.retryMs = wholeMs(o, 'retryInterval', 1_000);
    this.mode = o.oneOf('onStoreError', MODES, 'local');
    const prefix = o.raw('prefix') ?? 'dspu';
    if (typeof prefix !== 'string' || !SAFE_PART.test(prefix))
      o.fail('prefix', 'a non-empty string without { or }');
    this.prefix = prefix as string;
    o.throwIfInvalid();
  }

  private get connection(): RedisClient {
    return (this.sender ??= commandConnection(this.client));
  }

  /** The hash-tagged key of `name`: every key of one policy lands on the same Cluster slot. */
  key(name: string, suffix: string): string {
    const key = `{${this.prefix}:${name}}:${suffix}`;
    this.home ??= key;
    return key;
  }

  /** False from a failure until Redis answers again. */
  get healthy(): boolean {
    return this.downSince === 0;
  }

  /**
   * True when the next call should go to Redis, i.e. while it is healthy. Otherwise the call follows the
   * mode, and once the retry interval has passed a probe of the link's own is sent: a user's call is never
   * the probe, so a `'fail-closed'` store runs no user work until Redis has answered.
   */
  tryRedis(): boolean {
    if (this.downSince === 0) return true;
    if (!this.probing && Date.now() >= this.retryAt && !DOWN.has(this.connection.status))
      this.probe();
    return false;
  }

  /**
   * Sends a clean-up command (giving back what a command given up on may still take) until Redis answers it,
   * the client ends, or `forMs` has passed (by then what it cleans up has expired on its own), or `wanted` says it
   * no longer is (a newer command took its place). It is nobody's call: its failures emit no events.
   */
  insist(
    script: LuaScript,
    keys: readonly string[],
    args: readonly (string | number)[],
    forMs: number,
    wanted: () => boolean = () => true,
  ): Promise<void> {
    const giveUpAt = Date.now() + forMs;
    return new Promise((resolve) => {
      const attempt = (): void => {
        if (!wanted()) return resolve();
        this.run(script, keys, args).then(
          () => resolve(),
          () => {
            if (Date.now() >= giveUpAt || this.connection.status === 'end') return resolve();
            setTimeout(attempt, this.retryMs).unref?.();
          },
        );
      };
      attempt();
    });
  }

  private probe(): void {
    this.probing = true;
    this.run(PROBE, this.home === undefined ? [] : [this.home], []).then(
      () => this.succeeded(),
      (error: unknown) => void this.failed(error),
    );
  }

  /** Runs `script` with one round trip (EVALSHA, or EVAL when the server lost its cache), within the timeout. */
  run(
    script: LuaScript,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    const { connection: client, timeoutMs, deadlines } = this;
    if (DOWN.has(client.status))
      return Promise.reject(new RedisStoreError(`Redis connection is ${client.status}`));
    return new Promise((resolve, reject) => {
      let givenUp = false;
      const time = Date.now();
      const pending: DeadlineEntry = {
        expiresAt: time + timeoutMs,
        previous: undefined,
        next: undefined,
        queue: undefined,
        expire: () => {
          givenUp = true;
          reject(new RedisStoreError(`Redis did not answer within ${timeoutMs} ms`));
        },
      };
      deadlines.add(pending, time);
      const answered = (value: unknown) => {
        deadlines.remove(pending);
        resolve(value);
      };
      const failed = (error: unknown) => {
        deadlines.remove(pending);
        reject(new RedisStoreError(`Redis command failed: ${describe(error)}`, { cause: error }));
      };
      client.evalsha(script.sha, keys.length, ...keys, ...args).then(answered, (error: unknown) => {
        // The server lost its script cache (restart, SCRIPT FLUSH): send the source once. Not for a command
        // given up on: it would run after the clean-up its caller sent.
        if (error instanceof Error && error.message.startsWith('NOSCRIPT') && !givenUp)
          client.eval(script.source, keys.length, ...keys, ...args).then(answered, failed);
        else failed(error);
      });
    });
  }

  /** Records an answer from Redis: ends a fallback period. */
  succeeded(): void {
    if (this.downSince === 0) return;
    const downMs = Date.now() - this.downSince;
    this.downSince = 0;
    this.probing = false;
    if (this.events.has('recovered')) this.events.emit('recovered', { downMs });
  }

  /** Records a failure: emits `storeError` (and `fallback` when Redis was healthy) and returns the Error. */
  failed(reason: unknown): Error {
    const error =
      reason instanceof Error ? reason : new RedisStoreError(describe(reason), { cause: reason });
    this.probing = false;
    this.retryAt = Date.now() + this.retryMs;
    if (this.events.has('storeError')) this.events.emit('storeError', { error, mode: this.mode });
    if (this.downSince === 0) {
      this.downSince = Date.now();
      if (this.events.has('fallback')) this.events.emit('fallback', { mode: this.mode, error });
    }
    return error;
  }

  /** Reports a problem that is not Redis failing (a lease that ran out, say) as a `storeError` event only. */
  warn(error: Error): void {
    if (this.events.has('storeError')) this.events.emit('storeError', { error, mode: this.mode });
  }

  /** The error a `'fail-closed'` store rejects with while Redis is known to be down. */
  unavailable(): RedisStoreError {
    return new RedisStoreError('Redis is unavailable (onStoreError: fail-closed)');
  }
}

/**
 * A duration option in whole ms greater than 0, or `fallback` when absent. A fraction of a ms is rounded up: the
 * scripts hand durations to `SET PX` and `PEXPIRE`, which take integers only (and abort a script half-way).
 */
export function wholeMs(o: OptionsChecker, key: string, fallback: number): number {
  const ms = o.duration(key, fallback);
  if (ms > 0) return Math.ceil(ms);
  o.fail(key, 'a duration greater than 0');
  return fallback;
}

// A client that throws when looked at (a revoked Proxy) is no client, not a crash.
function readSafely(value: unknown, key: string): unknown {
  if (typeof value !== 'object' || value === null) return undefined;
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/** Checks a policy name for use inside a hash tag. */
export function checkName(name: unknown): string {
  if (typeof name === 'string' && SAFE_PART.test(name)) return name;
  throw ConfigError.invalid('name', 'a non-empty string without { or }', name);
}

function describe(value: unknown): string {
  return value instanceof Error ? value.message : String(value);
}
