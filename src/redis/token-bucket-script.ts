import { LuaScript } from './redis-link.js';

/*
 * The same bucket as the in-memory store, with Redis TIME as the clock so the clocks of the clients never
 * matter. KEYS[1] holds "<at> <emptyIn>": the Redis time of the last grant in whole microseconds, and how
 * many ms after it the bucket was empty. Only time differences are computed, never sums on the epoch clock
 * (near 1.8e12 ms a double's step is 2.4e-4 ms: moving an absolute "empty at" by 0.025 ms per token rounded
 * every grant); whole microseconds stay exact as doubles. Tokens beyond capacity are not banked. Only a grant
 * writes the bucket, and its key expires once the bucket would be full again.
 *
 * A line across processes: KEYS[2] maps a store's id to its ticket "<order> <tokens> <expires at ms>", the
 * place of its waiting head ('#' counts orders). A take is granted only when the bucket holds its tokens on
 * top of those of every ticket ahead of it, so a waiting 3-token take is not overtaken forever by 1-token
 * takes of other processes, which a bucket that refills one token at a time would otherwise always favour.
 * A waiting take that is refused gets (or keeps) its store's ticket, valid until its wait and ARGV[2] ms more
 * have passed, so the ticket of a caller that left or died lapses on its own; a take that will not wait
 * never gets one, so its refusal leaves no trace. The store's id is ARGV[1].
 *
 * One call decides a batch of takes, strictly in order and at one TIME: ARGV holds (tokens, msPerToken,
 * capacity, maxWait) per take from ARGV[4] on; maxWait is 0 for a take that will not wait. Once a waiting
 * take of the batch is refused, the later ones are too: they queue behind it in their process. Returns
 * {seconds, microseconds, wait of take 1, wait of take 2, …}: the time as TIME's own strings (Lua numbers
 * reach the client as integers), and a wait of 0 for a grant (a refusal always waits at least 1 ms).
 *
 * Each batch is done once: KEYS[3], named after the batch, keeps for ARGV[3] ms "<ms granted> <wait 1> …",
 * so a batch run again (the client resends what got no answer after a reconnect) answers as it did and takes
 * nothing more; CANCEL (sent by a caller that gave up on the batch) refunds what it took, or marks it "-1"
 * so that it takes nothing if it runs later, and answers nothing.
 */
const BATCH_RECORD = `
local record = redis.call('GET', KEYS[3])
`;

export const TAKE = new LuaScript(`
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
local nowUs = tonumber(t[1]) * 1000000 + tonumber(t[2])
local nowMs = nowUs / 1000
${BATCH_RECORD}
if record then
  local reply = {t[1], t[2]}
  local first = true
  for wait in string.gmatch(record, '%S+') do
    if not first then reply[#reply + 1] = tonumber(wait) end
    first = false
  end
  return reply
end
local emptyIn
local saved = redis.call('GET', KEYS[1])
if saved then
  local at, ms = string.match(saved, '^(%d+) (%S+)$')
  if at and tonumber(at) > nowUs then
    -- The clock stepped back: the last grant counts as made now. Computed from the old time, the bucket would
    -- stay empty for the whole step; rewritten, it refills from now on even while every take is refused.
    at = nowUs
    local left = redis.call('PTTL', KEYS[1])
    if left > 0 then redis.call('SET', KEYS[1], string.format('%.0f %s', nowUs, ms), 'PX', left) end
  end
  if at then emptyIn = tonumber(ms) - (nowUs - tonumber(at)) / 1000 end
end
local me = ARGV[1]
local slack = tonumber(ARGV[2])
local mine
local others = {}
local line = redis.call('HGETALL', KEYS[2])
for i = 1, #line, 2 do
  if line[i] ~= '#' then
    local order, tokens, expires = string.match(line[i + 1], '^(%S+) (%S+) (%S+)$')
    if tonumber(expires) <= nowMs then
      redis.call('HDEL', KEYS[2], line[i])
    elseif line[i] == me then
      mine = {tonumber(order), tonumber(tokens)}
    else
      others[#others + 1] = {tonumber(order), tonumber(tokens)}
    end
  end
end
-- Tokens the tickets ahead of a take wait for: those before its own ticket, else every one.
local function ahead(order)
  local sum = 0
  for _, ticket in ipairs(others) do
    if order == nil or ticket[1] < order then sum = sum + ticket[2] end
  end
  return sum
end
local ttl = 0
-- Tokens of this batch's waiting takes that were refused: the later takes of the batch queue behind them.
local behind = 0
local granted = 0
local reply = {t[1], t[2]}
for i = 4, #ARGV, 4 do
  local tokens = tonumber(ARGV[i])
  local msPerToken = tonumber(ARGV[i + 1])
  local fullSpan = tonumber(ARGV[i + 2]) * msPerToken
  local maxWait = tonumber(ARGV[i + 3])
  local start = -fullSpan
  if emptyIn and emptyIn > start then start = emptyIn end
  local queued
  if maxWait > 0 and mine then queued = ahead(mine[1]) + behind
  elseif behind > 0 then queued = ahead(nil) + behind
  else queued = ahead(nil) + (mine and mine[2] or 0) end
  local missing = start + (queued + tokens) * msPerToken
  if behind == 0 and missing <= 1e-6 then
    emptyIn = start + tokens * msPerToken
    granted = granted + tokens * msPerToken
    ttl = math.max(1, math.ceil(emptyIn + fullSpan))
    if maxWait > 0 and mine then
      mine = nil
      redis.call('HDEL', KEYS[2], me)
    end
    reply[#reply + 1] = 0
  else
    local wait = math.max(1, math.ceil(missing - 1e-6))
    if maxWait > 0 and wait <= maxWait then
      if behind == 0 then
        local order = mine and mine[1] or redis.call('HINCRBY', KEYS[2], '#', 1)
        mine = {order, tokens}
        redis.call('HSET', KEYS[2], me, order .. ' ' .. tokens .. ' ' .. string.format('%.3f', nowMs + wait + slack))
        if redis.call('PTTL', KEYS[2]) < wait + slack then redis.call('PEXPIRE', KEYS[2], math.ceil(wait + slack)) end
      end
      behind = behind + tokens
    end
    reply[#reply + 1] = wait
  end
end
-- The last grant's write is the one a take-by-take run would leave; %.17g round-trips a double exactly.
if ttl > 0 then
  redis.call('SET', KEYS[1], string.format('%.0f %.17g', nowUs, emptyIn), 'PX', ttl)
end
local waits = {string.format('%.17g', granted)}
for i = 3, #reply do waits[#waits + 1] = reply[i] end
redis.call('SET', KEYS[3], table.concat(waits, ' '), 'PX', ARGV[3])
return reply
`);

/** Gives up on the batch of KEYS[3] (ARGV[1]: how long to remember it): see {@link TAKE}. */
export const CANCEL = new LuaScript(`
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
local nowUs = tonumber(t[1]) * 1000000 + tonumber(t[2])
${BATCH_RECORD}
redis.call('SET', KEYS[3], '-1', 'PX', ARGV[1])
local granted = tonumber(record and string.match(record, '^(%S+)') or '0')
if granted <= 0 then return 0 end
-- The bucket is full that much sooner: its state moves back by the time the refunded tokens take to come.
local saved = redis.call('GET', KEYS[1])
local left = redis.call('PTTL', KEYS[1]) - granted
if not saved or left <= 0 then
  redis.call('DEL', KEYS[1])
  return 1
end
local at, ms = string.match(saved, '^(%d+) (%S+)$')
-- A clock that stepped back since the grant: the grant counts as made now.
local emptyIn = tonumber(ms) - math.max(0, nowUs - tonumber(at)) / 1000 - granted
redis.call('SET', KEYS[1], string.format('%.0f %.17g', nowUs, emptyIn), 'PX', math.ceil(left))
return 1
`);
