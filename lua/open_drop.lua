-- open_drop: put a drop's rules into Redis, idempotently, refusing unfair changes.
--
-- Safe to run again and again (the operator and `gavel drops open` both do). The policy is
-- gavel.auction.rule_change_errors: before the drop opens anything may change; after it
-- opened, the end and the hard stop may only move later, a drop may be cancelled but not
-- reopened, and every other rule is frozen.
--
-- KEYS[1] rules  hash
-- KEYS[2] state  hash
-- ARGV    field, value, field, value, ... for every rule (see gavel.drops.rules_fields)
--
-- Returns "created", "unchanged" or "updated"; an unfair change is an error reply
-- "ERR rules_frozen: <field>: <why>" and changes nothing.

local new = {}
for i = 1, #ARGV, 2 do new[ARGV[i]] = ARGV[i + 1] end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local old_list = redis.call('HGETALL', KEYS[1])
if #old_list == 0 then
  redis.call('HSET', KEYS[1], unpack(ARGV))
  redis.call('HSET', KEYS[2], 'seq', '0', 'ends_at_ms', new.ends_at_ms, 'bids', '0',
    'attempts', '0')
  return 'created'
end
local old = {}
for i = 1, #old_list, 2 do old[old_list[i]] = old_list[i + 1] end

local changed = {}
for field, value in pairs(new) do
  if old[field] ~= value then table.insert(changed, field) end
end
if #changed == 0 then return 'unchanged' end
table.sort(changed)

local opened = now >= tonumber(old.opens_at_ms)
if opened then
  for _, field in ipairs(changed) do
    local o, v = tonumber(old[field]), tonumber(new[field])
    local why = nil
    if field == 'ends_at_ms' then
      if v < o then why = 'may only move later once the drop opened' end
    elseif field == 'hard_stop_ms' then
      if o == 0 then why = 'cannot be added once the drop opened'
      elseif v ~= 0 and v < o then why = 'may only move later once the drop opened' end
    elseif field == 'cancelled' then
      if old[field] == '1' then why = 'a cancelled drop cannot be reopened' end
    else
      why = 'is frozen once the drop opened'
    end
    if why then
      return redis.error_reply('ERR rules_frozen: ' .. field .. ': ' .. why)
    end
  end
end

redis.call('HSET', KEYS[1], unpack(ARGV))
local ends = redis.call('HGET', KEYS[2], 'ends_at_ms')
if not opened or tonumber(new.ends_at_ms) > tonumber(ends) then
  -- Before opening the end is simply replaced; afterwards it only grows (soft close may have
  -- pushed the live end past the new scheduled one already).
  redis.call('HSET', KEYS[2], 'ends_at_ms', new.ends_at_ms)
end
return 'updated'
