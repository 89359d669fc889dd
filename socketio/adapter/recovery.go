package adapter

import (
	"errors"
	"sync"
	"time"
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
}

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
	return &s
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
