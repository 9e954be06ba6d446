/**
 * Lua for the Redis backend. One call applies a batch of decisions, each atomically; ioredis
 * sends the text once per connection and EVALSHA after. Time comes from Redis (TIME), so
 * replicas with skewed clocks still share one clock. Every key a script touches is passed in
 * KEYS and carries the same hash tag, so the scripts also run on Redis Cluster.
 *
 * Buckets are hashes {v = tokens, t = ms}; leases are sorted sets scored by expiry;
 * spend totals are hashes {usd, f<threshold> = fired}.
 */

const PRELUDE = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local function level(key, cap)
  local state = redis.call('HMGET', key, 'v', 't')
  local v = tonumber(state[1])
  if v == nil then return cap end
  return math.min(cap, v + math.max(0, now - tonumber(state[2])) * cap / 60000)
end
local function store(key, cap, v)
  redis.call('HSET', key, 'v', tostring(v), 't', now)
  redis.call('PEXPIRE', key, math.max(1000, math.ceil((cap - v) * 60000 / cap) + 1000))
end
`;

/**
 * One batch of decisions in one round trip: every admission and settlement the gateway
 * had ready in one turn of its event loop, each applied atomically in order.
 *
 * ARGV: #operations, then per operation its kind and arguments; KEYS are consumed in order.
 * Admission ('a'): #buckets, #leases, #budgets, lease id, lease ttl ms, (capacity, cost) per bucket,
 * limit per lease set, limit (USD) per budget; keys: buckets, lease sets, spend totals.
 * Returns {refusal (0 none, 1 budget, 2 concurrency, 3 rate), index, retry ms, spent, level...}.
 * Settlement ('s'): #adjust, #leases, #spend, lease id, (capacity, correction) per bucket, then per
 * spend total: usd, limit, expiry (epoch ms), #thresholds, thresholds...; keys: buckets, lease sets,
 * spend totals. Returns {index, threshold, total} for each threshold crossed first here.
 */
export const BATCH_SCRIPT = `${PRELUDE}
local function admit(k, a)
  local nb, nl, ns = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local lease_id, ttl = ARGV[a + 3], tonumber(ARGV[a + 4])
  local pairs_at, leases_at = a + 5, a + 5 + 2 * nb
  local budgets_at = leases_at + nl
  local levels = {}
  for i = 1, nb do levels[i] = level(KEYS[k + i], tonumber(ARGV[pairs_at + 2 * i - 2])) end
  local refusal, index, retry, spent = 0, 0, 0, '0'
  for j = 1, ns do
    local total = redis.call('HGET', KEYS[k + nb + nl + j], 'usd') or '0'
    if refusal == 0 and tonumber(total) >= tonumber(ARGV[budgets_at + j - 1]) - 1e-9 then refusal, index, spent = 1, j, total end
  end
  for j = 1, nl do
    local key = KEYS[k + nb + j]
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    if refusal == 0 and redis.call('ZCARD', key) >= tonumber(ARGV[leases_at + j - 1]) then refusal, index, retry = 2, j, 1000 end
  end
  for i = 1, nb do
    local cap, cost = tonumber(ARGV[pairs_at + 2 * i - 2]), tonumber(ARGV[pairs_at + 2 * i - 1])
    if refusal == 0 and cost > levels[i] then refusal, index, retry = 3, i, math.ceil((cost - levels[i]) * 60000 / cap) end
  end
  if refusal == 0 then
    for i = 1, nb do
      local cap, cost = tonumber(ARGV[pairs_at + 2 * i - 2]), tonumber(ARGV[pairs_at + 2 * i - 1])
      levels[i] = levels[i] - cost
      store(KEYS[k + i], cap, levels[i])
    end
    for j = 1, nl do
      redis.call('ZADD', KEYS[k + nb + j], now + ttl, lease_id)
      redis.call('PEXPIRE', KEYS[k + nb + j], ttl)
    end
  end
  local out = {refusal, index - 1, retry, spent}
  for i = 1, nb do out[4 + i] = tostring(levels[i]) end
  return out, k + nb + nl + ns, budgets_at + ns
end

local function settle(k, a)
  local na, nl, ns = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local lease_id = ARGV[a + 3]
  local at = a + 4
  for i = 1, na do
    local cap, delta = tonumber(ARGV[at]), tonumber(ARGV[at + 1])
    store(KEYS[k + i], cap, math.min(cap, level(KEYS[k + i], cap) - delta))
    at = at + 2
  end
  for j = 1, nl do redis.call('ZREM', KEYS[k + na + j], lease_id) end
  local out = {}
  for j = 1, ns do
    local key = KEYS[k + na + nl + j]
    local total = redis.call('HINCRBYFLOAT', key, 'usd', ARGV[at])
    local limit, count = tonumber(ARGV[at + 1]), tonumber(ARGV[at + 3])
    redis.call('PEXPIREAT', key, ARGV[at + 2])
    for t = 1, count do
      local threshold = ARGV[at + 3 + t]
      if tonumber(total) >= tonumber(threshold) * limit - 1e-9 and redis.call('HSETNX', key, 'f' .. threshold, 1) == 1 then
        out[#out + 1] = j - 1
        out[#out + 1] = threshold
        out[#out + 1] = total
      end
    end
    at = at + 4 + count
  end
  return out, k + na + nl + ns, at
end

local results = {}
local k, a = 0, 2
for op = 1, tonumber(ARGV[1]) do
  local kind = ARGV[a]
  if kind == 'a' then results[op], k, a = admit(k, a + 1) else results[op], k, a = settle(k, a + 1) end
end
return results
`;

/**
 * KEYS: spend totals. ARGV per key: usd, limit, expiry, #thresholds, thresholds...
 * Raises each total to at least usd and marks the thresholds it has reached as fired.
 */
export const SEED_SCRIPT = `
local at = 1
for k = 1, #KEYS do
  local key = KEYS[k]
  local usd, limit, count = tonumber(ARGV[at]), tonumber(ARGV[at + 1]), tonumber(ARGV[at + 3])
  local total = tonumber(redis.call('HGET', key, 'usd') or '0')
  if usd > total then
    redis.call('HSET', key, 'usd', ARGV[at])
    total = usd
  end
  redis.call('PEXPIREAT', key, ARGV[at + 2])
  for t = 1, count do
    local threshold = ARGV[at + 3 + t]
    if total >= tonumber(threshold) * limit - 1e-9 then redis.call('HSETNX', key, 'f' .. threshold, 1) end
  end
  at = at + 4 + count
end
return #KEYS
`;
