import type { Redis } from 'ioredis';
import type { LuaScript, RedisClient } from '../../src/redis/redis-link.js';
import type { RedisServer } from './redis-server.js';
import { sleep } from '../support/fake-clock.js';

export { sleep };

/** Calls `step` every 20 ms until `condition` holds; fails after `limitMs`. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  limitMs: number,
  step: () => Promise<unknown> = async () => undefined,
): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${limitMs} ms`);
    await step();
    await sleep(20);
  }
}

/** Runs `work` and lists the commands clients sent meanwhile (commands run by scripts excluded). */
export async function roundTrips(
  server: RedisServer,
  work: () => Promise<unknown>,
): Promise<string[]> {
  const marker = server.client();
  await marker.ping(); // connected (and its INFO ready check done) before anything is watched
  const watcher = server.client();
  // Connected too: a ready check (INFO) of another client just as MONITOR starts can reach the monitoring
  // connection in the same packet as MONITOR's own reply, which ioredis cannot parse.
  await watcher.ping();
  const monitor = await watcher.monitor();
  const seen: string[] = [];
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source !== 'lua') seen.push(args[0].toLowerCase());
  });
  try {
    await work();
    // MONITOR lines arrive after the replies: a PING through another client marks the end.
    await marker.ping('end-of-work');
    while (!seen.includes('ping')) await sleep(5);
    return seen.slice(0, seen.indexOf('ping'));
  } finally {
    monitor.disconnect();
    watcher.disconnect();
    marker.disconnect();
  }
}

/**
 * Runs `script` on `client` directly, as a store would send it: how a test makes a command run a second time
 * (as when ioredis resends it after a reconnect) or after the command that was meant to follow it.
 */
export function runScript(
  client: RedisClient,
  script: LuaScript,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  return client.eval(script.source, keys.length, ...keys, ...args);
}

/**
 * `client`, except that its first call of `script` fails without reaching Redis (as on a lost connection
 * that the client does not resend).
 */
export function failingOnce<C extends RedisClient>(client: C, script: LuaScript): C {
  return failingTimes(client, script, 1);
}

/** `client`, except that its first `times` calls of `script` fail without reaching Redis. */
export function failingTimes<C extends RedisClient>(
  client: C,
  script: LuaScript,
  times: number,
): C {
  return failing(client, script, { left: times });
}

// The stores send on a duplicate of their client: it fails alike, `left` times for both.
function failing<C extends RedisClient>(client: C, script: LuaScript, state: { left: number }): C {
  return new Proxy(client, {
    get(target, property) {
      if (property === 'duplicate')
        return (...args: unknown[]) =>
          failing((target as Redis).duplicate(...(args as [])), script, state);
      if (property === 'evalsha')
        return (sha: string, ...rest: (string | number)[]) => {
          if (sha !== script.sha || state.left === 0)
            return (target.evalsha as (...args: unknown[]) => Promise<unknown>)(sha, ...rest);
          state.left--;
          return Promise.reject(new Error('Connection is closed.'));
        };
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
}

/**
 * Stalls Redis for `ms` (`CLIENT PAUSE … ALL`, through `admin`), runs `meanwhile` while it is stalled, and resolves
 * once Redis answers again: the way to make a command time out and then run late.
 */
export async function stall(
  admin: Redis,
  ms: number,
  meanwhile: () => PromiseLike<unknown>,
): Promise<void> {
  await admin.call('CLIENT', 'PAUSE', String(ms), 'ALL');
  await meanwhile();
  await admin.ping(); // queued behind the pause
}

/**
 * Waits until `count` clients listen on the channel `{dspu:<name>}:<suffix>`: changes are only heard once every
 * member of a fleet has subscribed, as in a fleet that has been up a while.
 */
export async function untilSubscribed(
  admin: Redis,
  name: string,
  count: number,
  suffix: 'changes' | 'released' = 'changes',
): Promise<void> {
  await until(async () => {
    const reply = (await admin.call('PUBSUB', 'NUMSUB', `{dspu:${name}}:${suffix}`)) as unknown[];
    return Number(reply[1]) >= count;
  }, 2_000);
}

/**
 * Holds back the SUBSCRIBE of the subscriber connections `client` makes (its duplicates) until the returned
 * function is called: what is published meanwhile is missed, as during a connect or a reconnect.
 */
export function holdSubscriptions(client: Redis): () => void {
  const duplicate = client.duplicate.bind(client);
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  client.duplicate = (...args: Parameters<Redis['duplicate']>) => {
    const connection = duplicate(...args);
    const subscribe = connection.subscribe.bind(connection) as (
      channel: string,
    ) => Promise<unknown>;
    connection.subscribe = ((channel: string) =>
      released.then(() => subscribe(channel))) as Redis['subscribe'];
    return connection;
  };
  return release;
}
