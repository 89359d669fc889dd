package admin

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/chatd/chatd/socketio"
	"golang.org/x/crypto/bcrypt"
)

// SessionStore keeps the session ids of logged-in dashboards: a dashboard
// that reconnects sends its id instead of the password.
type SessionStore interface {
	// Exists reports whether id is a valid session.
	Exists(id string) bool
	// Save records a new session.
	Save(id string)
}

// MemorySessions is the in-memory SessionStore.
type MemorySessions struct {
	ttl time.Duration
	mu  sync.Mutex
	ids map[string]time.Time // id -> expiry
}

// NewMemorySessions returns an in-memory store whose sessions last ttl.
func NewMemorySessions(ttl time.Duration) *MemorySessions {
	return &MemorySessions{ttl: ttl, ids: make(map[string]time.Time)}
}

// Exists implements SessionStore.
func (m *MemorySessions) Exists(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	exp, ok := m.ids[id]
	if ok && time.Now().After(exp) {
		delete(m.ids, id)
		return false
	}
	return ok
}

// Save implements SessionStore; expired sessions are forgotten.
func (m *MemorySessions) Save(id string) {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, exp := range m.ids {
		if now.After(exp) {
			delete(m.ids, k)
		}
	}
	m.ids[id] = now.Add(m.ttl)
}

// errInvalidCredentials refuses a dashboard, as the reference does.
var errInvalidCredentials = errors.New("invalid credentials")

// checkHash verifies that h is a bcrypt hash.
func checkHash(h string) error {
	if _, err := bcrypt.Cost([]byte(h)); err != nil {
		return errors.New("admin: the password must be a valid bcrypt hash")
	}
	return nil
}

// credentials are the fields of the dashboard's CONNECT payload.
type credentials struct {
	Username  string `json:"username"`
	Password  string `json:"password"`
	SessionID string `json:"sessionId"`
}

// parseCredentials reads the CONNECT payload; anything but an object of
// strings gives empty credentials.
func parseCredentials(auth json.RawMessage) credentials {
	var c credentials
	if len(auth) == 0 || json.Unmarshal(auth, &c) != nil {
		return credentials{}
	}
	return c
}

// check reports whether c are valid credentials. The user name is
// compared in constant time, and the password is always hashed, so that
// the time taken does not tell whether the user name was right.
func (a *BasicAuth) check(c credentials) bool {
	userOK := subtle.ConstantTimeCompare([]byte(c.Username), []byte(a.Username)) == 1
	// bcrypt uses the first 72 bytes of a password (bcryptjs ignores the
	// rest; Go's bcrypt refuses longer ones).
	pw := []byte(c.Password)
	if len(pw) > 72 {
		pw = pw[:72]
	}
	passOK := bcrypt.CompareHashAndPassword([]byte(a.PasswordHash), pw) == nil
	return userOK && passOK && c.Username != ""
}

// authenticate is the admin namespace's middleware.
func (i *Instrumentation) authenticate(s *socketio.Socket) error {
	c := parseCredentials(s.Handshake().Auth)
	if c.SessionID != "" && i.opts.Sessions.Exists(c.SessionID) {
		return nil
	}
	if !i.opts.Auth.check(c) {
		return errInvalidCredentials
	}
	id := newSessionID()
	i.opts.Sessions.Save(id)
	i.pendingSessions.Store(s, id)
	return nil
}

// newSessionID returns 8 random bytes in hex, as the reference does.
func newSessionID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
