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
 * One batch of decisions in one round trip: every admission and settlement the gateway had
 * ready, each applied atomically, in order. KEYS holds each key the batch touches once;
 * ARGV[1] is the batch as JSON (one argument, decoded by Redis's cjson, so the client encodes
 * one string rather than dozens of arguments per decision), with keys as indexes into KEYS.
 *
 * Admission {"a":1,"id":lease id,"ttl":ms,"b":[[key,capacity,cost]],"l":[[key,limit]],"s":[[key,usd limit]]}
 * answers [refusal (0 none, 1 budget, 2 concurrency, 3 rate), index (0-based), retry ms, spent, levels...].
 * Settlement {"id":lease id,"d":[[key,capacity,correction]],"l":[key],"s":[[key,usd,limit,expiry ms,[thresholds]]]}
 * answers [[index (0-based), threshold, total]...] for each threshold crossed first here.
 * The reply is the list of answers as JSON.
 */
export const BATCH_SCRIPT = `${PRELUDE}
local function admit(op)
  local buckets, leases, budgets = op.b, op.l, op.s
  local levels = {}
  for i, b in ipairs(buckets) do levels[i] = level(KEYS[b[1]], b[2]) end
  local refusal, index, retry, spent = 0, 0, 0, 0
  for j, s in ipairs(budgets) do
    local total = tonumber(redis.call('HGET', KEYS[s[1]], 'usd') or '0')
    if refusal == 0 and total >= s[2] - 1e-9 then refusal, index, spent = 1, j, total end
  end
  for j, l in ipairs(leases) do
    local key = KEYS[l[1]]
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    if refusal == 0 and redis.call('ZCARD', key) >= l[2] then refusal, index, retry = 2, j, 1000 end
  end
  for i, b in ipairs(buckets) do
    if refusal == 0 and b[3] > levels[i] then refusal, index, retry = 3, i, math.ceil((b[3] - levels[i]) * 60000 / b[2]) end
  end
  if refusal == 0 then
    for i, b in ipairs(buckets) do
      levels[i] = levels[i] - b[3]
      store(KEYS[b[1]], b[2], levels[i])
    end
    for _, l in ipairs(leases) do
      redis.call('ZADD', KEYS[l[1]], now + op.ttl, op.id)
      redis.call('PEXPIRE', KEYS[l[1]], op.ttl)
    end
  end
  local out = {refusal, index - 1, retry, spent}
  for i = 1, #buckets do out[4 + i] = levels[i] end
  return out
end

local function settle(op)
  for _, d in ipairs(op.d) do store(KEYS[d[1]], d[2], math.min(d[2], level(KEYS[d[1]], d[2]) - d[3])) end
  for _, l in ipairs(op.l) do redis.call('ZREM', KEYS[l], op.id) end
  local out = {}
  for j, s in ipairs(op.s) do
    local key, limit = KEYS[s[1]], s[3]
    local total = tonumber(redis.call('HINCRBYFLOAT', key, 'usd', tostring(s[2])))
    redis.call('PEXPIREAT', key, s[4])
    for _, threshold in ipairs(s[5]) do
      if total >= threshold * limit - 1e-9 and redis.call('HSETNX', key, 'f' .. tostring(threshold), 1) == 1 then
        out[#out + 1] = {j - 1, threshold, total}
      end
    end
  end
  return out
end

local answers = {}
for i, op in ipairs(cjson.decode(ARGV[1])) do
  if op.a then answers[i] = admit(op) else answers[i] = settle(op) end
end
return cjson.encode(answers)
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
