package adapter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatd/chatd/socketio/parser"
)

// StoredPacket is a broadcast kept for connection state recovery.
type StoredPacket struct {
	// Offset identifies the packet; it is also the last element of Data.
	Offset string
	// Data is the packet's JSON payload (event name, arguments, offset).
	Data []byte
	// Attachments are the binary values of Data's placeholders.
	Attachments [][]byte
	// Opts selected the packet's recipients.
	Opts BroadcastOptions
	// At is when the packet was sent.
	At time.Time
}

// RecoverySession is the state of a socket that disconnected, kept so that the
// client can resume it.
type RecoverySession struct {
	// SID is the socket id and PID the private id the client resumes with.
	SID, PID string
	// Rooms are the rooms the socket was in.
	Rooms []string
	// Data is the socket's application data.
	Data any
	// MissedPackets are the packets sent to the socket's rooms after the
	// client's last offset, in order (filled by RestoreSession).
	MissedPackets []StoredPacket
	disconnected  time.Time
}

// ErrRecoveryUnsupported is wrapped by the error of Adapter.EnableRecovery
// on an adapter that cannot recover sessions.
var ErrRecoveryUnsupported = errors.New("adapter: connection state recovery is not supported")

// recovery is Memory's store for connection state recovery.
type recovery struct {
	mu        sync.Mutex
	window    time.Duration
	packets   []StoredPacket
	sessions  map[string]RecoverySession
	lastSweep time.Time

	// resuming holds the sockets between RestoreSession and
	// ResumeSession, and for a while after it (see resume); pending is
	// its size, read without the lock by Broadcast.
	resuming map[string]*resume
	pending  atomic.Int32
}

// resume is the state of a restored socket. Until ResumeSession, Broadcast
// leaves the socket out (it cannot receive yet) and the packets stored
// after after are for ResumeSession to deliver. caught holds the offsets
// of the packets the socket was given (its missed packets, then those
// ResumeSession delivered): a packet stored before that but whose
// Broadcast runs after ResumeSession is not delivered again. The entry
// goes once until has passed (a Broadcast follows its StorePacket at
// once).
type resume struct {
	after  string // the offset of the last packet when RestoreSession ran
	live   bool
	caught map[string]struct{}
	until  time.Time
}

// resumeLinger is how long a resumed socket's caught offsets are kept.
const resumeLinger = 30 * time.Second

// EnableRecovery implements Adapter. It never fails.
func (m *Memory) EnableRecovery(d time.Duration) error {
	m.rec.mu.Lock()
	m.rec.window = d
	m.rec.mu.Unlock()
	return nil
}

// StorePacket implements Adapter.
func (m *Memory) StorePacket(p StoredPacket) {
	r := &m.rec
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.At.IsZero() {
		p.At = time.Now()
	}
	r.packets = append(r.packets, p)
	r.pruneLocked(p.At)
}

// pruneLocked drops packets and sessions older than the window.
func (r *recovery) pruneLocked(now time.Time) {
	cutoff := now.Add(-r.window)
	i := 0
	for i < len(r.packets) && r.packets[i].At.Before(cutoff) {
		i++
	}
	if i > 0 {
		clear(r.packets[:i])
		r.packets = r.packets[i:]
	}
	if now.Sub(r.lastSweep) < r.window/4 {
		return
	}
	r.lastSweep = now
	for pid, s := range r.sessions {
		if s.disconnected.Before(cutoff) {
			delete(r.sessions, pid)
		}
	}
}

// PersistSession implements Adapter.
func (m *Memory) PersistSession(s RecoverySession) {
	r := &m.rec
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sessions == nil {
		r.sessions = make(map[string]RecoverySession)
	}
	s.disconnected = time.Now()
	s.MissedPackets = nil
	r.sessions[s.PID] = s
	r.pruneLocked(s.disconnected)
}

// RestoreSession implements Adapter.
func (m *Memory) RestoreSession(pid, offset string) *RecoverySession {
	r := &m.rec
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.sessions[pid]
	if !ok {
		return nil
	}
	delete(r.sessions, pid)
	if time.Since(s.disconnected) > r.window {
		return nil
	}
	start := -1
	for i := len(r.packets) - 1; i >= 0; i-- {
		if r.packets[i].Offset == offset {
			start = i + 1
			break
		}
	}
	if start < 0 {
		return nil
	}
	for _, p := range r.packets[start:] {
		if includes(s.Rooms, p.Opts) {
			s.MissedPackets = append(s.MissedPackets, p)
		}
	}
	if r.resuming == nil {
		r.resuming = make(map[string]*resume)
	}
	if _, ok := r.resuming[s.SID]; !ok {
		r.pending.Add(1)
	}
	st := &resume{after: r.packets[len(r.packets)-1].Offset}
	if len(s.MissedPackets) > 0 {
		// A missed packet may still be on its way to Broadcast.
		st.caught = make(map[string]struct{}, len(s.MissedPackets))
		for _, p := range s.MissedPackets {
			st.caught[p.Offset] = struct{}{}
		}
	}
	r.resuming[s.SID] = st
	return &s
}

// ResumeSession implements Adapter: with live, it delivers to the socket
// the packets stored since RestoreSession that its rooms select.
func (m *Memory) ResumeSession(sid string, live bool) {
	r := &m.rec
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.resuming[sid]
	if st == nil || st.live {
		return
	}
	if !live {
		delete(r.resuming, sid)
		r.pending.Add(-1)
		return
	}
	// Packets are dropped oldest first: when after is gone, so is every
	// packet before it.
	start := 0
	for i := len(r.packets) - 1; i >= 0; i-- {
		if r.packets[i].Offset == st.after {
			start = i + 1
			break
		}
	}
	st.live, st.until = true, time.Now().Add(resumeLinger)
	if start == len(r.packets) {
		return
	}
	rooms := m.SocketRooms(sid)
	ids := []string{sid}
	for _, p := range r.packets[start:] {
		if p.Opts.Flags.Volatile || !includes(rooms, p.Opts) {
			continue
		}
		if st.caught == nil {
			st.caught = make(map[string]struct{})
		}
		st.caught[p.Offset] = struct{}{}
		// Delivered under the lock: a later packet is stored, and so
		// broadcast, only after these are queued.
		m.emitter.Deliver(p.Event(m.emitter.Name()), ids, p.Opts.Flags)
	}
}

// Event returns the event packet of the stored broadcast, of namespace
// nsp.
func (p StoredPacket) Event(nsp string) *Packet {
	pkt := &Packet{Packet: parser.Packet{Type: parser.Event, Namespace: nsp, Data: p.Data}, Attachments: p.Attachments}
	if len(p.Attachments) > 0 {
		pkt.Type = parser.BinaryEvent
		pkt.Packet.Attachments = len(p.Attachments)
	}
	return pkt
}

// withoutResuming removes from ids the sockets that must not get the
// broadcast of data now: those awaiting ResumeSession, and those to which
// ResumeSession delivered it.
func (r *recovery) withoutResuming(ids []string, data []byte) []string {
	off, _ := Offset(data)
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for sid, st := range r.resuming {
		if st.live && now.After(st.until) {
			delete(r.resuming, sid)
			r.pending.Add(-1)
		}
	}
	return slices.DeleteFunc(ids, func(id string) bool {
		st := r.resuming[id]
		if st == nil {
			return false
		}
		if !st.live {
			return true
		}
		_, ok := st.caught[off]
		return ok && off != ""
	})
}

// Offset returns the recovery offset of a broadcast's JSON payload, its
// last element when that is a string following another element, and the
// index of the comma before it; it returns "", -1 when there is none.
func Offset(data []byte) (string, int) {
	if len(data) < 5 || !bytes.HasSuffix(data, []byte(`"]`)) {
		return "", -1
	}
	i := bytes.LastIndexByte(data[:len(data)-2], '"')
	if i < 1 || data[i-1] != ',' {
		return "", -1
	}
	return string(data[i+1 : len(data)-2]), i - 1
}

// includes reports whether a socket in rooms was a recipient of a
// broadcast with opts.
func includes(rooms []string, opts BroadcastOptions) bool {
	in := len(opts.Rooms) == 0
	for _, r := range rooms {
		for _, x := range opts.Except {
			if r == x {
				return false
			}
		}
		if !in {
			for _, t := range opts.Rooms {
				if r == t {
					in = true
					break
				}
			}
		}
	}
	return in
}

// savedRecovery is the encoding of Memory's recovery state
// (MarshalRecovery).
type savedRecovery struct {
	Sessions []savedSession `json:"sessions"`
	Packets  []StoredPacket `json:"packets"`
}

type savedSession struct {
	SID          string          `json:"sid"`
	PID          string          `json:"pid"`
	Rooms        []string        `json:"rooms"`
	Data         json.RawMessage `json:"data,omitempty"`
	Disconnected time.Time       `json:"disconnected"`
}

// MarshalRecovery encodes what Memory keeps for connection state recovery
// (the sessions of disconnected sockets and the packets sent within the
// window), so that a single node can keep it across a restart
// (socketio.Server.SaveRecovery). A session's Data is encoded as JSON; a
// value JSON cannot encode fails the call.
func (m *Memory) MarshalRecovery() ([]byte, error) {
	r := &m.rec
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pruneLocked(time.Now())
	out := savedRecovery{Sessions: make([]savedSession, 0, len(r.sessions)), Packets: r.packets}
	for _, s := range r.sessions {
		ss := savedSession{SID: s.SID, PID: s.PID, Rooms: s.Rooms, Disconnected: s.disconnected}
		if s.Data != nil {
			b, err := json.Marshal(s.Data)
			if err != nil {
				return nil, fmt.Errorf("adapter: the data of socket %s: %w", s.SID, err)
			}
			ss.Data = b
		}
		out.Sessions = append(out.Sessions, ss)
	}
	return json.Marshal(out)
}

// UnmarshalRecovery adds what MarshalRecovery encoded (on this node before
// a restart) to Memory's recovery state. A restored session's Data is the
// JSON it was encoded to, as a json.RawMessage (nil when there was none).
// Sessions and packets older than the window are dropped.
func (m *Memory) UnmarshalRecovery(b []byte) error {
	var in savedRecovery
	if err := json.Unmarshal(b, &in); err != nil {
		return fmt.Errorf("adapter: recovery state: %w", err)
	}
	r := &m.rec
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sessions == nil {
		r.sessions = make(map[string]RecoverySession)
	}
	for _, ss := range in.Sessions {
		if ss.PID == "" || ss.SID == "" {
			return errors.New("adapter: recovery state: a session without sid or pid")
		}
		s := RecoverySession{SID: ss.SID, PID: ss.PID, Rooms: ss.Rooms, disconnected: ss.Disconnected}
		if len(ss.Data) > 0 && string(ss.Data) != "null" {
			s.Data = ss.Data
		}
		r.sessions[s.PID] = s
	}
	packets := append(in.Packets, r.packets...)
	slices.SortStableFunc(packets, func(a, b StoredPacket) int { return a.At.Compare(b.At) })
	r.packets = packets
	r.pruneLocked(time.Now())
	return nil
}
