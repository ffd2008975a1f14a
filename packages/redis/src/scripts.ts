/**
 * The Lua scripts that make errand's cluster-wide bookkeeping atomic in Redis. Each runs as one step, so two
 * supervisors admitting at once, or a worker and a supervisor both reporting a task's end, cannot interleave.
 */

/**
 * Admission, when a supervisor hands a task to the queue: refuses it if its session already has
 * `maxTasksPerSession` unfinished tasks or `maxQueued` tasks wait cluster-wide; otherwise counts it and
 * returns its place among its session's waiting tasks (1 = the session's only one), which becomes its BullMQ
 * priority, so waiting work starts round-robin across sessions.
 *
 * KEYS: record, queued, session queued, session unfinished. ARGV: maxTasksPerSession, maxQueued.
 * Returns {'ok', place} | {'maxTasksPerSession', count} | {'maxQueued', count} | {'ended'}.
 */
export const ADMIT = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status or cjson.decode(status) ~= 'queued' then return {'ended', 0} end
local unfinished = tonumber(redis.call('GET', KEYS[4]) or '0')
if unfinished >= tonumber(ARGV[1]) then return {'maxTasksPerSession', unfinished} end
local queued = tonumber(redis.call('GET', KEYS[2]) or '0')
if queued >= tonumber(ARGV[2]) then return {'maxQueued', queued} end
redis.call('INCR', KEYS[4])
redis.call('INCR', KEYS[2])
local place = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], '_admitted', '1')
return {'ok', place}
`;

/**
 * A record update, from any writer. A terminal record takes only its output tail (which the supervisor that
 * delegated it computes); a status it already has is not written twice; steering counts only grow; `_append`
 * adds one transition. Counters follow the status (started: one fewer waiting; ended: one fewer unfinished),
 * a finished record expires after ARGV[4] seconds, and the applied fields are published to the change channel.
 *
 * A worker's report rides along in the same step: an event for the feed stream (ARGV[6]) and output chunks for
 * the task's stream (ARGV[7]), each skipped when empty, so one run event costs one round trip.
 *
 * KEYS: record, queued, session queued, session unfinished, checkpoint, steering, output, stop, handback, feed.
 * ARGV: fields (JSON object of JSON strings), channel, origin, ttl seconds, task id, feed event, output chunks,
 * feed length, output length.
 */
export const UPDATE = `
if ARGV[6] ~= '' then
  redis.call('XADD', KEYS[10], 'MAXLEN', '~', ARGV[8], '*', 'd', ARGV[6])
end
if ARGV[7] ~= '' then
  redis.call('XADD', KEYS[7], 'MAXLEN', '~', ARGV[9], '*', 'c', ARGV[7])
end
if ARGV[1] == '{}' then return 0 end
local raw = redis.call('HGET', KEYS[1], 'status')
if not raw then return 0 end
local cur = cjson.decode(raw)
local patch = cjson.decode(ARGV[1])
local applied = {}
local n = 0
if cur ~= 'queued' and cur ~= 'running' then
  for _, f in ipairs({'output', 'outputLines', 'droppedLines'}) do
    if patch[f] ~= nil then applied[f] = patch[f]; n = n + 1 end
  end
else
  local new = nil
  if patch['status'] ~= nil then new = cjson.decode(patch['status']) end
  if new == cur then
    patch['status'] = nil
    patch['transitions'] = nil
    patch['_append'] = nil
    patch['startedAt'] = nil
    new = nil
  end
  if patch['_append'] ~= nil then
    local list = cjson.decode(redis.call('HGET', KEYS[1], 'transitions') or '[]')
    table.insert(list, cjson.decode(patch['_append']))
    patch['transitions'] = cjson.encode(list)
    patch['_append'] = nil
  end
  if patch['steering'] ~= nil then
    local old = redis.call('HGET', KEYS[1], 'steering')
    if old then
      local o = cjson.decode(old)
      local p = cjson.decode(patch['steering'])
      patch['steering'] = cjson.encode({sent = math.max(o.sent, p.sent), delivered = math.max(o.delivered, p.delivered)})
    end
  end
  if new ~= nil then
    local admitted = redis.call('HGET', KEYS[1], '_admitted') == '1'
    if admitted and cur == 'queued' then
      redis.call('DECR', KEYS[2])
      redis.call('DECR', KEYS[3])
    end
    if new ~= 'queued' and new ~= 'running' then
      if admitted then redis.call('DECR', KEYS[4]) end
      local ttl = tonumber(ARGV[4])
      for i = 5, 9 do redis.call('EXPIRE', KEYS[i], ttl) end
      redis.call('EXPIRE', KEYS[1], ttl)
    end
  end
  for f, v in pairs(patch) do applied[f] = v; n = n + 1 end
end
if n == 0 then return 0 end
local flat = {}
for f, v in pairs(applied) do
  flat[#flat + 1] = f
  flat[#flat + 1] = v
end
redis.call('HSET', KEYS[1], unpack(flat))
redis.call('PUBLISH', ARGV[2], cjson.encode({id = ARGV[5], o = ARGV[3], f = applied}))
return 1
`;
