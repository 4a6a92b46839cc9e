-- wrk script for bench/gateway.py: POST bids with unique bid ids and rising amounts, spread
-- over the bidder tokens in $GAVEL_BENCH_TOKENS (one per line) and the drop $GAVEL_BENCH_DROP.

local tokens = {}
local counter = 0
local thread_no = 0
local threads = {}

function setup(thread)
  thread:set("thread_no", #threads)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(os.getenv("GAVEL_BENCH_TOKENS")) do
    table.insert(tokens, line)
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.path = "/v1/drops/" .. os.getenv("GAVEL_BENCH_DROP") .. "/bids"
end

function request()
  counter = counter + 1
  local token = tokens[(counter * 7 + thread_no) % #tokens + 1]
  wrk.headers["Authorization"] = "Bearer " .. token
  local body = string.format('{"bid_id":"w%d-%d","amount":%d}', thread_no, counter,
    1000 + counter * 16 + thread_no)
  return wrk.format(nil, nil, nil, body)
end
