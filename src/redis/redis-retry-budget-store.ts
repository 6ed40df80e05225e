import { randomBytes } from 'node:crypto';
import {
  checkAll,
  ConfigError,
  MemoryRetryBudgetStore,
  budgetAvailable,
  type RetryBudgetMetrics,
  type RetryBudgetSpec,
  type RetryBudgetStore,
} from '../index.js';
import {
  checkName,
  LuaScript,
  RedisLink,
  type RedisClient,
  type RedisStoreEvents,
  type RedisStoreOptions,
} from './redis-link.js';
import type { EventEmitter } from '../index.js';

/*
 * The budget's window in one hash: for each of its buckets (slot = bucket number mod buckets), the bucket's
 * number `i<slot>`, its first tries `r<slot>` and its retries `x<slot>`, so a slot left from an older turn of the
 * ring is recognised and counts for nothing. Time is Redis TIME, so the clocks of the clients never matter.
 *
 * One call applies a batch: the deposits made since the last call, then as many of the batch's withdrawals as the
 * budget holds, in order. A batch carries an id: the script records each id it applied (with the number of
 * withdrawals it granted) for a window, and a batch that runs again (a client that resends a command after a
 * reconnect) changes nothing and gets the same answer. ARGV: windowMs, buckets, ratio, minPerSecond, deposits,
 * withdrawals. Returns {granted, requests, retries} of the window after the batch.
 */
const APPLY = new LuaScript(`
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local windowMs = tonumber(ARGV[1])
local buckets = tonumber(ARGV[2])
local index = math.floor(now / (windowMs / buckets))
local slot = index % buckets
local fields = redis.call('HGETALL', KEYS[1])
local hash = {}
for i = 1, #fields, 2 do hash[fields[i]] = tonumber(fields[i + 1]) end
local requests, retries = 0, 0
for s = 0, buckets - 1 do
  local number = hash['i' .. s]
  if number and number > index - buckets and number <= index then
    requests = requests + (hash['r' .. s] or 0)
    retries = retries + (hash['x' .. s] or 0)
  end
end
local seen = redis.call('GET', KEYS[2])
if seen then return {tonumber(seen), requests, retries} end
if hash['i' .. slot] ~= index then
  redis.call('HSET', KEYS[1], 'i' .. slot, index, 'r' .. slot, 0, 'x' .. slot, 0)
end
local deposits = tonumber(ARGV[5])
requests = requests + deposits
-- To 9 decimal places, as budgetAvailable (dspu): 0.29 x 100 first tries allows 29 retries, not 28.
local allowance = tonumber(ARGV[3]) * requests + tonumber(ARGV[4]) * windowMs / 1000
local available = math.floor(allowance * 1e9 + 0.5) / 1e9 - retries
local granted = math.max(0, math.min(tonumber(ARGV[6]), math.floor(available)))
retries = retries + granted
if deposits > 0 then redis.call('HINCRBY', KEYS[1], 'r' .. slot, deposits) end
if granted > 0 then redis.call('HINCRBY', KEYS[1], 'x' .. slot, granted) end
redis.call('PEXPIRE', KEYS[1], math.ceil(windowMs * 2))
redis.call('SET', KEYS[2], granted, 'PX', math.ceil(windowMs))
return {granted, requests, retries}
`);

// A promise continuation runs after the code that made the calls, and fake timers never fake it (they fake
// process.nextTick, setImmediate and queueMicrotask: waiting on those would hang a user's test).
const RESOLVED = Promise.resolve();

interface Withdrawal {
  resolve(granted: boolean): void;
  reject(error: Error): void;
}

/**
 * A {@link RetryBudgetStore} in Redis: one budget for every process that uses the same client, prefix and name.
 * First tries are counted locally and sent in batches; a withdrawal waits for the batch it joins to be applied by
 * a Lua script, atomically and in order, at Redis TIME. One script call is in flight at a time: what is asked
 * meanwhile joins the next one, so a call costs at most one round trip and a busy process far fewer. A batch
 * whose command timed out is never sent again (it may still run: it then counts once); a batch that runs twice
 * counts once. While Redis fails, withdrawals follow `onStoreError`: this process's own budget (`'local'`, which
 * counts every first try all along), every retry allowed (`'fail-open'`) or none (`'fail-closed'`).
 *
 * Use it through `withRedisStores` (`retryBudget: { upstream: { ratio: 0.2, store: 'redis' } }`).
 */
export class RedisRetryBudgetStore implements RetryBudgetStore {
  /** Fault events: `storeError`, `fallback`, `recovered`. */
  readonly events: EventEmitter<RedisStoreEvents>;
  /** The Redis key of the budget's window. */
  readonly key: string;
  private readonly link: RedisLink;
  private readonly batchPrefix: string;
  private batchNumber = 0;
  private spec: RetryBudgetSpec | undefined;
  private local: MemoryRetryBudgetStore | undefined;
  // What the next batch sends.
  private deposits = 0;
  private withdrawals: Withdrawal[] = [];
  private scheduled = false;
  private inFlight = false;
  // The window as Redis last reported it.
  private requests = 0;
  private retries = 0;

  /**
   * @param client - an ioredis client (single node or cluster)
   * @param name - the budget's name: processes using the same name share one budget
   * @throws ConfigError naming each invalid option
   */
  constructor(client: RedisClient, name: string, options?: RedisStoreOptions) {
    // Every problem in one ConfigError: the options' and the name's.
    [this.link] = checkAll(
      () => new RedisLink(client, options),
      () => checkName(name),
    );
    this.events = this.link.events;
    this.key = this.link.key(name, 'budget');
    this.batchPrefix = `${this.key}:${randomBytes(8).toString('hex')}:`;
  }

  /** @inheritDoc */
  attach(spec: RetryBudgetSpec): void {
    const current = this.spec;
    if (current === undefined) {
      this.spec = spec;
      this.local = new MemoryRetryBudgetStore(spec);
      return;
    }
    const same = (Object.keys(spec) as (keyof RetryBudgetSpec)[]).every(
      (k) => spec[k] === current[k],
    );
    if (!same)
      throw new ConfigError(
        'store: this Redis budget store already serves a budget with other options; give each its own',
      );
  }

  /** @inheritDoc */
  deposit(): void {
    this.local?.deposit();
    this.deposits++;
    this.schedule();
  }

  /** @inheritDoc */
  withdraw(spec: RetryBudgetSpec): boolean | Promise<boolean> {
    if (!this.link.tryRedis()) return this.fallback(spec);
    return new Promise<boolean>((resolve, reject) => {
      this.withdrawals.push({ resolve, reject });
      this.schedule();
    });
  }

  /** The fleet's counts as Redis last reported them, with this process's first tries since. */
  metrics(spec: RetryBudgetSpec): RetryBudgetMetrics {
    if (!this.link.healthy && this.link.mode === 'local') return this.localStore(spec).metrics();
    const requests = this.requests + this.depositsInWindow();
    const available = budgetAvailable(spec, requests, this.retries);
    return {
      requests,
      retries: this.retries,
      available: Math.max(0, Math.floor(available)),
    };
  }

  private localStore(spec: RetryBudgetSpec): MemoryRetryBudgetStore {
    if (this.local === undefined) this.attach(spec);
    return this.local!;
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight) return;
    this.scheduled = true;
    void RESOLVED.then(this.flush);
  }

  /** Sends what was asked since the last batch as one script call. */
  private readonly flush = (): void => {
    this.scheduled = false;
    const spec = this.spec;
    if (this.inFlight || spec === undefined) return;
    const deposits = this.depositsInWindow();
    const withdrawals = this.withdrawals;
    if (withdrawals.length === 0) {
      // First tries alone wait while Redis is down (withdrawals asked it already): they are sent once it is back.
      if (deposits === 0 || (!this.link.healthy && !this.link.tryRedis())) return;
    }
    this.deposits = 0;
    this.withdrawals = [];
    this.inFlight = true;
    const batch = `${this.batchPrefix}${++this.batchNumber}`;
    const args = [spec.windowMs, spec.buckets, spec.ratio, spec.minPerSecond];
    this.link.run(APPLY, [this.key, batch], [...args, deposits, withdrawals.length]).then(
      (reply) => this.applied(withdrawals, reply as number[]),
      (error: unknown) => this.failed(withdrawals, error, spec),
    );
  };

  /**
   * The first tries not yet sent that are still in the budget's window. Those held back while Redis could not
   * answer may be older: sent all at once, an outage's worth of first tries would count as this window's and
   * allow a storm of retries. This process's own budget counted each one when it was made, so its window's count
   * bounds them (every unsent first try in that window is among them).
   */
  private depositsInWindow(): number {
    const inWindow = this.local?.metrics().requests ?? this.deposits;
    return Math.min(this.deposits, inWindow);
  }

  private applied(withdrawals: readonly Withdrawal[], reply: readonly number[]): void {
    this.link.succeeded();
    const [granted, requests, retries] = reply;
    this.requests = requests;
    this.retries = retries;
    withdrawals.forEach((withdrawal, i) => withdrawal.resolve(i < granted));
    this.next();
  }

  /** One failed command is one failure (one `storeError`); each of its withdrawals then follows the mode. */
  private failed(withdrawals: readonly Withdrawal[], error: unknown, spec: RetryBudgetSpec): void {
    const failure = this.link.failed(error);
    for (const withdrawal of withdrawals) {
      if (this.link.mode === 'fail-closed') withdrawal.reject(failure);
      else withdrawal.resolve(this.fallback(spec) as boolean);
    }
    this.next();
  }

  private next(): void {
    this.inFlight = false;
    if (this.deposits > 0 || this.withdrawals.length > 0) this.schedule();
  }

  /** The answer of the mode while Redis cannot answer. */
  private fallback(spec: RetryBudgetSpec): boolean | Promise<boolean> {
    if (this.link.mode === 'fail-closed') return Promise.reject(this.link.unavailable());
    if (this.link.mode === 'fail-open') return true;
    return this.localStore(spec).withdraw();
  }
}
