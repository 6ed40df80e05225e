import { LuaScript } from './redis-link.js';

/*
 * A distributed semaphore: KEYS[1] is a sorted set of leases (member: a permit's id, score: when its lease
 * ends, in Redis TIME ms). A lease that ran out belongs to a holder that died or lost Redis: it is dropped
 * before every count, so its permit comes back after the lease time at most. ARGV[1] is the lease in ms.
 *
 * KEYS[2] holds the ids given back (released, or abandoned by a caller whose ACQUIRE timed out), each for one
 * lease: an ACQUIRE of such an id that runs late (after the pause that made its caller give up, after the
 * RELEASE, or a second time when the client resends it after a reconnect) takes nothing. Ids are random and
 * never reused, so a tombstone can only stop work that nobody waits for any more.
 */
const PRELUDE = `
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[1])
-- Processes may differ in their lease (a rolling deploy that changes it): a key lasts as long as the longest
-- lease written to it, never cut short by a process of a shorter one.
local function lastAtLeast(key)
  if redis.call('PTTL', key) < lease then redis.call('PEXPIRE', key, lease) end
end
`;

/**
 * Takes permit ARGV[3] if fewer than ARGV[2] leases are live: answers {1, 0}; else {0, ms until the earliest
 * lease ends} (when a permit comes back at the latest, should its holder never release it). Taking an id
 * that is held already renews it and answers {1, 0} again; taking an id given back answers {-1, 0} and takes
 * nothing.
 */
export const ACQUIRE = new LuaScript(`${PRELUDE}
local id = ARGV[3]
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZSCORE', KEYS[2], id) then return {-1, 0} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], id) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + lease, id)
  lastAtLeast(KEYS[1])
  return {1, 0}
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, math.max(1, math.ceil(tonumber(first[2]) - now))}
`);

/**
 * Extends the leases ARGV[2..] still held; answers how many were lost (expired and possibly reused). An id
 * given back meanwhile (a RENEW that ran late) is neither renewed nor lost.
 */
export const RENEW = new LuaScript(`${PRELUDE}
local lost = 0
for i = 2, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], now + lease, ARGV[i])
  elseif not redis.call('ZSCORE', KEYS[2], ARGV[i]) then
    lost = lost + 1
  end
end
lastAtLeast(KEYS[1])
return lost
`);

/**
 * Gives permit ARGV[2] back (or, for an ACQUIRE given up on, makes sure it never takes one), and tells
 * waiting processes on channel ARGV[3] when a permit came back.
 */
export const RELEASE = new LuaScript(`${PRELUDE}
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZADD', KEYS[2], now + lease, ARGV[2])
lastAtLeast(KEYS[2])
if redis.call('ZREM', KEYS[1], ARGV[2]) == 1 then redis.call('PUBLISH', ARGV[3], 'released') end
return 1
`);
