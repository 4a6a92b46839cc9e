-- observers: one fan-out process reports how many observers of one drop it holds, and the
-- region's peak is raised if the region's count is now above it.
--
-- Called by gavel/fanout/presence.py every few seconds for each drop the process has sockets
-- for (and once more when it leaves). The hash layout is gavel/observer_hash.py's; key names
-- come from gavel/keys.py.
--
-- KEYS[1] rules      hash  the drop's rules (a copy in every participating region): a drop
--                          this region does not have gets nothing written, so random names
--                          leave no keys and a removed drop's hash is not made again
-- KEYS[2] observers  hash  p:<process> -> "<current> <expires_ms>", peak, peak_ms
-- ARGV: process, current, interval_peak (its most since its last report), ttl_ms
--
-- The region's count is the sum over its live processes (entries past their expiry are
-- removed here: a process that died without leaving). A report of zero (the last socket
-- went, or the process is stopping) removes the process's entry. The peak candidate is this
-- process's interval peak plus the others' last reported counts. Returns {region count,
-- region peak}, or nil for a drop this region does not have.

if redis.call('EXISTS', KEYS[1]) == 0 then
  return false
end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local me = 'p:' .. ARGV[1]
local current, interval_peak = tonumber(ARGV[2]), tonumber(ARGV[3])
local ttl_ms = tonumber(ARGV[4])

local others = 0
local raw = redis.call('HGETALL', KEYS[2])
for i = 1, #raw, 2 do
  local field = raw[i]
  if field ~= me and string.sub(field, 1, 2) == 'p:' then
    local count, expires = string.match(raw[i + 1], '^(%d+) (%d+)$')
    if count and tonumber(expires) >= now then
      others = others + tonumber(count)
    else
      redis.call('HDEL', KEYS[2], field)
    end
  end
end

if current == 0 then
  redis.call('HDEL', KEYS[2], me)
else
  redis.call('HSET', KEYS[2], me, string.format('%d %d', current, now + ttl_ms))
end

local candidate = others + interval_peak
local peak = tonumber(redis.call('HGET', KEYS[2], 'peak') or '0')
if candidate > peak then
  peak = candidate
  redis.call('HSET', KEYS[2], 'peak', string.format('%d', peak), 'peak_ms', string.format('%d', now))
end
return {others + current, peak}
