package redisstreams

import (
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/internal/clusterwire"
	"github.com/chatd/chatd/socketio/internal/jsvalue"
)

// Connection state recovery, as the reference does it:
//
//   - the offset of a broadcast is the id of its stream entry, appended to
//     the event's arguments by the node that delivers it;
//   - the session of a socket that disconnected is kept in Redis under
//     "<SessionKeyPrefix><pid>" for the recovery window, as the base64 of
//     the MessagePack map {sid, pid, rooms, data}: nothing else of the
//     socket (no handshake, no header, no cookie) is stored;
//   - a client that comes back, to any node, with its pid and its last
//     offset gets its session (read and deleted at once) and the
//     broadcasts of the stream after that offset that were meant for its
//     rooms, in stream order. It is refused (a new session) when the
//     session is gone (expired or already taken) or the offset is no
//     longer in the stream (trimmed away by MaxLen).

// maxRestorePages bounds the XRANGE calls of one restore: a client that
// missed more than maxRestorePages*restorePage entries gets a new session.
const (
	restorePage     = 1000
	maxRestorePages = 100
)

// maxOffsets bounds the offsets kept between StorePacket and Broadcast.
const maxOffsets = 4096

// EnableRecovery implements adapter.Adapter: sessions are kept in Redis
// for d and missed packets are read back from the stream. It never fails.
func (a *Adapter) EnableRecovery(d time.Duration) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.window = d
	if a.offsets == nil {
		a.offsets = make(map[string]struct{})
		a.fences = make(map[string]*fence)
	}
	return nil
}

// StorePacket implements adapter.Adapter. The stream keeps the packets,
// under offsets of its own: the offset the socketio package gave the
// packet is remembered only until Broadcast, which replaces it by the
// entry id.
func (a *Adapter) StorePacket(p adapter.StoredPacket) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.offsets == nil {
		return
	}
	if len(a.offsets) >= maxOffsets {
		clear(a.offsets)
	}
	a.offsets[p.Offset] = struct{}{}
}

// takeOffset removes from pkt the offset that StorePacket was given for
// it, if any: it is the last argument of the event.
func (a *Adapter) takeOffset(pkt *adapter.Packet) *adapter.Packet {
	off, i := adapter.Offset(pkt.Data)
	if i < 0 {
		return pkt
	}
	a.mu.Lock()
	_, ok := a.offsets[off]
	delete(a.offsets, off)
	a.mu.Unlock()
	if !ok {
		return pkt
	}
	cp := *pkt
	cp.Data = append(slices.Clip(pkt.Data[:i]), ']')
	return &cp
}

// sessionKey returns the Redis key of the session of pid.
func (a *Adapter) sessionKey(pid string) string { return a.opts.SessionKeyPrefix + pid }

// PersistSession implements adapter.Adapter: the session is stored in
// Redis (SET PX the recovery window). A failure is logged: the client
// then gets a new session when it comes back.
func (a *Adapter) PersistSession(s adapter.RecoverySession) {
	a.mu.Lock()
	window := a.window
	a.mu.Unlock()
	if window <= 0 {
		return
	}
	value, err := encodeSession(s)
	if err != nil {
		a.log.Warn("redisstreams: session cannot be stored", "sid", s.SID, "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.RequestsTimeout)
	defer cancel()
	if err := a.c.rdb.Set(ctx, a.sessionKey(s.PID), value, window).Err(); err != nil {
		a.errs.Warn(a.log, "redisstreams: cannot store a session", err)
	}
}

// encodeSession returns the stored form of a session.
func encodeSession(s adapter.RecoverySession) (string, error) {
	o := &jsvalue.Object{}
	o.Set("sid", s.SID)
	o.Set("pid", s.PID)
	o.Set("rooms", clusterwire.NonNil(s.Rooms))
	data, err := clusterwire.JSONTree(s.Data)
	if err != nil {
		return "", err
	}
	o.Set("data", data)
	b, err := jsvalue.Marshal(o)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// decodeSession reads a stored session.
func (a *Adapter) decodeSession(value string) (*adapter.RecoverySession, error) {
	b, err := base64.StdEncoding.DecodeString(value)
	if err != nil {
		return nil, err
	}
	v, err := jsvalue.Unmarshal(b)
	if err != nil {
		return nil, err
	}
	o, ok := v.(*jsvalue.Object)
	if !ok {
		return nil, errors.New("redisstreams: session is not a map")
	}
	s := &adapter.RecoverySession{}
	s.SID, _ = o.GetString("sid")
	s.PID, _ = o.GetString("pid")
	if s.SID == "" {
		return nil, errors.New("redisstreams: session without sid")
	}
	s.Rooms = clusterwire.StringList(o, "rooms")
	if d, ok := o.Get("data"); ok && d != nil {
		raw, err := clusterwire.TreeJSON(d)
		if err != nil {
			return nil, err
		}
		if s.Data, err = a.opts.DecodeData(raw); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// RestoreSession implements adapter.Adapter: it takes the session of pid
// from Redis and reads the broadcasts the client missed from the stream
// (XRANGE after offset). It returns nil when the session is unknown or
// expired, when offset is not an entry id still in the stream, or when
// Redis fails: the client then gets a new session.
func (a *Adapter) RestoreSession(pid, offset string) *adapter.RecoverySession {
	from, ok := parseID(offset)
	if !ok || a.isClosed() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.RequestsTimeout)
	defer cancel()
	var get *redis.StringCmd
	_, err := a.c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		get = p.Get(ctx, a.sessionKey(pid))
		p.Del(ctx, a.sessionKey(pid))
		return nil
	})
	if err != nil {
		if !errors.Is(err, redis.Nil) {
			a.errs.Warn(a.log, "redisstreams: cannot read a session", err)
		}
		return nil
	}
	s, err := a.decodeSession(get.Val())
	if err != nil {
		a.log.Debug("redisstreams: ignoring malformed session", "pid", pid, "err", err)
		return nil
	}
	if at, err := a.c.rdb.XRange(ctx, a.stream, offset, offset).Result(); err != nil || len(at) == 0 {
		return nil // the offset was trimmed away (or never was)
	}
	last, err := a.scan(ctx, from, "+", func(id streamID, values map[string]any) {
		if p, ok := a.missedPacket(id, values, s.Rooms); ok {
			s.MissedPackets = append(s.MissedPackets, p)
		}
	})
	if err != nil {
		if !errors.Is(err, errTooMany) {
			a.errs.Warn(a.log, "redisstreams: cannot read the missed packets", err)
		}
		return nil // recovery cannot be complete
	}
	// Until ResumeSession, the reader gives the socket nothing: the
	// entries up to last are among its missed packets, and it cannot
	// receive the later ones yet.
	a.mu.Lock()
	a.fences[s.SID] = &fence{after: last}
	a.mu.Unlock()
	return s
}

// fence keeps the reader from delivering to a restored socket: every
// entry until ResumeSession, then those up to after (which the socket got
// with its missed packets or from ResumeSession), until the reader passes
// after.
type fence struct {
	after streamID
	live  bool
}

// ResumeSession implements adapter.Adapter. With live, it delivers to the
// socket the broadcasts the reader handled since RestoreSession (XRANGE
// after the last entry the socket got, up to the last the reader chose
// recipients for), then lets the reader deliver the later ones. When
// they cannot be read, the socket is disconnected (its connection
// closed), so that its client reconnects with a new session rather than
// miss them silently.
func (a *Adapter) ResumeSession(sid string, live bool) {
	for {
		a.mu.Lock()
		f := a.fences[sid]
		if f == nil || f.live {
			a.mu.Unlock()
			return
		}
		if !live {
			delete(a.fences, sid)
			a.mu.Unlock()
			return
		}
		after, upTo := f.after, a.seen
		if !after.less(upTo) {
			f.live = true
			a.mu.Unlock()
			return
		}
		a.mu.Unlock()
		if err := a.catchUp(sid, after, upTo); err != nil {
			a.errs.Warn(a.log, "redisstreams: cannot read the packets of a resumed socket; disconnecting it", err)
			a.mu.Lock()
			delete(a.fences, sid)
			a.mu.Unlock()
			a.Emitter().DisconnectSocket(sid, true)
			return
		}
		a.mu.Lock()
		f.after = upTo
		a.mu.Unlock()
	}
}

// catchUp delivers to socket sid the broadcasts of the entries after
// after, up to upTo, that its rooms select.
func (a *Adapter) catchUp(sid string, after, upTo streamID) error {
	ctx, cancel := context.WithTimeout(context.Background(), a.opts.RequestsTimeout)
	defer cancel()
	rooms := a.SocketRooms(sid)
	ids := []string{sid}
	_, err := a.scan(ctx, after, upTo.String(), func(id streamID, values map[string]any) {
		if p, ok := a.missedPacket(id, values, rooms); ok {
			a.Emitter().Deliver(p.Event(a.nsp), ids, p.Opts.Flags)
		}
	})
	return err
}

// errTooMany is scan's error when there are more than
// maxRestorePages*restorePage entries to read.
var errTooMany = errors.New("redisstreams: too many entries to replay")

// scan calls fn for every entry of the stream after after, up to end (an
// entry id, or "+" for the last), in order, with XRANGE page by page, and
// returns the id of the last entry read (after when there is none).
func (a *Adapter) scan(ctx context.Context, after streamID, end string, fn func(streamID, map[string]any)) (streamID, error) {
	for range maxRestorePages {
		entries, err := a.c.rdb.XRangeN(ctx, a.stream, after.next().String(), end, restorePage).Result()
		if err != nil {
			return after, err
		}
		for _, e := range entries {
			if id, ok := parseID(e.ID); ok {
				after = id
				fn(id, e.Values)
			}
		}
		if len(entries) < restorePage {
			return after, nil
		}
	}
	return after, errTooMany
}

// missedPacket returns the packet of a stream entry if it is a broadcast
// of this namespace that a socket in rooms should have received, with
// its offset.
func (a *Adapter) missedPacket(id streamID, values map[string]any, rooms []string) (adapter.StoredPacket, bool) {
	m, err := decodeEntry(values)
	if err != nil || m.nsp != a.nsp || m.typ != typeBroadcast || m.data == nil {
		return adapter.StoredPacket{}, false
	}
	if _, ok := m.data.Get("requestId"); ok {
		return adapter.StoredPacket{}, false
	}
	o, _ := m.data.Get("opts")
	opts := clusterwire.TreeOpts(o)
	if opts.Flags.Volatile || !includes(rooms, opts) {
		return adapter.StoredPacket{}, false
	}
	p, _ := m.data.Get("packet")
	pkt, err := clusterwire.TreePacket(p, m.nsp)
	if err != nil {
		return adapter.StoredPacket{}, false
	}
	off := id.String()
	return adapter.StoredPacket{
		Offset:      off,
		Data:        appendOffset(pkt.Data, off),
		Attachments: pkt.Attachments,
		Opts:        opts,
		At:          time.UnixMilli(int64(id.ms)),
	}, true
}

// includes reports whether a socket in rooms was a recipient of a
// broadcast with opts (the reference's shouldIncludePacket).
func includes(rooms []string, opts adapter.BroadcastOptions) bool {
	in := len(opts.Rooms) == 0
	for _, r := range rooms {
		if slices.Contains(opts.Except, r) {
			return false
		}
		in = in || slices.Contains(opts.Rooms, r)
	}
	return in
}
