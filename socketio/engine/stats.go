package engine

import "sync/atomic"

// serverStats are the counters behind Server.Stats: plain atomics, touched
// once per session event (open, close, upgrade, refused request), never
// per packet.
type serverStats struct {
	opened              atomic.Uint64
	refused             [len(errorMessages)]atomic.Uint64 // by Error* code
	upgrades            atomic.Uint64
	upgradeFailures     atomic.Uint64
	wsHandshakeFailures atomic.Uint64
	closes              [len(closeReasons) + 1]atomic.Uint64 // by closeReasons index; the last: any other
}

// closeReasons are the reasons counted by Stats.Closes.
var closeReasons = [...]Reason{
	ReasonTransportError, ReasonTransportClose, ReasonForcedClose, ReasonPingTimeout,
	ReasonParseError, ReasonSlowConsumer, ReasonServerClosing,
}

// closed counts a session that ended with reason.
func (st *serverStats) closed(reason Reason) {
	i := 0
	for i < len(closeReasons) && closeReasons[i] != reason {
		i++
	}
	st.closes[i].Add(1)
}

// Stats is a snapshot of a Server's sessions and counters, for metrics.
// Counters (the uint64 fields and maps of counts) only grow during the
// server's life.
type Stats struct {
	// Sessions is the number of open sessions by current transport
	// (TransportPolling, TransportWebSocket); both keys are present.
	Sessions map[string]int
	// QueuedBytes is the number of bytes queued to all open sessions and
	// not yet written.
	QueuedBytes int
	// Opened counts the sessions opened (handshakes that succeeded).
	Opened uint64
	// Refused counts the requests refused, by Error* code (every code is
	// present), with the message of ErrorMessage.
	Refused map[int]uint64
	// Upgrades counts the sessions that switched from polling to
	// WebSocket; UpgradeFailures the upgrades that were started (a
	// WebSocket was accepted for a polling session) and did not complete:
	// a probe that failed, timed out or was followed by anything but the
	// upgrade packet.
	Upgrades, UpgradeFailures uint64
	// WebSocketHandshakeFailures counts the WebSocket opening handshakes
	// (of new sessions or upgrades) that failed after the Engine.IO
	// checks: a bad Sec-WebSocket-Key or version, a method other than
	// GET, a connection that could not be taken over.
	WebSocketHandshakeFailures uint64
	// Closes counts the sessions that ended, by reason (every Reason
	// constant is present; a reason outside them is counted as "other").
	Closes map[Reason]uint64
}

// ErrorMessage returns the message of an Error* code ("" for another
// value).
func ErrorMessage(code int) string {
	if code < 0 || code >= len(errorMessages) {
		return ""
	}
	return errorMessages[code]
}

// Stats returns a snapshot of the server's sessions and counters. The
// counters cost an atomic addition per session event; the session counts
// and queued bytes are read from the sessions themselves when Stats is
// called, so call it at scrape time, not on a hot path.
func (s *Server) Stats() Stats {
	st := Stats{
		Sessions:                   map[string]int{TransportPolling: 0, TransportWebSocket: 0},
		Opened:                     s.stats.opened.Load(),
		Refused:                    make(map[int]uint64, len(errorMessages)),
		Upgrades:                   s.stats.upgrades.Load(),
		UpgradeFailures:            s.stats.upgradeFailures.Load(),
		WebSocketHandshakeFailures: s.stats.wsHandshakeFailures.Load(),
		Closes:                     make(map[Reason]uint64, len(closeReasons)+1),
	}
	for code := range s.stats.refused {
		st.Refused[code] = s.stats.refused[code].Load()
	}
	for i, r := range closeReasons {
		st.Closes[r] = s.stats.closes[i].Load()
	}
	st.Closes["other"] = s.stats.closes[len(closeReasons)].Load()
	// The session table's lock is never held with a session's: copy it.
	s.mu.Lock()
	all := make([]*Session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		all = append(all, sess)
	}
	s.mu.Unlock()
	for _, sess := range all {
		sess.mu.Lock()
		if !sess.closed {
			st.Sessions[sess.transport]++
			st.QueuedBytes += sess.queuedBytes
		}
		sess.mu.Unlock()
	}
	return st
}
