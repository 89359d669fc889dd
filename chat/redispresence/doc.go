// Package redispresence implements chat.Presence on Redis for a cluster
// of chatd nodes: every node sees the same rooms, counts and names, and the
// entries of a node that dies without a word are removed by the others
// within seconds.
//
// # Use
//
//	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	p, err := redispresence.New(rdb, redispresence.Options{
//		Prefix:   "chatd",
//		OnExpire: func(room chat.RoomID, left []string) { /* send the room its new members */ },
//	})
//	if err != nil { ... }
//	defer p.Close(ctx)
//
// Each node calls Add and Remove for its own sockets only (the node that
// holds the socket), and may read any room.
//
// It needs Redis 6.2 or later (ZRANGE BYSCORE in scripts).
//
// # Cost
//
// Add, Remove and Stats are one round trip each, running a Lua script
// (EVALSHA, EVAL the first time) of constant work whatever the room's
// size; Users is one round trip of O(log n + limit). Nothing lists a
// room's sockets.
//
// # Key layout
//
// Every key starts with the prefix in braces, "{chatd}" for Prefix
// "chatd", so that on a Redis Cluster all keys of a prefix hash to one
// slot (the scripts build room and node keys from the prefix, which
// Redis Cluster allows within a slot; the prefix is then served by one
// shard). A room is written len(namespace) ":" namespace room, e.g.
// "5:/userchat"; an incarnation is NodeID "-" 8 random hex digits.
//
//	{P}r:<room>:s   hash  socket id -> len(inc) ":" inc user name
//	{P}r:<room>:u   hash  user name -> number of its sockets in the room
//	{P}r:<room>:z   zset  user names, all scores 0 (so sorted by bytes)
//	{P}r:<room>:o   hash  user name -> role
//	{P}n:<inc>      set   the entries (len(room) ":" room sid) of an incarnation
//	{P}live         zset  incarnation -> expiry, in ms of Redis' clock
//	{P}sweep        zset  incarnation being swept -> end of the sweeper's lease
//
// Only room names, socket ids, user names, roles and node ids are stored:
// no handshake, cookie or other secret goes to Redis. Empty hashes, sets
// and sorted sets disappear by themselves, so a room nobody is in has no
// keys.
//
// # Liveness
//
// Every Interval each node extends its expiry in {P}live to now+TTL,
// "now" being Redis' clock (TIME inside the script), so the nodes' clocks
// do not matter. Every Interval each node also sweeps: one script moves
// the incarnations whose expiry passed from {P}live to {P}sweep (only one
// node can move a given incarnation, so only one sweeps it), then the
// node removes their entries, at most 2,000 per script call, until none
// is left, and calls OnExpire for each room touched with the users whose
// last socket was removed. A sweeper renews its lease on every call; if
// it stops midway, another node takes over once the lease (TTL) expires.
// So a dead node's entries are gone within TTL+Interval of its last
// heartbeat plus the time to remove them: under 13 s with the defaults.
//
// # Coming back
//
// A node that was declared dead while it was alive (a pause longer than
// TTL, a network split) or whose keys Redis lost (a restart without
// persistence, a FLUSHALL) finds out at its next heartbeat, or at its next
// Add, which Redis refuses for an incarnation it does not know. The node
// keeps a copy of its own entries (room -> socket -> user), so it then
// registers a new incarnation and adds them all again (sockets the old
// incarnation still holds are taken over without a change of counts),
// calling OnRestore for the rooms where users came back. The same happens
// at the first successful heartbeat after an Add or Remove failed: the
// local copy always has the change, so Redis is brought in line with it,
// and the previous incarnation is then retired, which removes (with
// OnExpire) the sockets it holds that the node no longer has.
//
// # Errors and guarantees
//
// A Redis outage makes the methods return errors (wrapped, with the room
// and socket); the caller logs them and goes on. Heartbeat and sweep
// failures are logged to Options.Logger (once when they start, once when
// they end). While Redis is unreachable counts may be stale; once it is
// back, each node's entries in Redis match its local copy within an
// Interval, and the entries of nodes that died meanwhile are removed.
// Between a node's death and the sweep, its users still count. Counts
// are exact as long as each socket is added and removed by the node that
// holds it and socket ids are unique across nodes.
//
// Close stops the goroutine and removes the node's entries (calling
// OnExpire for their rooms); no goroutine is left.
package redispresence
