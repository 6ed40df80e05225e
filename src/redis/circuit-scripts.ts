import { LuaScript } from './redis-link.js';

/*
 * The shared circuit: a hash KEYS[1] {s state, f failures, k successes, o openedAt, g generation, i isolated}
 * and a sorted set KEYS[2] of trial leases (member: a caller's token, score: when the lease ends), so a trial
 * whose process died frees its slot after the lease. Every transition bumps the generation, so an outcome
 * reported for an older period changes nothing, and is published on ARGV[2] as "state generation remaining
 * isolated" for the other processes to learn without asking. Redis TIME is the clock.
 * Every script answers {verdict, state, generation, remaining ms while open, isolated}.
 * ARGV[1] is the open timeout in ms; ARGV[2] the channel.
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
local function reply(verdict)
  return {verdict, state, gen, remaining(), isolated and 1 or 0}
end
`;

/**
 * Asks to run a call: answers 'closed' (run it as a closed call), 'trial' (a half-open slot is leased under
 * ARGV[5] until now + ARGV[4] ms) or 'rejected'. ARGV[3] is halfOpenMaxCalls.
 */
export const ADMIT = new LuaScript(`${PRELUDE}
if state == 'open' and not isolated and now >= openedAt + timeout then move('half_open') end
if state ~= 'half_open' then
  if state == 'closed' then return reply('closed') end
  return reply('rejected')
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then return reply('rejected') end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[5])
return reply('trial')
`);

/**
 * Reports an outcome ('success' | 'failure' | 'ignored', ARGV[3]) of a call admitted in generation ARGV[4],
 * releasing the trial lease ARGV[5] ('' for a closed call). ARGV[6] failureThreshold, ARGV[7]
 * successThreshold. Answers 'stale' when the circuit has moved on since the call was admitted.
 */
export const REPORT = new LuaScript(`${PRELUDE}
if ARGV[5] ~= '' then redis.call('ZREM', KEYS[2], ARGV[5]) end
if tonumber(ARGV[4]) ~= gen then return reply('stale') end
local outcome = ARGV[3]
if state == 'closed' then
  if outcome == 'failure' then
    failures = failures + 1
    if failures >= tonumber(ARGV[6]) then move('open') else redis.call('HSET', KEYS[1], 'f', failures) end
  elseif outcome == 'success' and failures > 0 then
    redis.call('HSET', KEYS[1], 'f', 0)
  end
elseif state == 'half_open' then
  if outcome == 'failure' then move('open')
  elseif outcome == 'success' then
    successes = successes + 1
    if successes >= tonumber(ARGV[7]) then move('closed') else redis.call('HSET', KEYS[1], 'k', successes) end
  end
end
return reply('ok')
`);

/** Forces CLOSED with counters cleared (ARGV[3] = 'reset') or OPEN until reset (ARGV[3] = 'isolate'). */
export const FORCE = new LuaScript(`${PRELUDE}
if ARGV[3] == 'isolate' then
  isolated = true
  move('open')
else
  move('closed')
end
return reply('ok')
`);
