-- place_bid: decide one bid attempt atomically and write its outcome to the drop's outbox.
--
-- The reference model of these rules is workloads/src/gavel/auction.py; tests replay every
-- decision made here through it. Key names come from gavel/keys.py; the outbox fields are read
-- by gavel/events.py (BidEvent.from_stream).
--
-- KEYS[1] rules   hash  (written by open_drop.lua)
-- KEYS[2] state   hash  seq, high_bid, leader, leader_bid_id, ends_at_ms, bids, attempts,
--                       chain_n, chain (the head of the drop's audit hash chain)
-- KEYS[3] bids    hash  "<bidder>\n<bid_id>" -> first outcome (JSON): the idempotency record
-- KEYS[4] events  stream, the transactional outbox the relay drains into Kafka
-- KEYS[5] bucket  hash  this bidder's token bucket on this drop
-- ARGV: drop_id, bidder, bid_id, amount, event_id, received_ms, region, rl_capacity, rl_rate,
--       live_channel
--
-- Returns the outcome as a JSON object of strings (numbers are formatted with %d: cjson and
-- tostring would print 1e+15): outcome, reason, event_id, seq, high_bid, leader, prev_leader,
-- min_next, ends_at_ms, reserve_met, decided_ms, duplicate, retry_after_ms, chain_n, chain_prev,
-- chain_hash.
--
-- Every outcome this script records (accepted, rejected, rate limited) is a link of the drop's
-- audit hash chain, made here so the chain follows the order of decisions: the link's hash is
-- sha1hex of the encoding spelled in gavel/chain.py (and docs/audit.md), over the outbox
-- entry's values in their order. The head lives in the state hash, replicated with the entry.

local MAX_AMOUNT = 1000000000000000  -- gavel.auction.MAX_AMOUNT; exact in a double
local CHAIN_TAG, GENESIS = 'gavel-chain-1', '0000000000000000000000000000000000000000'  -- gavel.chain

local drop_id, bidder, bid_id = ARGV[1], ARGV[2], ARGV[3]
local amount_arg, event_id, received_ms, region = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local rl_capacity, rl_rate, live_channel = tonumber(ARGV[8]), tonumber(ARGV[9]), ARGV[10]

local function n(x) return string.format('%d', x) end

-- No text this script records may hold a newline: the idempotency key joins bidder and bid_id
-- with one, and the audit chain's encoding ends every value with one (gavel/chain.py). The
-- gateway's patterns never let one through; any other caller gets an error and nothing changes.
if string.find(bidder .. bid_id .. event_id .. region .. received_ms, '\n', 1, true) then
  return redis.error_reply('ERR invalid_argument: a newline in bidder, bid_id, event_id or region')
end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

-- 1. A repeated (bidder, bid_id) gets the first answer and changes nothing.
local idem_field = bidder .. '\n' .. bid_id
local first = redis.call('HGET', KEYS[3], idem_field)
if first then
  local o = cjson.decode(first)
  o.duplicate = '1'
  return cjson.encode(o)
end

local r = redis.call('HMGET', KEYS[1], 'start_price', 'reserve', 'increments', 'opens_at_ms',
  'hard_stop_ms', 'soft_window_ms', 'soft_extension_ms', 'cancelled')
if not r[1] then
  -- No stream is made for an id nobody opened; the gateway records this attempt itself.
  return cjson.encode({outcome = 'rejected', reason = 'unknown_drop', event_id = event_id,
    decided_ms = n(now), duplicate = '0'})
end
local start_price, reserve = tonumber(r[1]), tonumber(r[2])
local opens_at, hard_stop = tonumber(r[4]), tonumber(r[5])
local soft_window, soft_ext = tonumber(r[6]), tonumber(r[7])
local cancelled = r[8] == '1'

local s = redis.call('HMGET', KEYS[2], 'seq', 'high_bid', 'leader', 'ends_at_ms', 'chain_n',
  'chain', 'attempts')
if not s[4] then
  -- Rules without state: a copy in a region that is not the drop's home. Never decide here.
  return cjson.encode({outcome = 'rejected', reason = 'unknown_drop', event_id = event_id,
    decided_ms = n(now), duplicate = '0'})
end
local seq = tonumber(s[1]) or 0
local high = tonumber(s[2])
local leader = s[3] or ''
local ends_at = tonumber(s[4])

local function min_next()
  if high == nil then return start_price end
  local step = 0
  for from, inc in string.gmatch(r[3], '(%d+):(%d+)') do
    if tonumber(from) <= high then step = tonumber(inc) else break end
  end
  return high + step
end

local function outcome(result, reason, prev_leader)
  return {
    outcome = result, reason = reason, event_id = event_id, seq = n(seq),
    high_bid = high and n(high) or '', leader = leader, prev_leader = prev_leader,
    min_next = n(min_next()), ends_at_ms = n(ends_at),
    reserve_met = (high ~= nil and high >= reserve) and '1' or '0',
    decided_ms = n(now), duplicate = '0', retry_after_ms = '0',
    chain_n = '', chain_prev = '', chain_hash = '',
  }
end

-- The amount as the audit row will hold it (gavel.events._amount): a canonical decimal as is,
-- anything else as 0, so the row's values encode to the bytes hashed here.
local amount_text = '0'
if string.match(amount_arg, '^%-?[1-9]%d*$') then amount_text = amount_arg end

local function record(o)
  -- The outbox entry is written by the same script as the decision: neither exists alone.
  local f = {
    'event_id', event_id, 'drop', drop_id, 'bidder', bidder, 'bid_id', bid_id,
    'amount', amount_text, 'outcome', o.outcome, 'reason', o.reason, 'seq', o.seq,
    'high_bid', o.high_bid, 'leader', o.leader, 'prev_leader', o.prev_leader,
    'min_next', o.min_next, 'ends_at_ms', o.ends_at_ms, 'reserve_met', o.reserve_met,
    'received_ms', received_ms, 'decided_ms', o.decided_ms, 'region', region,
  }
  local counts = {'attempts', n((tonumber(s[7]) or 0) + 1)}
  -- chain: begin (bench/chain.py cuts from here to "chain: end" to measure what it costs)
  local link_n, prev = (tonumber(s[5]) or 0) + 1, s[6] or GENESIS
  local parts = {CHAIN_TAG, prev, n(link_n)}
  for i = 2, #f, 2 do parts[#parts + 1] = f[i] end
  parts[#parts + 1] = ''
  local hash = redis.sha1hex(table.concat(parts, '\n'))
  o.chain_n, o.chain_prev, o.chain_hash = n(link_n), prev, hash
  local k = #f
  f[k + 1], f[k + 2], f[k + 3], f[k + 4], f[k + 5], f[k + 6] =
    'chain_n', o.chain_n, 'chain_prev', prev, 'chain_hash', hash
  counts[3], counts[4], counts[5], counts[6] = 'chain_n', o.chain_n, 'chain', hash
  -- chain: end
  redis.call('XADD', KEYS[4], '*', unpack(f))
  redis.call('HSET', KEYS[2], unpack(counts))
end

-- 2. Per-bidder token bucket in milli-tokens on the server clock. A limited attempt is audited
-- but not remembered, so the same bid_id may be retried once the wait is over.
local bucket = redis.call('HMGET', KEYS[5], 'tokens', 'ts')
local tokens, ts = tonumber(bucket[1]), tonumber(bucket[2])
if tokens == nil or ts == nil then tokens, ts = rl_capacity * 1000, now end
tokens = math.min(rl_capacity * 1000, tokens + math.max(0, now - ts) * rl_rate)
local limited = tokens < 1000
if not limited then tokens = tokens - 1000 end
redis.call('HSET', KEYS[5], 'tokens', n(tokens), 'ts', n(now))
redis.call('PEXPIRE', KEYS[5], n(math.ceil((rl_capacity * 1000 - tokens) / rl_rate) + 1000))
if limited then
  local o = outcome('rejected', 'rate_limited', '')
  o.retry_after_ms = n(math.ceil((1000 - tokens) / rl_rate))
  record(o)
  return cjson.encode(o)
end

-- 3. The auction rules, in the order of gavel.auction._rejection.
-- Only a canonical decimal is an amount: the row must hold the amount that was decided.
local amount = amount_text == amount_arg and tonumber(amount_arg) or nil
local reason = nil
if cancelled then reason = 'cancelled'
elseif now < opens_at then reason = 'not_open'
elseif now >= ends_at then reason = 'closed'
elseif amount == nil or amount ~= math.floor(amount) or amount < 1 or amount > MAX_AMOUNT then
  reason = 'invalid_amount'
elseif amount < min_next() then reason = 'below_minimum'
end

local o
if reason then
  o = outcome('rejected', reason, '')
else
  if soft_window > 0 and ends_at - now <= soft_window then
    ends_at = math.max(ends_at, now + soft_ext)
    if hard_stop > 0 then ends_at = math.min(ends_at, hard_stop) end
  end
  local prev_leader = leader
  seq, high, leader = seq + 1, amount, bidder
  redis.call('HSET', KEYS[2], 'seq', n(seq), 'high_bid', n(amount), 'leader', bidder,
    'leader_bid_id', bid_id, 'ends_at_ms', n(ends_at))
  redis.call('HINCRBY', KEYS[2], 'bids', 1)
  o = outcome('accepted', 'accepted', prev_leader)
end
record(o)
local encoded = cjson.encode(o)
redis.call('HSET', KEYS[3], idem_field, encoded)
if o.outcome == 'accepted' then redis.call('PUBLISH', live_channel, encoded) end
return encoded
