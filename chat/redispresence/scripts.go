package redispresence

import "github.com/redis/go-redis/v9"

// The Lua scripts. Every script gets the liveness key as KEYS[1] (and the
// sweep key as KEYS[2] where it uses it), so that a Redis Cluster client
// sends it to the node of the prefix's hash slot; the room and node keys a
// script touches are built from the prefix inside the script, and they
// all hash to that same slot (see doc.go).
//
// Encodings (lengths are in bytes):
//
//	room    len(namespace) ":" namespace room          e.g. "5:/userchat"
//	entry   len(room) ":" room sid                     member of a node set
//	socket  len(incarnation) ":" incarnation user      value in a room's socket hash
//
// Room keys are prefix "r:" room ":s" (sid -> socket), ":u" (user -> its
// socket count), ":z" (user names, all scores 0) and ":o" (user -> role).
// Node keys are prefix "n:" incarnation (a set of entries).
const luaLib = `
local function dec(s)
  local i = string.find(s, ':', 1, true)
  local n = tonumber(string.sub(s, 1, i - 1))
  return string.sub(s, i + 1, i + n), string.sub(s, i + n + 1)
end

local function nowms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- addEntry records socket sid of user in room for incarnation inc. It
-- returns 1 when the user joined, 2 when the socket is new but the user was
-- there already, 0 when the socket was there (a socket of an earlier
-- incarnation is taken over by inc, without a change of the counts).
local function addEntry(pfx, inc, room, sid, user, role)
  local rk = pfx .. 'r:' .. room
  local entry = string.len(room) .. ':' .. room .. sid
  local v = redis.call('HGET', rk .. ':s', sid)
  if v then
    local owner, name = dec(v)
    if owner ~= inc then
      redis.call('HSET', rk .. ':s', sid, string.len(inc) .. ':' .. inc .. name)
      redis.call('SREM', pfx .. 'n:' .. owner, entry)
      redis.call('SADD', pfx .. 'n:' .. inc, entry)
    end
    return 0
  end
  redis.call('HSET', rk .. ':s', sid, string.len(inc) .. ':' .. inc .. user)
  redis.call('SADD', pfx .. 'n:' .. inc, entry)
  if redis.call('HINCRBY', rk .. ':u', user, 1) == 1 then
    redis.call('ZADD', rk .. ':z', 0, user)
    redis.call('HSET', rk .. ':o', user, role)
    return 1
  end
  return 2
end

-- removeEntry removes socket sid from room and returns its user and 1 if
-- that was the user's last socket there (else 0), or nil if the socket is
-- not there. With owner set, only a socket of that incarnation is removed
-- and its entry is not looked for in the node set (the sweep popped it).
local function removeEntry(pfx, room, sid, owner)
  local rk = pfx .. 'r:' .. room
  local v = redis.call('HGET', rk .. ':s', sid)
  if not v then return nil end
  local inc, name = dec(v)
  if owner then
    if inc ~= owner then return nil end
  else
    redis.call('SREM', pfx .. 'n:' .. inc, string.len(room) .. ':' .. room .. sid)
  end
  redis.call('HDEL', rk .. ':s', sid)
  if redis.call('HINCRBY', rk .. ':u', name, -1) <= 0 then
    redis.call('HDEL', rk .. ':u', name)
    redis.call('ZREM', rk .. ':z', name)
    redis.call('HDEL', rk .. ':o', name)
    return name, 1
  end
  return name, 0
end
`

// addScript: ARGV pfx, inc, then for each socket added, in order: room,
// sid, user, role. Returns {-1} when inc is not alive (it was declared
// dead, or Redis lost it), else, for each socket, addEntry's result, the
// room's clients and its users after that socket's addition. One call
// adds a whole batch (Presence.runAdds): Redis runs one script instead
// of one per socket.
var addScript = redis.NewScript(luaLib + `
if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then return {-1} end
local out = {}
for i = 3, #ARGV - 3, 4 do
  local res = addEntry(ARGV[1], ARGV[2], ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3])
  local rk = ARGV[1] .. 'r:' .. ARGV[i]
  out[#out + 1] = res
  out[#out + 1] = redis.call('HLEN', rk .. ':s')
  out[#out + 1] = redis.call('HLEN', rk .. ':u')
end
return out
`)

// removeScript: ARGV pfx, room, sid. Returns {user, left}.
var removeScript = redis.NewScript(luaLib + `
local name, left = removeEntry(ARGV[1], ARGV[2], ARGV[3], nil)
if not name then return {'', 0} end
return {name, left}
`)

// statsScript: ARGV pfx, room. Returns {clients, users}.
var statsScript = redis.NewScript(`
local rk = ARGV[1] .. 'r:' .. ARGV[2]
return {redis.call('HLEN', rk .. ':s'), redis.call('HLEN', rk .. ':u')}
`)

// usersScript: ARGV pfx, room, limit. Returns {total, name1, role1, ...}.
var usersScript = redis.NewScript(`
local rk = ARGV[1] .. 'r:' .. ARGV[2]
local out = {redis.call('ZCARD', rk .. ':z')}
local limit = tonumber(ARGV[3])
if limit > 0 then
  for _, name in ipairs(redis.call('ZRANGE', rk .. ':z', 0, limit - 1)) do
    out[#out + 1] = name
    out[#out + 1] = redis.call('HGET', rk .. ':o', name) or ''
  end
end
return out
`)

// registerScript: ARGV inc, ttl (ms). Makes inc alive until now+ttl.
var registerScript = redis.NewScript(luaLib + `
redis.call('ZADD', KEYS[1], nowms() + tonumber(ARGV[2]), ARGV[1])
return 1
`)

// heartbeatScript: ARGV inc, ttl (ms). Extends the liveness of inc and
// returns 1, or returns 0 when inc is not alive any more.
var heartbeatScript = redis.NewScript(luaLib + `
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], nowms() + tonumber(ARGV[2]), ARGV[1])
return 1
`)

// claimScript: KEYS live, sweep; ARGV ttl (ms), max. Claims up to max
// incarnations whose liveness expired, and up to max whose sweep lease
// expired (their sweeper stopped midway): each is moved to the sweep set
// with a lease of ttl. Returns the claimed incarnations; the ZREM makes the
// claim of an expired one happen exactly once.
var claimScript = redis.NewScript(luaLib + `
local now = nowms()
local ttl, max = tonumber(ARGV[1]), tonumber(ARGV[2])
local out = {}
for _, n in ipairs(redis.call('ZRANGE', KEYS[1], '-inf', now, 'BYSCORE', 'LIMIT', 0, max)) do
  redis.call('ZREM', KEYS[1], n)
  redis.call('ZADD', KEYS[2], now + ttl, n)
  out[#out + 1] = n
end
for _, n in ipairs(redis.call('ZRANGE', KEYS[2], '-inf', now, 'BYSCORE', 'LIMIT', 0, max)) do
  redis.call('ZADD', KEYS[2], now + ttl, n)
  out[#out + 1] = n
end
return out
`)

// retireScript: KEYS live, sweep; ARGV inc, ttl (ms). Moves a live inc to
// the sweep set (a graceful stop, or an incarnation replaced by a newer
// one) and returns 1; returns 0 when inc is not alive.
var retireScript = redis.NewScript(luaLib + `
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], nowms() + tonumber(ARGV[2]), ARGV[1])
return 1
`)

// sweepScript: KEYS live, sweep; ARGV pfx, inc, batch, ttl (ms). Renews
// the sweep lease of inc and removes up to batch of its entries. Returns
// {done, {room, left users...}, ...}: one array per room touched, with the
// users whose last socket there was removed; done is 1 once inc has no
// entries left (it is then no longer in the sweep set), or when inc is not
// in the sweep set at all (another sweeper finished it).
var sweepScript = redis.NewScript(luaLib + `
if not redis.call('ZSCORE', KEYS[2], ARGV[2]) then return {1} end
redis.call('ZADD', KEYS[2], nowms() + tonumber(ARGV[4]), ARGV[2])
local set = ARGV[1] .. 'n:' .. ARGV[2]
local rooms, out = {}, {0}
for _, e in ipairs(redis.call('SPOP', set, tonumber(ARGV[3]))) do
  local room, sid = dec(e)
  local name, left = removeEntry(ARGV[1], room, sid, ARGV[2])
  if name then
    local t = rooms[room]
    if not t then
      t = {room}
      rooms[room] = t
      out[#out + 1] = t
    end
    if left == 1 then t[#t + 1] = name end
  end
end
if redis.call('SCARD', set) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[2])
  out[1] = 1
end
return out
`)

// restoreScript: ARGV pfx, inc, then room, sid, user, role for each entry.
// Adds the entries for inc as addScript does (taking over sockets still
// held by an earlier incarnation) and returns {{room, joined users...}, ...}
// for each room where a socket was added.
var restoreScript = redis.NewScript(luaLib + `
local rooms, out = {}, {}
for i = 3, #ARGV, 4 do
  local r = addEntry(ARGV[1], ARGV[2], ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3])
  if r > 0 then
    local t = rooms[ARGV[i]]
    if not t then
      t = {ARGV[i]}
      rooms[ARGV[i]] = t
      out[#out + 1] = t
    end
    if r == 1 then t[#t + 1] = ARGV[i + 2] end
  end
end
return out
`)
