import { LuaScript } from './redis-link.js';

/*
 * The shared circuit: a hash KEYS[1] {s state, f failures, k successes, o openedAt, m open time, g generation,
 * i isolated} and a sorted set KEYS[2] of trial leases (member: a caller's token, score: when the lease ends), so
 * a trial whose process died frees its slot after the lease. Every transition bumps the generation, so an
 * outcome reported for an older period changes nothing; a circuit (re)created starts its generations at Redis
 * TIME in µs, so they never go back when Redis loses the keys, and is published on ARGV[2] as "state generation
 * remaining isolated" for the other processes to learn without asking. Redis TIME is the clock.
 * Every script answers {verdict, state, generation, retry after ms, isolated}; the retry after is the time
 * left open, or for a half-open rejection the time until the earliest trial lease ends.
 * ARGV[1] is the open timeout in ms; ARGV[2] the channel; ARGV[3] the trial lease in ms.
 *
 * KEYS[3] remembers, for a while, the ids of the commands that took effect or were given up on: a trial's
 * token, a batch of reports, a forced move. Such a command that runs again (the client resends what got no
 * answer after a reconnect) or late (after its caller gave up on it) changes nothing.
 *
 * KEYS[4] is the rate mode's window: totals {c calls, f failed, s slow}, n (the count ring's next slot, or the
 * time window's newest span) and g, the generation it counts for; the ring's slots r<i> hold an outcome code
 * (1 failed + 2 slow); the time window's buckets c<b> f<b> s<b> hold the counts of one span each. Its key names
 * the window's shape, so processes that share the circuit with another `slidingWindow` (a rolling deploy that
 * changes it) each keep a window of their own shape. Every transition empties every window: the mover's is
 * deleted, and one stamped with an older generation reads as empty.
 *
 * No key lives for ever: the circuit and a count ring expire IDLE_MS after their last use (past the end of an open
 * time or trial lease; an isolated circuit not at all), a time window once its calls aged out, the trial leases
 * with the longest of them, the memory of done commands with its longest entry.
 */
/**
 * How long a circuit's keys outlive their last use by any process (a call admitted or reported, a forced move),
 * past the end of what is still live in them (an open time, a trial lease); an isolated circuit stays until reset.
 * A circuit nobody uses for that long starts again closed, as after Redis lost its keys: abandoned names free
 * their memory, and a day is far longer than any failure count or window of a breaker in use means something.
 */
export const IDLE_MS = 86_400_000;

const PRELUDE = `
local IDLE_MS = ${IDLE_MS}
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HMGET', KEYS[1], 's', 'f', 'k', 'o', 'g', 'i', 'm', 'b')
local state = h[1] or 'closed'
local failures = tonumber(h[2]) or 0
local successes = tonumber(h[3]) or 0
local openedAt = tonumber(h[4]) or 0
local gen = tonumber(h[5])
if not gen then
  -- A new circuit, or one whose keys Redis lost (FLUSHALL, a restart without persistence, eviction): its
  -- generations start at the time in µs, above any it counted before, so processes that cached the lost one
  -- take what they hear now as newer. A move takes a script run, longer than 1 µs: the count never catches up.
  gen = tonumber(t[1]) * 1000000 + tonumber(t[2])
  redis.call('HSET', KEYS[1], 'g', string.format('%d', gen))
end
local isolated = h[6] == '1'
local timeout = tonumber(ARGV[1])
local openMs = tonumber(h[7]) or timeout
-- The open time the backoff has reached: openMs is longer when a failure's retryAfter held the circuit open
-- longer, and a re-open doubles this instead, so one long Retry-After does not become the circuit's own backoff.
local backoffMs = tonumber(h[8]) or openMs
if state == 'open' and openedAt > now then
  -- The clock stepped back since the circuit opened: its open time counts from now, as the in-memory breaker's
  -- does, or the circuit would stay open for the whole step.
  openedAt = now
  redis.call('HSET', KEYS[1], 'o', now)
end
local function remaining()
  if state ~= 'open' or isolated then return 0 end
  return math.max(0, openedAt + openMs - now)
end
local function move(to, openFor, backoff)
  state = to
  failures = 0
  successes = 0
  gen = gen + 1
  if to == 'open' then
    openedAt = now
    openMs = openFor or timeout
    backoffMs = backoff or openMs
  end
  if to == 'closed' then isolated = false end
  local i = isolated and 1 or 0
  redis.call('DEL', KEYS[2])
  if KEYS[4] then redis.call('DEL', KEYS[4]) end
  redis.call('HSET', KEYS[1], 's', state, 'f', 0, 'k', 0, 'o', openedAt, 'm', openMs, 'b', backoffMs, 'g', string.format('%d', gen), 'i', i)
  -- %d: Lua would print a generation past 1e14 in exponent form.
  redis.call('PUBLISH', ARGV[2], state .. ' ' .. string.format('%d', gen) .. ' ' .. remaining() .. ' ' .. i)
end
local lease = tonumber(ARGV[3])
-- Every script refreshes the circuit's expiry as it answers. Isolated, it stays until a reset; else it lasts
-- IDLE_MS past what is live from now on: its open time, or a half-open circuit's trial leases (those handed out,
-- which expire with the longest, whatever a process's trialLease, and any this one may hand out). Computed from
-- the state at this instant, so a late or stale script can only push the expiry on, never before the live end.
local function keep()
  if isolated then
    redis.call('PERSIST', KEYS[1])
    return
  end
  local live = remaining()
  if state == 'half_open' then live = math.max(lease, redis.call('PTTL', KEYS[2])) end
  redis.call('PEXPIRE', KEYS[1], IDLE_MS + live)
end
local function reply(verdict, retryAfter)
  keep()
  return {verdict, state, gen, retryAfter or remaining(), isolated and 1 or 0}
end
local function done(id)
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  return redis.call('ZSCORE', KEYS[3], id) ~= false
end
local function remember(id, forMs)
  redis.call('ZADD', KEYS[3], now + (forMs or lease), id)
  if redis.call('PTTL', KEYS[3]) < (forMs or lease) then redis.call('PEXPIRE', KEYS[3], forMs or lease) end
end
`;

/**
 * Asks to run a call: answers 'closed' (run it as a closed call), 'trial' (a half-open slot is leased under
 * token ARGV[5] until now + the trial lease) or 'rejected'. ARGV[4] is halfOpenMaxCalls. Asking again with a
 * token that holds a slot answers 'trial' again; a token reported or given up on takes no slot.
 */
export const ADMIT = new LuaScript(`${PRELUDE}
if state == 'open' and not isolated and now >= openedAt + openMs then move('half_open') end
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
-- Never shorter than a lease handed out before (processes may differ in trialLease).
if redis.call('PTTL', KEYS[2]) < lease then redis.call('PEXPIRE', KEYS[2], lease) end
return reply('trial')
`);

/** Gives up on the ADMIT of token ARGV[4]: frees its slot if it took one, and makes sure it never will. */
export const ABANDON = new LuaScript(`${PRELUDE}
remember(ARGV[4])
redis.call('ZREM', KEYS[2], ARGV[4])
return reply('ok')
`);

/**
 * Reports the outcomes of a batch of calls, in order. ARGV[4] is the batch's id (a batch counted already answers
 * 'done') and ARGV[5] how long to remember it. ARGV[6] failureThreshold (consecutive mode), ARGV[7]
 * successThreshold, ARGV[8] maxTimeout. Rate mode when ARGV[9] (failureRateThreshold) > 0: ARGV[10]
 * slowCallRateThreshold, ARGV[11] minimumCalls, ARGV[12] the count window's size (0 for a time window), ARGV[13]
 * the time window in ms, ARGV[14] its buckets. From ARGV[15], five per call: outcome ('success' | 'failure' |
 * 'ignored'), the generation it was admitted in, its trial token ('' for a closed call, else the lease it frees),
 * slow (1 or 0), and the retry after its error asked for in ms (0 for none). An outcome of an older generation
 * changes nothing but the lease it frees. Answers the common reply plus the window's {calls, failed, slow}
 * (in consecutive mode the current run of failures as both calls and failed).
 */
export const REPORT = new LuaScript(`${PRELUDE}
if done(ARGV[4]) then return reply('done') end
remember(ARGV[4], tonumber(ARGV[5]))
local failureThreshold = tonumber(ARGV[6])
local successThreshold = tonumber(ARGV[7])
local maxTimeout = tonumber(ARGV[8])
local failureRate = tonumber(ARGV[9])
local slowRate = tonumber(ARGV[10])
local minimumCalls = tonumber(ARGV[11])
local ringSize = tonumber(ARGV[12])
local windowMs = tonumber(ARGV[13])
local buckets = tonumber(ARGV[14])
local W = KEYS[4]
local win
-- Open for the backoff (timeout, doubled per re-open from HALF_OPEN up to maxTimeout), or longer when the failure's
-- retryAfter says so.
local function open(retryAfter)
  local backedOff = timeout
  if state == 'half_open' then backedOff = math.min(maxTimeout, backoffMs * 2) end
  move('open', math.max(backedOff, retryAfter), backedOff)
  win = nil
end
-- The time window drops the spans that aged out, as the next record or read finds them.
local function rotate()
  local span = math.floor(now / (windowMs / buckets)) + win.x
  if not win.n then
    win.n = span
    return span % buckets
  end
  if span < win.n then
    -- The clock stepped back: every later time is shifted by the step, so the window goes on aging from the time
    -- it reads, instead of holding its calls until the clock catches up.
    win.x = win.x + win.n - span
    return win.n % buckets
  end
  if span == win.n then return span % buckets end
  local first = math.max(win.n + 1, span - buckets + 1)
  for s = first, span do
    local b = s % buckets
    local old = redis.call('HMGET', W, 'c' .. b, 'f' .. b, 's' .. b)
    win.c = win.c - (tonumber(old[1]) or 0)
    win.f = win.f - (tonumber(old[2]) or 0)
    win.s = win.s - (tonumber(old[3]) or 0)
    redis.call('HDEL', W, 'c' .. b, 'f' .. b, 's' .. b)
  end
  win.n = span
  return span % buckets
end
local function loadWindow()
  if win then return end
  local w = redis.call('HMGET', W, 'c', 'f', 's', 'n', 'g', 'x')
  if tonumber(w[5]) ~= gen then
    -- Counted before the last transition (by a process of another window shape, which deleted only its own).
    redis.call('DEL', W)
    w = {}
  end
  win = {
    c = tonumber(w[1]) or 0, f = tonumber(w[2]) or 0, s = tonumber(w[3]) or 0, n = tonumber(w[4]),
    x = tonumber(w[6]) or 0,
  }
end
local function record(failed, slow)
  loadWindow()
  local code = (failed and 1 or 0) + (slow and 2 or 0)
  if ringSize > 0 then
    local slot = win.n or 0
    if win.c >= ringSize then
      local old = tonumber(redis.call('HGET', W, 'r' .. slot)) or 0
      win.f = win.f - old % 2
      win.s = win.s - math.floor(old / 2)
    else
      win.c = win.c + 1
    end
    redis.call('HSET', W, 'r' .. slot, code)
    win.n = (slot + 1) % ringSize
  else
    local b = rotate()
    redis.call('HINCRBY', W, 'c' .. b, 1)
    if failed then redis.call('HINCRBY', W, 'f' .. b, 1) end
    if slow then redis.call('HINCRBY', W, 's' .. b, 1) end
    win.c = win.c + 1
  end
  win.f = win.f + code % 2
  win.s = win.s + math.floor(code / 2)
  if win.c >= minimumCalls and (win.f * 100 >= failureRate * win.c or win.s * 100 >= slowRate * win.c) then
    return true
  end
  return false
end
for i = 15, #ARGV, 5 do
  local outcome, token, slow = ARGV[i], ARGV[i + 2], ARGV[i + 3] == '1'
  local retryAfter = tonumber(ARGV[i + 4]) or 0
  if token ~= '' then
    redis.call('ZREM', KEYS[2], token)
    remember(token)
  end
  if tonumber(ARGV[i + 1]) == gen then
    if state == 'closed' and failureRate > 0 then
      if outcome ~= 'ignored' and record(outcome == 'failure', slow) then open(retryAfter) end
    elseif state == 'closed' then
      if outcome == 'failure' then
        failures = failures + 1
        if failures >= failureThreshold then open(retryAfter) else redis.call('HSET', KEYS[1], 'f', failures) end
      elseif outcome == 'success' and failures > 0 then
        failures = 0
        redis.call('HSET', KEYS[1], 'f', 0)
      end
    elseif state == 'half_open' and token ~= '' then
      if outcome == 'failure' or (outcome == 'success' and slow) then open(retryAfter)
      elseif outcome == 'success' then
        successes = successes + 1
        if successes >= successThreshold then move('closed') else redis.call('HSET', KEYS[1], 'k', successes) end
      end
    end
  end
end
local r = reply('ok')
if failureRate == 0 then
  r[6], r[7], r[8] = failures, failures, 0
else
  if state == 'closed' then
    loadWindow()
    if ringSize == 0 then rotate() end
  end
  if win then
    redis.call('HSET', W, 'c', win.c, 'f', win.f, 's', win.s, 'n', win.n or 0, 'g', string.format('%d', gen),
      'x', win.x)
    -- A time window means nothing once its calls aged out; a ring lasts as long as its (closed) circuit.
    if ringSize == 0 then redis.call('PEXPIRE', W, windowMs + 1000) else redis.call('PEXPIRE', W, IDLE_MS) end
    r[6], r[7], r[8] = win.c, win.f, win.s
  else
    r[6], r[7], r[8] = 0, 0, 0
  end
end
return r
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
