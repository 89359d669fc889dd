package chat_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/store"
)

// cheap keeps tests fast; production uses chat.DefaultPasswordParams.
var cheap = chat.PasswordParams{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newAccounts(t *testing.T) (*chat.Accounts, *store.DB, *clock) {
	t.Helper()
	db, c := openAccountsStore(t)
	a := chat.NewAccounts(db, db, chat.AccountsOptions{Password: cheap, Now: c.Now, SessionTTL: time.Hour})
	return a, db, c
}

func openAccountsStore(t *testing.T) (*store.DB, *clock) {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "a.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, &clock{t: time.Now()}
}

func TestPasswordHash(t *testing.T) {
	h, err := chat.HashPassword("correct horse", cheap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("encoded form = %q", h)
	}
	h2, _ := chat.HashPassword("correct horse", cheap)
	if h == h2 {
		t.Error("two hashes of one password are equal (no salt?)")
	}
	if ok, err := chat.CheckPassword("correct horse", h); !ok || err != nil {
		t.Errorf("right password: %v, %v", ok, err)
	}
	if ok, err := chat.CheckPassword("correct horsE", h); ok || err != nil {
		t.Errorf("wrong password: %v, %v", ok, err)
	}
	// Default parameters round-trip too.
	hd, err := chat.HashPassword("pw-default-params", chat.DefaultPasswordParams)
	if err != nil || !strings.HasPrefix(hd, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("default hash %q, %v", hd, err)
	}
	if ok, _ := chat.CheckPassword("pw-default-params", hd); !ok {
		t.Error("default-params hash does not verify")
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=1$!!$a2V5a2V5a2V5a2V5a2V5a2V5"} {
		if ok, err := chat.CheckPassword("x", bad); ok || err == nil {
			t.Errorf("CheckPassword with hash %q = %v, %v; want an error", bad, ok, err)
		}
	}
	if _, err := chat.HashPassword("x", chat.PasswordParams{}); err == nil {
		t.Error("zero parameters accepted")
	}
}

func TestSignUpLogInLogOut(t *testing.T) {
	ctx := context.Background()
	a, db, _ := newAccounts(t)

	l, err := a.SignUp(ctx, "Heidi", "hunter2hunter2")
	if err != nil {
		t.Fatal(err)
	}
	if l.User.Name != "Heidi" || l.User.Role != chat.RoleUser || len(l.Token) != 43 || l.Expires.IsZero() {
		t.Errorf("sign-up login = %+v", l)
	}
	if _, hash, _ := db.FindCredentials(ctx, "heidi"); !strings.HasPrefix(hash, "$argon2id$") || strings.Contains(hash, "hunter2") {
		t.Errorf("stored password hash %q", hash)
	}
	u, err := a.Authenticate(ctx, l.Token)
	if err != nil || u.ID != l.User.ID {
		t.Errorf("Authenticate = %+v, %v", u, err)
	}

	if _, err := a.SignUp(ctx, "HEIDI", "another-password"); chat.ErrorCode(err) != chat.ECONFLICT {
		t.Errorf("second sign-up err = %v, want conflict", err)
	}
	if _, err := a.SignUp(ctx, "no", "long-enough"); chat.ErrorCode(err) != chat.EINVALID {
		t.Errorf("short name err = %v", err)
	}
	if _, err := a.SignUp(ctx, "ivan", "short"); chat.ErrorCode(err) != chat.EINVALID {
		t.Errorf("short password err = %v", err)
	}

	l2, err := a.LogIn(ctx, "heidi", "hunter2hunter2") // any case of the name
	if err != nil || l2.User.ID != l.User.ID || l2.Token == l.Token {
		t.Fatalf("LogIn = %+v, %v", l2, err)
	}
	if _, err := a.LogIn(ctx, "heidi", "wrong-password"); chat.ErrorCode(err) != chat.EUNAUTHORIZED {
		t.Errorf("wrong password err = %v", err)
	}
	if _, err := a.LogIn(ctx, "nobody", "whatever-pw"); chat.ErrorCode(err) != chat.EUNAUTHORIZED {
		t.Errorf("unknown user err = %v", err)
	}
	if _, err := a.LogIn(ctx, "", ""); chat.ErrorCode(err) != chat.EINVALID {
		t.Errorf("empty fields err = %v", err)
	}

	if err := a.LogOut(ctx, l2.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, l2.Token); chat.ErrorCode(err) != chat.EUNAUTHORIZED {
		t.Errorf("token after log-out err = %v", err)
	}
	if _, err := a.Authenticate(ctx, l.Token); err != nil {
		t.Errorf("other session ended by log-out: %v", err)
	}
	for _, bad := range []string{"", "short", strings.Repeat("A", 43)} {
		if _, err := a.Authenticate(ctx, bad); chat.ErrorCode(err) != chat.EUNAUTHORIZED {
			t.Errorf("Authenticate(%q) err = %v", bad, err)
		}
	}
}

func TestSessionExpiry(t *testing.T) {
	ctx := context.Background()
	a, _, c := newAccounts(t) // TTL one hour
	l, err := a.SignUp(ctx, "judy", "password-1")
	if err != nil {
		t.Fatal(err)
	}
	c.Add(59 * time.Minute)
	if _, err := a.Authenticate(ctx, l.Token); err != nil {
		t.Errorf("session before expiry: %v", err)
	}
	c.Add(time.Minute)
	if _, err := a.Authenticate(ctx, l.Token); chat.ErrorCode(err) != chat.EUNAUTHORIZED {
		t.Errorf("session at expiry err = %v", err)
	}
}

func TestLogInThrottle(t *testing.T) {
	ctx := context.Background()
	a, _, c := newAccounts(t)
	if _, err := a.SignUp(ctx, "mallory", "the-right-one"); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if _, err := a.LogIn(ctx, "mallory", "guess"); chat.ErrorCode(err) != chat.EUNAUTHORIZED {
			t.Fatalf("failure %d err = %v", i+1, err)
		}
	}
	_, err := a.LogIn(ctx, "MALLORY", "guess") // 5th failure locks (any case of the name)
	if chat.ErrorCode(err) != chat.ERATELIMITED || chat.RetryAfter(err) != 30*time.Second {
		t.Fatalf("5th failure err = %v (retry after %v)", err, chat.RetryAfter(err))
	}
	// Locked: even the right password is refused.
	if _, err := a.LogIn(ctx, "mallory", "the-right-one"); chat.ErrorCode(err) != chat.ERATELIMITED {
		t.Fatalf("locked log-in err = %v", err)
	}
	if !strings.Contains(chat.ErrorMessage(err), "try again in 30 seconds") {
		t.Errorf("message %q", chat.ErrorMessage(err))
	}
	// Other names are not affected.
	if _, err := a.SignUp(ctx, "trent", "trent-password"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.LogIn(ctx, "trent", "trent-password"); err != nil {
		t.Errorf("other user throttled: %v", err)
	}
	// After the lock, another failure locks for twice as long.
	c.Add(31 * time.Second)
	if _, err := a.LogIn(ctx, "mallory", "guess"); chat.RetryAfter(err) != time.Minute {
		t.Errorf("6th failure err = %v (retry after %v), want a 1m lock", err, chat.RetryAfter(err))
	}
	c.Add(61 * time.Second)
	if _, err := a.LogIn(ctx, "mallory", "the-right-one"); err != nil {
		t.Fatalf("log-in after the lock: %v", err)
	}
	// Success cleared the count: four more failures do not lock.
	for i := range 4 {
		if _, err := a.LogIn(ctx, "mallory", "guess"); chat.ErrorCode(err) != chat.EUNAUTHORIZED {
			t.Fatalf("failure %d after success err = %v", i+1, err)
		}
	}
	// Unknown names are throttled the same way.
	for range 5 {
		_, err = a.LogIn(ctx, "ghost", "whatever-pw")
	}
	if chat.ErrorCode(err) != chat.ERATELIMITED {
		t.Errorf("unknown name not throttled: %v", err)
	}
}

func TestLoginThrottleCapAndForget(t *testing.T) {
	th := chat.NewLoginThrottle(chat.ThrottleOptions{MaxFailures: 2, BaseLock: time.Second, MaxLock: 4 * time.Second, Forget: time.Minute})
	t0 := time.Unix(5_000_000, 0)
	want := []time.Duration{0, time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second}
	for i, w := range want {
		if got := th.Fail("x", t0); got != w {
			t.Errorf("failure %d locks for %v, want %v", i+1, got, w)
		}
	}
	if th.Check("X", t0) != 4*time.Second || th.Check("x", t0.Add(4*time.Second)) != 0 {
		t.Error("Check does not follow the lock")
	}
	th.Fail("y", t0)
	th.Fail("z", t0.Add(10*time.Minute)) // sweeps x and y: unlocked and older than Forget
	if th.Len() != 1 {
		t.Errorf("Len after forget = %d, want 1", th.Len())
	}
}

func TestAdminOperations(t *testing.T) {
	ctx := context.Background()
	a, _, _ := newAccounts(t)
	root, err := a.CreateUser(ctx, "root", "root-password", chat.RoleAdmin)
	if err != nil || root.Role != chat.RoleAdmin {
		t.Fatalf("CreateUser admin = %+v, %v", root, err)
	}
	if _, err := a.CreateUser(ctx, "bad", "root-password", "god"); chat.ErrorCode(err) != chat.EINVALID {
		t.Errorf("unknown role err = %v", err)
	}
	if u, err := a.SetRole(ctx, "ROOT", chat.RoleCreator); err != nil || u.Role != chat.RoleCreator {
		t.Errorf("SetRole = %+v, %v", u, err)
	}
	if _, err := a.SetRole(ctx, "root", "god"); chat.ErrorCode(err) != chat.EINVALID {
		t.Errorf("SetRole bad role err = %v", err)
	}
	if _, err := a.SetRole(ctx, "nobody", chat.RoleUser); chat.ErrorCode(err) != chat.ENOTFOUND {
		t.Errorf("SetRole unknown user err = %v", err)
	}
	if err := a.SetPassword(ctx, "root", "new-password"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.LogIn(ctx, "root", "new-password"); err != nil {
		t.Errorf("log-in with new password: %v", err)
	}
	if _, err := a.LogIn(ctx, "root", "root-password"); chat.ErrorCode(err) != chat.EUNAUTHORIZED {
		t.Errorf("old password still works: %v", err)
	}
	users, err := a.ListUsers(ctx)
	if err != nil || len(users) != 1 {
		t.Errorf("ListUsers = %v, %v", users, err)
	}
	if u, err := a.FindUser(ctx, "Root"); err != nil || u.ID != root.ID {
		t.Errorf("FindUser = %+v, %v", u, err)
	}
}

// Authenticate keeps a session's user for AuthCacheTTL: a session ended
// elsewhere (another node) is refused once that has passed; a log-out or
// role change through this Accounts applies at once.
func TestAuthCache(t *testing.T) {
	ctx := context.Background()
	db, c := openAccountsStore(t)
	a := chat.NewAccounts(db, db, chat.AccountsOptions{Password: cheap, Now: c.Now, SessionTTL: time.Hour, AuthCacheTTL: 2 * time.Second})
	l, err := a.SignUp(ctx, "ivan", "password-1")
	if err != nil {
		t.Fatal(err)
	}
	if u, err := a.Authenticate(ctx, l.Token); err != nil || u.Role != chat.RoleUser {
		t.Fatalf("Authenticate = %+v, %v", u, err)
	}
	if u, err := a.SetRole(ctx, "ivan", chat.RoleCreator); err != nil || u.Role != chat.RoleCreator {
		t.Fatalf("SetRole = %+v, %v", u, err)
	}
	if u, err := a.Authenticate(ctx, l.Token); err != nil || u.Role != chat.RoleCreator {
		t.Fatalf("after SetRole: %+v, %v; want the new role at once", u, err)
	}
	// Ended in the store directly, as by another node's log-out.
	if err := db.DeleteSession(ctx, chat.HashToken(l.Token)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, l.Token); err != nil {
		t.Fatalf("within AuthCacheTTL: %v, want the cached user", err)
	}
	c.Add(2 * time.Second)
	if _, err := a.Authenticate(ctx, l.Token); chat.ErrorCode(err) != chat.EUNAUTHORIZED {
		t.Fatalf("after AuthCacheTTL: %v, want unauthorized", err)
	}

	l2, err := a.LogIn(ctx, "ivan", "password-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, l2.Token); err != nil {
		t.Fatal(err)
	}
	if err := a.LogOut(ctx, l2.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, l2.Token); chat.ErrorCode(err) != chat.EUNAUTHORIZED {
		t.Fatalf("after LogOut: %v, want unauthorized at once", err)
	}

	// Off (the default): every call reads the store.
	off := chat.NewAccounts(db, db, chat.AccountsOptions{Password: cheap, Now: c.Now, SessionTTL: time.Hour})
	l3, err := off.LogIn(ctx, "ivan", "password-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := off.Authenticate(ctx, l3.Token); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteSession(ctx, chat.HashToken(l3.Token)); err != nil {
		t.Fatal(err)
	}
	if _, err := off.Authenticate(ctx, l3.Token); chat.ErrorCode(err) != chat.EUNAUTHORIZED {
		t.Fatalf("without a cache: %v, want unauthorized at once", err)
	}
}
