package redisstreams

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/chatd/chatd/socketio/adapter"
	"github.com/chatd/chatd/socketio/internal/clusterwire"
	"github.com/chatd/chatd/socketio/internal/jsvalue"
	"github.com/chatd/chatd/socketio/parser"
)

// typeBroadcastField is the "type" field of a broadcast's stream entry.
var typeBroadcastField = strconv.Itoa(typeBroadcast)

// broadcastJSON returns the "data" field of the stream entry of a
// broadcast without binary attachments, written directly from the
// packet's JSON text: the same object as BroadcastData's ({packet: {type,
// data, nsp}, opts}), without building its tree. ok is false for a packet
// with attachments, which goes through the tree (base64 MessagePack).
func broadcastJSON(pkt *adapter.Packet, opts adapter.BroadcastOptions) (text string, ok bool) {
	if len(pkt.Attachments) > 0 || pkt.Type != parser.Event || !json.Valid(pkt.Data) {
		return "", false
	}
	o, _, err := jsvalue.JSON(clusterwire.OptsTree(opts))
	if err != nil {
		return "", false
	}
	nsp, err := json.Marshal(pkt.Namespace)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	b.Grow(len(pkt.Data) + len(nsp) + len(o) + 48)
	b.WriteString(`{"packet":{"type":`)
	b.WriteString(strconv.Itoa(clusterwire.WireEvent))
	b.WriteString(`,"data":`)
	b.Write(pkt.Data)
	b.WriteString(`,"nsp":`)
	b.Write(nsp)
	b.WriteString(`},"opts":`)
	b.Write(o)
	b.WriteByte('}')
	return b.String(), true
}

// ownBroadcast is a broadcast of this adapter on its way through the
// stream: the reader delivers it from here instead of decoding its entry.
type ownBroadcast struct {
	pkt  *adapter.Packet
	opts adapter.BroadcastOptions
	refs int // Broadcasts of the same entry text under way
}

// holdOwn keeps the packet of a broadcast whose entry has the data text,
// until dropOwn: the entry that the reader finds with that text is this
// broadcast's (or one with the same packet and options, which decodes to
// the same), so it need not be decoded.
func (a *Adapter) holdOwn(text string, pkt *adapter.Packet, opts adapter.BroadcastOptions) {
	a.ownMu.Lock()
	defer a.ownMu.Unlock()
	if a.own == nil {
		a.own = make(map[string]*ownBroadcast)
	}
	if o := a.own[text]; o != nil {
		o.refs++
		return
	}
	a.own[text] = &ownBroadcast{pkt: pkt, opts: opts, refs: 1}
}

// dropOwn ends a holdOwn.
func (a *Adapter) dropOwn(text string) {
	a.ownMu.Lock()
	defer a.ownMu.Unlock()
	if o := a.own[text]; o != nil {
		if o.refs--; o.refs == 0 {
			delete(a.own, text)
		}
	}
}

// onKnownBroadcast handles, on the reader's goroutine, a broadcast entry
// whose data text is that of a broadcast this adapter holds (holdOwn); it
// reports false, leaving the entry to onEntry, for any other.
func (a *Adapter) onKnownBroadcast(id streamID, uid, text string) bool {
	a.ownMu.Lock()
	o := a.own[text]
	a.ownMu.Unlock()
	if o == nil {
		return false
	}
	a.dmu.RLock()
	defer a.dmu.RUnlock()
	if a.isClosed() {
		return true
	}
	fenced, withRecovery := a.fenced(id)
	if uid == a.uid && (!withRecovery || a.isDirect(id)) {
		return true // delivered by Broadcast itself
	}
	a.deliver(id, o.pkt, o.opts, fenced, withRecovery)
	return true
}

// fenced returns the restored sockets that must not get entry id (those
// awaiting ResumeSession, and those that got it with their missed
// packets), forgetting the fences that id passed, and whether recovery is
// on. It records id as the last broadcast the reader chose recipients
// for.
func (a *Adapter) fenced(id streamID) ([]string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.seen.less(id) {
		a.seen = id
	}
	var fenced []string
	for sid, f := range a.fences {
		if !f.live || !f.after.less(id) {
			fenced = append(fenced, sid)
		} else {
			delete(a.fences, sid)
		}
	}
	return fenced, a.window > 0
}

// deliver delivers the broadcast of entry id to the local sockets, with
// the entry id as offset when recovery is on, except to the fenced
// sockets. pkt and opts are not changed.
func (a *Adapter) deliver(id streamID, pkt *adapter.Packet, opts adapter.BroadcastOptions, fenced []string, withRecovery bool) {
	if withRecovery && !opts.Flags.Volatile {
		cp := *pkt
		cp.Data = appendOffset(pkt.Data, id.String())
		pkt = &cp
	}
	opts.Flags.Local = true
	if len(fenced) > 0 {
		opts.Except = append(slices.Clip(opts.Except), fenced...)
	}
	a.BroadcastLocal(pkt, opts)
}

// skipBroadcast reports whether none of the adapter's sockets is selected
// by a broadcast entry's opts; then it only does the bookkeeping onEntry
// would (fences passed, a direct delivery's id).
func (a *Adapter) skipBroadcast(id streamID, uid string, opts adapter.BroadcastOptions) bool {
	a.dmu.RLock()
	defer a.dmu.RUnlock()
	if a.isClosed() {
		return true
	}
	if a.Memory.Selects(opts) {
		return false
	}
	a.fenced(id)
	if uid == a.uid {
		a.isDirect(id)
	}
	return true
}
