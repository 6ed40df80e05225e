import { LuaScript } from './redis-link.js';

/*
 * The shared circuit: a hash KEYS[1] {s state, f failures, k successes, o openedAt, g generation, i isolated}
 * and a sorted set KEYS[2] of trial leases (member: a caller's token, score: when the lease ends), so a trial
 * whose process died frees its slot after the lease. Every transition bumps the generation, so an outcome
 * reported for an older period changes nothing, and is published on ARGV[2] as "state generation remaining
 * isolated" for the other processes to learn without asking. Redis TIME is the clock.
 * Every script answers {verdict, state, generation, retry after ms, isolated}; the retry after is the time
 * left open, or for a half-open rejection the time until the earliest trial lease ends.
 * ARGV[1] is the open timeout in ms; ARGV[2] the channel; ARGV[3] the trial lease in ms.
 *
 * KEYS[3] remembers, for one trial lease, the ids of the commands that took effect or were given up on: a
 * trial's token, a counted report, a forced move. Such a command that runs again (the client resends what got
 * no answer after a reconnect) or late (after its caller gave up on it) changes nothing.
 */
const PRELUDE = `
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HMGET', KEYS[1], 's', 'f', 'k', 'o', 'g', 'i')
local state = h[1] or 'closed'
local failures = tonumber(h[2]) or 0
local successes = tonumber(h[3]) or 0
local openedAt = tonumber(h[4]) or 0
local gen = tonumber(h[5]) or 0
local isolated = h[6] == '1'
local timeout = tonumber(ARGV[1])
local function remaining()
  if state ~= 'open' or isolated then return 0 end
  return math.max(0, openedAt + timeout - now)
end
local function move(to)
  state = to
  failures = 0
  successes = 0
  gen = gen + 1
  if to == 'open' then openedAt = now end
  if to == 'closed' then isolated = false end
  local i = isolated and 1 or 0
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 's', state, 'f', 0, 'k', 0, 'o', openedAt, 'g', gen, 'i', i)
  redis.call('PUBLISH', ARGV[2], state .. ' ' .. gen .. ' ' .. remaining() .. ' ' .. i)
end
local function reply(verdict, retryAfter)
  return {verdict, state, gen, retryAfter or remaining(), isolated and 1 or 0}
end
local lease = tonumber(ARGV[3])
local function done(id)
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  return redis.call('ZSCORE', KEYS[3], id) ~= false
end
local function remember(id)
  redis.call('ZADD', KEYS[3], now + lease, id)
  redis.call('PEXPIRE', KEYS[3], lease)
end
`;

/**
 * Asks to run a call: answers 'closed' (run it as a closed call), 'trial' (a half-open slot is leased under
 * token ARGV[5] until now + the trial lease) or 'rejected'. ARGV[4] is halfOpenMaxCalls. Asking again with a
 * token that holds a slot answers 'trial' again; a token reported or given up on takes no slot.
 */
export const ADMIT = new LuaScript(`${PRELUDE}
if state == 'open' and not isolated and now >= openedAt + timeout then move('half_open') end
if state ~= 'half_open' then
  if state == 'closed' then return reply('closed') end
  return reply('rejected')
end
local token = ARGV[5]
if done(token) then return reply('rejected', 1) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if not redis.call('ZSCORE', KEYS[2], token) and redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then
  local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return reply('rejected', math.max(1, math.ceil(tonumber(first[2]) - now)))
end
redis.call('ZADD', KEYS[2], now + lease, token)
return reply('trial')
`);

/** Gives up on the ADMIT of token ARGV[4]: frees its slot if it took one, and makes sure it never will. */
export const ABANDON = new LuaScript(`${PRELUDE}
remember(ARGV[4])
redis.call('ZREM', KEYS[2], ARGV[4])
return reply('ok')
`);

/**
 * Reports an outcome ('success' | 'failure' | 'ignored', ARGV[4]) of a call admitted in generation ARGV[5],
 * releasing the trial lease of token ARGV[6] ('' for a closed call). ARGV[7] failureThreshold, ARGV[8]
 * successThreshold. ARGV[9] is the report's id ('' when counting it twice would change nothing): a report
 * counted already answers 'done'. Answers 'stale' when the circuit has moved on since the call was admitted.
 */
export const REPORT = new LuaScript(`${PRELUDE}
local id = ARGV[9]
if id ~= '' then
  if done(id) then return reply('done') end
  remember(id)
end
if ARGV[6] ~= '' then redis.call('ZREM', KEYS[2], ARGV[6]) end
if tonumber(ARGV[5]) ~= gen then return reply('stale') end
local outcome = ARGV[4]
if state == 'closed' then
  if outcome == 'failure' then
    failures = failures + 1
    if failures >= tonumber(ARGV[7]) then move('open') else redis.call('HSET', KEYS[1], 'f', failures) end
  elseif outcome == 'success' and failures > 0 then
    redis.call('HSET', KEYS[1], 'f', 0)
  end
elseif state == 'half_open' then
  if outcome == 'failure' then move('open')
  elseif outcome == 'success' then
    successes = successes + 1
    if successes >= tonumber(ARGV[8]) then move('closed') else redis.call('HSET', KEYS[1], 'k', successes) end
  end
end
return reply('ok')
`);

/**
 * Forces CLOSED with counters cleared (ARGV[4] = 'reset') or OPEN until reset (ARGV[4] = 'isolate'), once
 * per id ARGV[5].
 */
export const FORCE = new LuaScript(`${PRELUDE}
if done(ARGV[5]) then return reply('done') end
remember(ARGV[5])
if ARGV[4] == 'isolate' then
  isolated = true
  move('open')
else
  move('closed')
end
return reply('ok')
`);
