package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/leakcheck"
	"github.com/chatd/chatd/internal/testutil"
	"github.com/chatd/chatd/socketio/socketiotest"
	"github.com/chatd/chatd/store"
	"golang.org/x/crypto/bcrypt"
)

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

var listeningRE = regexp.MustCompile(`(?m)^listening on (http://127\.0\.0\.1:(\d+))$`)

// runningServer is a server started by MustRunMain.
type runningServer struct {
	URL    string
	Stdout *testutil.Buffer
	Stderr *testutil.Buffer
	cancel context.CancelFunc
	done   chan struct{} // closed when run has returned
	err    error         // run's result, set before done is closed
}

// Stop cancels the server's context and returns run's result.
func (s *runningServer) Stop(t *testing.T) error {
	t.Helper()
	s.cancel()
	select {
	case <-s.done:
		return s.err
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after cancel")
		return nil
	}
}

// MustRunMain runs run() in-process on 127.0.0.1:0 and waits for its
// listening line.
func MustRunMain(t *testing.T, args []string, env map[string]string) *runningServer {
	t.Helper()
	leakcheck.Check(t)
	ctx, cancel := context.WithCancel(context.Background())
	s := &runningServer{Stdout: &testutil.Buffer{}, Stderr: &testutil.Buffer{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		s.err = run(ctx, args, envMap(env), s.Stdout, s.Stderr)
		close(s.done)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := listeningRE.FindStringSubmatch(s.Stdout.String()); m != nil {
			s.URL = m[1]
			break
		}
		select {
		case <-s.done:
			cancel()
			t.Fatalf("run returned before listening: %v\nstderr:\n%s", s.err, s.Stderr)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no listening line; stdout %q stderr %q", s.Stdout, s.Stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Cleanup(func() {
		cancel()
		<-s.done
	})
	return s
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestRunServesAndShutsDown(t *testing.T) {
	before := runtime.NumGoroutine()
	dbPath := filepath.Join(t.TempDir(), "run.db")
	s := MustRunMain(t, []string{"-addr", "127.0.0.1:0", "-db", dbPath, "-log-level", "debug"}, nil)

	client := &http.Client{Transport: &http.Transport{}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if code, body := get(t, client, s.URL+"/healthz"); code != 200 || body != "ok" {
		t.Errorf("healthz = %d %q", code, body)
	}
	if code, _ := get(t, client, s.URL+"/login"); code != 200 {
		t.Errorf("GET /login = %d", code)
	}
	if code, _ := get(t, client, s.URL+"/static/app.js"); code != 200 {
		t.Errorf("GET /static/app.js = %d", code)
	}
	// A whole sign-up through the real server.
	res, err := client.PostForm(s.URL+"/signup", url.Values{"username": {"xavier"}, "password": {"xavier-pass"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || len(res.Cookies()) != 1 {
		t.Fatalf("sign-up = %d, cookies %v", res.StatusCode, res.Cookies())
	}
	req, _ := http.NewRequest("GET", s.URL+"/", nil)
	req.AddCookie(res.Cookies()[0])
	res, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("chat page = %d", res.StatusCode)
	}
	client.CloseIdleConnections()

	if err := s.Stop(t); err != nil {
		t.Fatalf("run returned %v\nstderr:\n%s", err, s.Stderr)
	}
	for _, want := range []string{"level=INFO msg=listening", "level=DEBUG msg=request", "msg=stopped"} {
		if !strings.Contains(s.Stderr.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, s.Stderr)
		}
	}
	if _, err := http.Get(s.URL + "/healthz"); err == nil {
		t.Error("server still answers after shutdown")
	}
	// The database was closed cleanly and kept the account.
	db, err := store.Open(context.Background(), dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.FindUserByName(context.Background(), "xavier"); err != nil {
		t.Errorf("account not persisted: %v", err)
	}
	db.Close()
	testutil.Eventually(t, 5*time.Second, "goroutines to return to the baseline", func() bool {
		return runtime.NumGoroutine() <= before
	})
}

func TestRunEnvironmentConfig(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "env.db")
	s := MustRunMain(t, nil, map[string]string{"CHATD_ADDR": "127.0.0.1:0", "CHATD_DB": dbPath, "CHATD_LOG_LEVEL": "warn"})
	if code, _ := get(t, http.DefaultClient, s.URL+"/healthz"); code != 200 {
		t.Errorf("healthz = %d", code)
	}
	if err := s.Stop(t); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s.Stderr.String(), "level=INFO") {
		t.Errorf("info logged at level warn:\n%s", s.Stderr)
	}
}

func TestRunFailsCleanly(t *testing.T) {
	ctx := context.Background()
	var out, errOut bytes.Buffer
	dir := t.TempDir()
	// A busy port.
	s := MustRunMain(t, []string{"-addr", "127.0.0.1:0", "-db", filepath.Join(dir, "a.db")}, nil)
	hostport := strings.TrimPrefix(s.URL, "http://")
	if err := run(ctx, []string{"-addr", hostport, "-db", filepath.Join(dir, "b.db")}, envMap(nil), &out, &errOut); err == nil || !strings.Contains(err.Error(), "listen") {
		t.Errorf("busy port: err = %v", err)
	}
	// A database path that cannot be created.
	if err := run(ctx, []string{"-addr", "127.0.0.1:0", "-db", filepath.Join(dir, "missing", "dir", "c.db")}, envMap(nil), &out, &errOut); err == nil {
		t.Error("unopenable database accepted")
	}
	if strings.Contains(out.String(), "listening") {
		t.Errorf("failed runs printed a listening line: %q", out.String())
	}
}

func TestParseServeConfig(t *testing.T) {
	c, err := parseServeConfig(nil, envMap(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.DB != "chatd.db" || c.MsgRate != 10 || c.LogLevel != slog.LevelInfo || len(c.Origins) != 0 || c.SecureCookie {
		t.Errorf("defaults = %+v", c)
	}
	env := envMap(map[string]string{
		"CHATD_ADDR": "127.0.0.1:9000", "CHATD_DB": "env.db", "CHATD_ORIGINS": "https://a.example, http://b.example:8080/ ,",
		"CHATD_MSG_RATE": "2.5", "CHATD_LOG_LEVEL": "debug", "CHATD_SECURE_COOKIE": "true",
	})
	c, err = parseServeConfig(nil, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9000" || c.DB != "env.db" || c.MsgRate != 2.5 || c.LogLevel != slog.LevelDebug || !c.SecureCookie ||
		strings.Join(c.Origins, " ") != "https://a.example http://b.example:8080" {
		t.Errorf("from env = %+v", c)
	}
	c, err = parseServeConfig([]string{"-addr", "127.0.0.1:0", "-db", "flag.db", "-origins", "https://c.example", "-msg-rate", "0", "-log-level", "error", "-secure-cookie=false"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:0" || c.DB != "flag.db" || c.MsgRate != 0 || c.LogLevel != slog.LevelError || strings.Join(c.Origins, " ") != "https://c.example" || c.SecureCookie {
		t.Errorf("flags over env = %+v", c)
	}
	for _, args := range [][]string{
		{"-msg-rate", "fast"}, {"-msg-rate", "-1"}, {"-log-level", "loud"}, {"-origins", "c.example"}, {"-secure-cookie=maybe"},
		{"-nope"}, {"extra"}, {"-db", ""}, {"-pprof-addr", "0.0.0.0:6060"}, {"-pprof-addr", ":6060"}, {"-pprof-addr", "localhost"},
	} {
		if _, err := parseServeConfig(args, envMap(nil), io.Discard); err == nil {
			t.Errorf("parseServeConfig(%q) accepted", args)
		}
	}
	if _, err := parseServeConfig(nil, envMap(map[string]string{"CHATD_MSG_RATE": "x"}), io.Discard); err == nil {
		t.Error("bad CHATD_MSG_RATE accepted")
	}
	if _, err := parseServeConfig(nil, envMap(map[string]string{"CHATD_SECURE_COOKIE": "sometimes"}), io.Discard); err == nil {
		t.Error("bad CHATD_SECURE_COOKIE accepted")
	}
	for _, addr := range []string{"127.0.0.1:0", "[::1]:6060", "localhost:6060"} {
		if c, err := parseServeConfig([]string{"-pprof-addr", addr}, envMap(nil), io.Discard); err != nil || c.PprofAddr != addr {
			t.Errorf("-pprof-addr %s: %+v, %v", addr, c, err)
		}
	}
	if c, err := parseServeConfig([]string{"-pprof-addr", "0.0.0.0:6060", "-pprof-public"}, envMap(nil), io.Discard); err != nil || !c.PprofPublic {
		t.Errorf("-pprof-public: %+v, %v", c, err)
	}
	if c, err := parseServeConfig(nil, envMap(map[string]string{"CHATD_PPROF_ADDR": "127.0.0.1:6061"}), io.Discard); err != nil || c.PprofAddr != "127.0.0.1:6061" {
		t.Errorf("CHATD_PPROF_ADDR: %+v, %v", c, err)
	}
	if c, err := parseServeConfig([]string{"-secure-cookie"}, envMap(nil), io.Discard); err != nil || !c.SecureCookie {
		t.Errorf("-secure-cookie: %+v, %v", c, err)
	}
	var usage bytes.Buffer
	if _, err := parseServeConfig([]string{"-h"}, envMap(nil), &usage); !errors.Is(err, errHelp()) || !strings.Contains(usage.String(), "-msg-rate") {
		t.Errorf("-h: err %v usage %q", err, usage.String())
	}
}

// -pprof-addr serves the profiles on their own listener, and nothing of
// them on the chat's address.
func TestRunPprof(t *testing.T) {
	s := MustRunMain(t, []string{"-db", filepath.Join(t.TempDir(), "p.db"), "-addr", "127.0.0.1:0", "-pprof-addr", "127.0.0.1:0"}, nil)
	m := regexp.MustCompile(`"profiling endpoints" addr=(http://\S+/debug/pprof/)`).FindStringSubmatch(s.Stderr.String())
	if m == nil {
		t.Fatalf("no profiling address in the log:\n%s", s.Stderr)
	}
	res, err := http.Get(m[1] + "goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "goroutine profile") {
		t.Fatalf("goroutine profile: %d %.200s", res.StatusCode, body)
	}
	res, err = http.Get(s.URL + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode == 200 {
		t.Fatal("the chat's address serves /debug/pprof/")
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestAdminCommands(t *testing.T) {
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "admin.db")
	env := map[string]string{"CHATD_ADMIN_PASSWORD": "admin-secret-1"}
	adm := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, append([]string{"admin"}, args...), envMap(env), &out, io.Discard)
		return out.String(), err
	}

	out, err := adm("create", "-db", dbPath, "Root")
	if err != nil || !strings.Contains(out, "created admin Root") {
		t.Fatalf("admin create = %q, %v", out, err)
	}
	if _, err := adm("create", "-db", dbPath, "root"); err == nil || !strings.Contains(err.Error(), "taken") {
		t.Errorf("second create err = %v", err)
	}
	if _, err := adm("create", "-db", dbPath, "x"); err == nil {
		t.Error("invalid name accepted")
	}
	env["CHATD_ADMIN_PASSWORD"] = "short"
	if _, err := adm("create", "-db", dbPath, "other"); err == nil || !strings.Contains(err.Error(), "at least 8") {
		t.Errorf("short password err = %v", err)
	}
	// Without the variable the password is read from a terminal; tests have none.
	delete(env, "CHATD_ADMIN_PASSWORD")
	if _, err := adm("create", "-db", dbPath, "other"); err == nil || !strings.Contains(err.Error(), "CHATD_ADMIN_PASSWORD") {
		t.Errorf("no password, no terminal: err = %v", err)
	}

	db, err := store.Open(ctx, dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateUser(ctx, "yvonne", chat.RoleUser, "h"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// The flag may follow the positional arguments; CHATD_DB works too.
	if out, err := adm("set-role", "yvonne", "creator", "-db", dbPath); err != nil || !strings.Contains(out, "yvonne is now creator") {
		t.Errorf("set-role = %q, %v", out, err)
	}
	env["CHATD_DB"] = dbPath
	if out, err := adm("set-role", "YVONNE", "Admin"); err != nil || !strings.Contains(out, "yvonne is now admin") {
		t.Errorf("set-role via env = %q, %v", out, err)
	}
	for _, args := range [][]string{
		{"set-role", "yvonne", "god"}, {"set-role", "nobody", "user"}, {"set-role", "yvonne"},
		{"create"}, {"create", "a1b", "c2d"}, {"frobnicate"}, {},
	} {
		if _, err := adm(args...); err == nil {
			t.Errorf("admin %q accepted", args)
		}
	}

	// The created admin can log in with the password from the environment.
	db, err = store.Open(ctx, dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	acc := chat.NewAccounts(db, db, chat.AccountsOptions{})
	l, err := acc.LogIn(ctx, "root", "admin-secret-1")
	if err != nil || l.User.Role != chat.RoleAdmin {
		t.Errorf("admin log-in = %+v, %v", l.User, err)
	}
	if u, _ := db.FindUserByName(ctx, "yvonne"); u.Role != chat.RoleAdmin {
		t.Errorf("yvonne's role = %s", u.Role)
	}
}

func TestParseAdminUIConfig(t *testing.T) {
	c, err := parseServeConfig(nil, envMap(nil), io.Discard)
	if err != nil || c.AdminUI.Enabled {
		t.Fatalf("the Admin UI is off by default: %+v, %v", c.AdminUI, err)
	}
	c, err = parseServeConfig([]string{"-admin-ui"}, envMap(map[string]string{"CHATD_ADMIN_UI_PASSWORD": "pw"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	a := c.AdminUI
	if !a.Enabled || a.Namespace != "/socket.io-admin" || a.Username != "admin" || a.ReadOnly || a.Production || a.NoAuth {
		t.Fatalf("defaults: %+v", a)
	}
	if bcrypt.CompareHashAndPassword([]byte(a.PasswordHash), []byte("pw")) != nil {
		t.Fatal("the password was not hashed")
	}
	h, _ := bcrypt.GenerateFromPassword([]byte("pw2"), bcrypt.MinCost)
	c, err = parseServeConfig([]string{"-admin-ui-namespace", "/ops", "-admin-ui-user", "ops", "-admin-ui-readonly", "-admin-ui-mode", "production"},
		envMap(map[string]string{"CHATD_ADMIN_UI": "true", "CHATD_ADMIN_UI_PASSWORD_HASH": string(h)}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if a := c.AdminUI; !a.Enabled || a.Namespace != "/ops" || a.Username != "ops" || !a.ReadOnly || !a.Production || a.PasswordHash != string(h) {
		t.Fatalf("flags: %+v", a)
	}
	pw := envMap(map[string]string{"CHATD_ADMIN_UI_PASSWORD": "pw"})
	for _, args := range [][]string{
		{"-admin-ui-namespace", "/admin"}, {"-admin-ui-namespace", "/"}, {"-admin-ui-namespace", "ops"},
		{"-admin-ui-mode", "debug"}, {"-admin-ui-user", ""}, {"-admin-ui-no-auth", "-addr", "0.0.0.0:8080"},
	} {
		if _, err := parseServeConfig(append([]string{"-admin-ui"}, args...), pw, io.Discard); err == nil {
			t.Errorf("parseServeConfig(%q) accepted", args)
		}
	}
	if _, err := parseServeConfig([]string{"-admin-ui"}, envMap(nil), io.Discard); err == nil {
		t.Error("-admin-ui without a password accepted")
	}
	if _, err := parseServeConfig([]string{"-admin-ui"}, envMap(map[string]string{"CHATD_ADMIN_UI_PASSWORD_HASH": "plain"}), io.Discard); err == nil {
		t.Error("a password hash that is not bcrypt accepted")
	}
	if c, err := parseServeConfig([]string{"-admin-ui", "-admin-ui-no-auth", "-addr", "127.0.0.1:0"}, envMap(nil), io.Discard); err != nil || !c.AdminUI.NoAuth {
		t.Errorf("-admin-ui-no-auth on loopback: %+v, %v", c.AdminUI, err)
	}
}

func TestRunAdminUI(t *testing.T) {
	before := runtime.NumGoroutine()
	dbPath := filepath.Join(t.TempDir(), "run.db")
	s := MustRunMain(t, []string{"-addr", "127.0.0.1:0", "-db", dbPath, "-admin-ui"}, map[string]string{"CHATD_ADMIN_UI_PASSWORD": "pw"})
	client := &http.Client{Transport: &http.Transport{}}
	if code, body := get(t, client, s.URL+"/admin-ui/"); code != 200 || !strings.Contains(body, "Socket.IO Admin UI") {
		t.Errorf("GET /admin-ui/ = %d %.100q", code, body)
	}
	client.CloseIdleConnections()
	c := socketiotest.Dial(t, s.URL+"/socket.io/", nil)
	c.Send(`40/socket.io-admin,{"username":"admin","password":"nope"}`)
	c.Expect(`44/socket.io-admin,{"message":"invalid credentials"}`)
	c.Connect("/socket.io-admin", map[string]string{"username": "admin", "password": "pw"})
	c.ExpectEvent("/socket.io-admin", "all_sockets")
	_ = c.WS.Close()
	if err := s.Stop(t); err != nil {
		t.Fatalf("run returned %v\nstderr:\n%s", err, s.Stderr)
	}
	testutil.Eventually(t, 5*time.Second, "goroutines to return to the baseline", func() bool {
		return runtime.NumGoroutine() <= before
	})
}
