-- Per-bidder token bucket, atomic on the server clock.
--
-- KEYS[1]  the bucket hash (one per bidder and drop, e.g. "{drop-id}:rl:<bidder>")
-- ARGV[1]  capacity: the burst a bidder may send at once (tokens, integer >= 1)
-- ARGV[2]  refill rate in tokens per second (integer >= 1)
-- ARGV[3]  cost of this request in tokens (integer >= 1)
--
-- Returns {allowed (1/0), tokens left, milliseconds until the cost is available again}.
-- Time comes from Redis' own TIME, so every gateway process shares one clock and a gateway
-- with a skewed clock cannot hand out extra tokens. The key expires once the bucket would be
-- full again, so idle bidders cost no memory.

local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
if not capacity or not rate or not cost or capacity < 1 or rate < 1 or cost < 1 then
  return redis.error_reply("ERR rate_limit: capacity, rate and cost must be integers >= 1")
end

local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens, ts = capacity * 1000, now_ms
end

-- Refill in whole milli-tokens so no float drift accumulates across calls.
local elapsed = math.max(0, now_ms - ts)
tokens = math.min(capacity * 1000, tokens + elapsed * rate)

local allowed = 0
local wait_ms = 0
if tokens >= cost * 1000 then
  tokens = tokens - cost * 1000
  allowed = 1
else
  wait_ms = math.ceil((cost * 1000 - tokens) / rate)
end

redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now_ms)
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity * 1000 - tokens) / rate) + 1000)
return {allowed, math.floor(tokens / 1000), wait_ms}
