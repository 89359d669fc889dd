package chat

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
)

// SessionCookieName is the name of the cookie holding the session token. The
// account pages set it; the Socket.IO handshake reads it.
const SessionCookieName = "chatd_session"

// DefaultSessionTTL is how long a session lasts: a fixed 30 days from
// log-in (not extended by use).
const DefaultSessionTTL = 30 * 24 * time.Hour

// tokenBytes is the number of random bytes in a session token; the token is
// their unpadded URL-safe base64 form (43 characters).
const tokenBytes = 32

var tokenLen = base64.RawURLEncoding.EncodedLen(tokenBytes)

// AccountsOptions configure Accounts. Zero fields take the defaults named in
// their comments.
type AccountsOptions struct {
	// SessionTTL is the fixed lifetime of a session. Defaults to
	// DefaultSessionTTL.
	SessionTTL time.Duration
	// Password are the argon2id parameters for new hashes. Defaults to
	// DefaultPasswordParams.
	Password PasswordParams
	// Throttle configures the per-username log-in throttle.
	Throttle ThrottleOptions
	// AuthCacheTTL, when positive, is how long Authenticate keeps a
	// session's user in memory, so that a burst of connections of one
	// session reads the store once. LogOut and SetRole through this
	// Accounts take effect at once; through anything else (another node
	// of a cluster, `chatd admin set-role`) they take effect within
	// AuthCacheTTL. Zero (the default) keeps nothing: every
	// authentication asks the store, so a change of role or a log-out
	// anywhere applies to the next connection.
	AuthCacheTTL time.Duration
	// OnUserChanged, when set, is called after a log-out or a role change
	// through this Accounts with the user's id, so that the application
	// can tell the other nodes of a cluster, whose Accounts then call
	// ForgetUser: with it, such changes apply at once everywhere, and only
	// changes made around the service (`chatd admin`) wait for
	// AuthCacheTTL.
	OnUserChanged func(userID int64)
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
}

// authCacheMax bounds the sessions the authentication cache holds.
const authCacheMax = 1 << 16

// Accounts is the account service: sign-up, log-in (throttled per
// username), log-out, and turning a session token or an HTTP request's
// session cookie into the signed-in User. It is safe for concurrent use.
type Accounts struct {
	users    UserStore
	sessions SessionStore
	throttle *LoginThrottle
	ttl      time.Duration
	params   PasswordParams
	now      func() time.Time

	dummyOnce sync.Once
	dummyHash string

	sweepMu   sync.Mutex
	lastSweep time.Time

	cacheTTL time.Duration
	changed  func(userID int64)
	cacheMu  sync.Mutex
	cache    map[string]authEntry // by token hash
}

type authEntry struct {
	user  User
	until time.Time
}

// Login is the result of a successful sign-up or log-in: the user and the
// new session's token (to be sent to the client once, in a cookie) and
// expiry.
type Login struct {
	User    User
	Token   string
	Expires time.Time
}

// NewAccounts returns the account service over the given stores.
func NewAccounts(users UserStore, sessions SessionStore, opts AccountsOptions) *Accounts {
	a := &Accounts{
		users:    users,
		sessions: sessions,
		throttle: NewLoginThrottle(opts.Throttle),
		ttl:      opts.SessionTTL,
		params:   opts.Password,
		now:      opts.Now,
	}
	if a.ttl <= 0 {
		a.ttl = DefaultSessionTTL
	}
	if a.params == (PasswordParams{}) {
		a.params = DefaultPasswordParams
	}
	if a.now == nil {
		a.now = time.Now
	}
	a.changed = opts.OnUserChanged
	if opts.AuthCacheTTL > 0 {
		a.cacheTTL = opts.AuthCacheTTL
		a.cache = make(map[string]authEntry)
	}
	return a
}

// CreateUser validates name and password and stores a new account with the
// given role. Errors: EINVALID (name, password or role), ECONFLICT (name
// taken).
func (a *Accounts) CreateUser(ctx context.Context, name, password string, role Role) (User, error) {
	if err := ValidateUsername(name); err != nil {
		return User{}, err
	}
	if err := ValidatePassword(password); err != nil {
		return User{}, err
	}
	if !role.Valid() {
		return User{}, Errorf(EINVALID, "unknown role %q", role)
	}
	hash, err := HashPassword(password, a.params)
	if err != nil {
		return User{}, err
	}
	return a.users.CreateUser(ctx, name, role, hash)
}

// SetPassword validates password and makes it the named account's password.
// Errors: EINVALID, ENOTFOUND.
func (a *Accounts) SetPassword(ctx context.Context, name, password string) error {
	if err := ValidatePassword(password); err != nil {
		return err
	}
	hash, err := HashPassword(password, a.params)
	if err != nil {
		return err
	}
	return a.users.SetPasswordHash(ctx, name, hash)
}

// SignUp creates an account with role RoleUser and starts a session for
// it. Errors: EINVALID, ECONFLICT.
func (a *Accounts) SignUp(ctx context.Context, name, password string) (Login, error) {
	u, err := a.CreateUser(ctx, name, password, RoleUser)
	if err != nil {
		return Login{}, err
	}
	return a.startSession(ctx, u)
}

// LogIn checks name and password and starts a session. Errors: EINVALID
// (empty fields), EUNAUTHORIZED (unknown name or wrong password; the two are
// not told apart), ERATELIMITED (the name is locked after too many
// failures; the message says for how long, and RetryAfter returns it).
func (a *Accounts) LogIn(ctx context.Context, name, password string) (Login, error) {
	if name == "" || password == "" {
		return Login{}, Errorf(EINVALID, "username and password are required")
	}
	now := a.now()
	if wait := a.throttle.Check(name, now); wait > 0 {
		return Login{}, rateLimited(wait)
	}
	if len(password) > PasswordMaxLen {
		password = password[:PasswordMaxLen] // bounded work; cannot match a stored hash anyway
	}
	u, hash, err := a.users.FindCredentials(ctx, name)
	switch ErrorCode(err) {
	case "":
	case ENOTFOUND:
		// Spend the same time as for a real account, so response times do
		// not tell which names exist.
		hash = a.dummy()
	default:
		return Login{}, err
	}
	ok, cerr := CheckPassword(password, hash)
	if cerr != nil && err == nil {
		return Login{}, fmt.Errorf("checking password of user %d: %w", u.ID, cerr)
	}
	if !ok || err != nil {
		if wait := a.throttle.Fail(name, now); wait > 0 {
			return Login{}, rateLimited(wait)
		}
		return Login{}, Errorf(EUNAUTHORIZED, "wrong username or password")
	}
	a.throttle.Succeed(name)
	a.sweepSessions(ctx, now)
	return a.startSession(ctx, u)
}

// RetryAfter returns how long the caller should wait after an ERATELIMITED
// error from LogIn (0 for other errors).
func RetryAfter(err error) time.Duration {
	var e *rateLimitError
	if errors.As(err, &e) {
		return e.wait
	}
	return 0
}

// rateLimitError is an ERATELIMITED *Error with the time to wait.
type rateLimitError struct {
	err  *Error
	wait time.Duration
}

func (e *rateLimitError) Error() string { return e.err.Error() }
func (e *rateLimitError) Unwrap() error { return e.err }

func rateLimited(wait time.Duration) error {
	secs := int(math.Ceil(wait.Seconds()))
	return &rateLimitError{
		err:  Errorf(ERATELIMITED, "too many failed log-ins; try again in %d seconds", secs),
		wait: time.Duration(secs) * time.Second,
	}
}

// dummy returns a hash of a random password, made once, for LogIn's
// unknown-name path.
func (a *Accounts) dummy() string {
	a.dummyOnce.Do(func() {
		h, err := HashPassword(rand.Text(), a.params)
		if err != nil {
			h = "$invalid"
		}
		a.dummyHash = h
	})
	return a.dummyHash
}

// LogOut ends the session with the given token (no error if there is none).
func (a *Accounts) LogOut(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	hash := HashToken(token)
	var owner int64
	if a.changed != nil {
		if u, err := a.sessions.FindSessionUser(ctx, hash, a.now()); err == nil {
			owner = u.ID
		}
	}
	a.forgetSession(hash)
	err := a.sessions.DeleteSession(ctx, hash)
	// Again: an Authenticate that read the session before it was deleted
	// may have cached it meanwhile.
	a.forgetSession(hash)
	if err == nil && owner != 0 {
		a.changed(owner)
	}
	return err
}

// ForgetUser drops the cached sessions of a user (see
// AccountsOptions.OnUserChanged): their next authentication asks the
// store.
func (a *Accounts) ForgetUser(userID int64) {
	a.forget(func(_ string, e authEntry) bool { return e.user.ID == userID })
}

// forgetSession drops the cached session with the given token hash.
func (a *Accounts) forgetSession(hash []byte) {
	if a.cache == nil {
		return
	}
	a.cacheMu.Lock()
	delete(a.cache, string(hash))
	a.cacheMu.Unlock()
}

// forget drops the cached sessions for which drop returns true.
func (a *Accounts) forget(drop func(string, authEntry) bool) {
	if a.cache == nil {
		return
	}
	a.cacheMu.Lock()
	defer a.cacheMu.Unlock()
	for k, e := range a.cache {
		if drop(k, e) {
			delete(a.cache, k)
		}
	}
}

// Authenticate returns the user of the session with the given token, with
// the user's current role (as of at most AuthCacheTTL ago, when the cache
// is on). A missing, malformed, unknown or expired token
// gives an EUNAUTHORIZED error.
func (a *Accounts) Authenticate(ctx context.Context, token string) (User, error) {
	if len(token) != tokenLen {
		return User{}, Errorf(EUNAUTHORIZED, "unauthorized")
	}
	hash := HashToken(token)
	now := a.now()
	if a.cache != nil {
		a.cacheMu.Lock()
		e, ok := a.cache[string(hash)]
		a.cacheMu.Unlock()
		if ok && now.Before(e.until) {
			return e.user, nil
		}
	}
	u, err := a.sessions.FindSessionUser(ctx, hash, now)
	if ErrorCode(err) == ENOTFOUND {
		return User{}, Errorf(EUNAUTHORIZED, "unauthorized")
	}
	if err == nil && a.cache != nil {
		a.cacheMu.Lock()
		if len(a.cache) >= authCacheMax {
			for k, e := range a.cache {
				if !now.Before(e.until) {
					delete(a.cache, k)
				}
			}
			if len(a.cache) >= authCacheMax {
				clear(a.cache)
			}
		}
		a.cache[string(hash)] = authEntry{user: u, until: now.Add(a.cacheTTL)}
		a.cacheMu.Unlock()
	}
	return u, err
}

// SetRole changes the role of the named account. Errors: EINVALID,
// ENOTFOUND.
func (a *Accounts) SetRole(ctx context.Context, name string, role Role) (User, error) {
	if !role.Valid() {
		return User{}, Errorf(EINVALID, "unknown role %q", role)
	}
	u, err := a.users.SetUserRole(ctx, name, role)
	if err == nil {
		a.ForgetUser(u.ID)
		if a.changed != nil {
			a.changed(u.ID)
		}
	}
	return u, err
}

// FindUser returns the named account. Errors: ENOTFOUND.
func (a *Accounts) FindUser(ctx context.Context, name string) (User, error) {
	return a.users.FindUserByName(ctx, name)
}

// ListUsers returns every account, ordered by name.
func (a *Accounts) ListUsers(ctx context.Context) ([]User, error) {
	return a.users.ListUsers(ctx)
}

func (a *Accounts) startSession(ctx context.Context, u User) (Login, error) {
	token := NewToken()
	now := a.now()
	s := LoginSession{TokenHash: HashToken(token), UserID: u.ID, Created: now, Expires: now.Add(a.ttl)}
	if err := a.sessions.CreateSession(ctx, s); err != nil {
		return Login{}, err
	}
	return Login{User: u, Token: token, Expires: s.Expires}, nil
}

// sweepSessions removes expired sessions, at most once an hour; a failure
// is not the caller's problem and is left for the next sweep.
func (a *Accounts) sweepSessions(ctx context.Context, now time.Time) {
	a.sweepMu.Lock()
	due := now.Sub(a.lastSweep) >= time.Hour
	if due {
		a.lastSweep = now
	}
	a.sweepMu.Unlock()
	if due {
		_, _ = a.sessions.DeleteExpiredSessions(ctx, now)
	}
}

// NewToken returns a new session token: 32 bytes from crypto/rand in
// unpadded URL-safe base64.
func NewToken() string {
	b := make([]byte, tokenBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashToken returns the SHA-256 of a session token, the form in which it is
// stored.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
