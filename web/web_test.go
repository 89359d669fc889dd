package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/leakcheck"
	"github.com/chatd/chatd/store"
	"github.com/chatd/chatd/web"
)

var cheap = chat.PasswordParams{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}

type env struct {
	t   *testing.T
	srv *httptest.Server
	db  *store.DB
	acc *chat.Accounts
}

func newEnv(t *testing.T, origins ...string) *env {
	t.Helper()
	leakcheck.Check(t)
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "web.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	acc := chat.NewAccounts(db, db, chat.AccountsOptions{Password: cheap})
	h, err := web.New(web.Config{
		Accounts: acc, Namespaces: db, Health: db, TrustedOrigins: origins,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); db.Close() })
	return &env{t: t, srv: srv, db: db, acc: acc}
}

type resp struct {
	status int
	header http.Header
	body   string
	cookie *http.Cookie // the session cookie set by the response, if any
}

// do sends a request without following redirects.
func (e *env) do(method, path string, form url.Values, token string, hdr map[string]string) resp {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		req.AddCookie(&http.Cookie{Name: chat.SessionCookieName, Value: token})
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := resp{status: res.StatusCode, header: res.Header, body: string(b)}
	for _, c := range res.Cookies() {
		if c.Name == chat.SessionCookieName {
			r.cookie = c
		}
	}
	return r
}

func creds(name, pw string) url.Values { return url.Values{"username": {name}, "password": {pw}} }

func (e *env) signUp(name, pw string) string {
	e.t.Helper()
	r := e.do("POST", "/signup", creds(name, pw), "", nil)
	if r.status != http.StatusSeeOther || r.cookie == nil {
		e.t.Fatalf("sign-up %s: status %d, cookie %v\n%s", name, r.status, r.cookie, r.body)
	}
	return r.cookie.Value
}

func TestForms(t *testing.T) {
	e := newEnv(t)
	for path, testid := range map[string]string{"/login": "login-form", "/signup": "signup-form"} {
		r := e.do("GET", path, nil, "", nil)
		if r.status != 200 || !strings.Contains(r.body, `data-testid="`+testid+`"`) ||
			!strings.Contains(r.body, `name="username"`) || !strings.Contains(r.body, `name="password"`) ||
			!strings.Contains(r.body, `<label for="username">`) {
			t.Errorf("GET %s: %d\n%s", path, r.status, r.body)
		}
		if !strings.Contains(r.header.Get("Content-Security-Policy"), "default-src 'self'") ||
			r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: security headers %v", path, r.header)
		}
	}
}

func TestChatPageNeedsSession(t *testing.T) {
	e := newEnv(t)
	for _, token := range []string{"", "not-a-token", chat.NewToken()} {
		r := e.do("GET", "/", nil, token, nil)
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
			t.Errorf("GET / with token %q: %d %s", token, r.status, r.header.Get("Location"))
		}
	}
}

func TestSignUpFlow(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/signup", creds("Olivia", "olivia-pass"), "", nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
		t.Fatalf("sign-up: %d %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	c := r.cookie
	if c == nil {
		t.Fatal("no session cookie")
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure || len(c.Value) != 43 {
		t.Errorf("cookie attributes: %+v", c)
	}
	if d := time.Until(c.Expires); d < 29*24*time.Hour || d > 31*24*time.Hour {
		t.Errorf("cookie expires in %v, want about 30 days", d)
	}
	if c.MaxAge < 29*24*3600 {
		t.Errorf("cookie Max-Age %d", c.MaxAge)
	}

	page := e.do("GET", "/", nil, c.Value, nil)
	if page.status != 200 {
		t.Fatalf("GET / signed in: %d", page.status)
	}
	for _, want := range []string{`data-username="Olivia"`, `data-role="user"`, `data-endpoint="/user"`,
		`src="/static/img/user.svg"`, `data-testid="message-input"`, `src="/socket.io/socket.io.min.js"`, `src="/static/app.js"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("chat page lacks %s", want)
		}
	}
	for _, unwanted := range []string{`data-endpoint="/creator"`, `data-endpoint="/admin"`, `data-testid="admin-link"`} {
		if strings.Contains(page.body, unwanted) {
			t.Errorf("chat page of a user shows %s", unwanted)
		}
	}

	// Taken name, in any case.
	r = e.do("POST", "/signup", creds("oLIVIA", "another-pass"), "", nil)
	if r.status != http.StatusConflict || r.cookie != nil || !strings.Contains(r.body, `data-testid="form-error"`) ||
		!strings.Contains(r.body, "taken") || !strings.Contains(r.body, `value="oLIVIA"`) {
		t.Errorf("taken name: %d cookie %v\n%s", r.status, r.cookie, r.body)
	}
	// Invalid input.
	for _, tc := range []url.Values{
		creds("ab", "long-enough"), creds(strings.Repeat("x", 33), "long-enough"),
		creds("bad name", "long-enough"), creds("fine_name", "short"), creds("", ""),
	} {
		r = e.do("POST", "/signup", tc, "", nil)
		if r.status != http.StatusBadRequest || r.cookie != nil || !strings.Contains(r.body, `data-testid="form-error"`) {
			t.Errorf("sign-up %v: %d\n%s", tc, r.status, r.body)
		}
	}
	// The echoed name is escaped.
	r = e.do("POST", "/signup", creds(`<script>x</script>`, "long-enough"), "", nil)
	if r.status != http.StatusBadRequest || strings.Contains(r.body, "<script>x") || !strings.Contains(r.body, "&lt;script&gt;") {
		t.Errorf("markup in name not escaped: %d\n%s", r.status, r.body)
	}
}

func TestLogInLogOut(t *testing.T) {
	e := newEnv(t)
	first := e.signUp("peggy", "peggy-pass")

	r := e.do("POST", "/login", creds("peggy", "wrong-pass"), "", nil)
	if r.status != http.StatusUnauthorized || r.cookie != nil || !strings.Contains(r.body, "wrong username or password") {
		t.Errorf("wrong password: %d\n%s", r.status, r.body)
	}
	r = e.do("POST", "/login", creds("nobody", "whatever-pw"), "", nil)
	if r.status != http.StatusUnauthorized {
		t.Errorf("unknown user: %d", r.status)
	}
	r = e.do("POST", "/login", creds("", ""), "", nil)
	if r.status != http.StatusBadRequest {
		t.Errorf("empty log-in: %d", r.status)
	}
	r = e.do("POST", "/login", creds("PEGGY", "peggy-pass"), "", nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" || r.cookie == nil || !r.cookie.HttpOnly {
		t.Fatalf("log-in: %d %v", r.status, r.cookie)
	}
	second := r.cookie.Value
	if e.do("GET", "/", nil, second, nil).status != 200 {
		t.Error("new session does not open the chat page")
	}

	r = e.do("POST", "/logout", nil, second, nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" || r.cookie == nil || r.cookie.MaxAge >= 0 {
		t.Errorf("log-out: %d %q %+v", r.status, r.header.Get("Location"), r.cookie)
	}
	if r := e.do("GET", "/", nil, second, nil); r.status != http.StatusSeeOther {
		t.Errorf("ended session still opens the chat page: %d", r.status)
	}
	if r := e.do("GET", "/", nil, first, nil); r.status != 200 {
		t.Errorf("the other session ended too: %d", r.status)
	}
	if r := e.do("POST", "/logout", nil, "", nil); r.status != http.StatusSeeOther {
		t.Errorf("log-out without session: %d", r.status)
	}
}

func TestLogInThrottled(t *testing.T) {
	e := newEnv(t)
	e.signUp("quinn", "quinn-pass")
	for i := range 4 {
		if r := e.do("POST", "/login", creds("quinn", "bad-guess"), "", nil); r.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, r.status)
		}
	}
	r := e.do("POST", "/login", creds("quinn", "bad-guess"), "", nil)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "30" {
		t.Errorf("5th failure: %d Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	r = e.do("POST", "/login", creds("quinn", "quinn-pass"), "", nil)
	if r.status != http.StatusTooManyRequests || r.cookie != nil || !strings.Contains(r.body, "try again in") {
		t.Errorf("right password while locked: %d %v\n%s", r.status, r.cookie, r.body)
	}
	// Sign-ups are not limited.
	for i := range 8 {
		e.signUp("user-"+string(rune('a'+i))+"xx", "password-x")
	}
}

func TestCrossSiteRequestsRefused(t *testing.T) {
	e := newEnv(t, "https://chat.example.org")
	token := e.signUp("rita", "rita-pass")
	cases := []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"cross-site fetch metadata", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"same-site fetch metadata", map[string]string{"Sec-Fetch-Site": "same-site"}, http.StatusForbidden},
		{"foreign origin", map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"trusted origin", map[string]string{"Origin": "https://chat.example.org", "Sec-Fetch-Site": "cross-site"}, http.StatusSeeOther},
		{"same origin", map[string]string{"Sec-Fetch-Site": "same-origin"}, http.StatusSeeOther},
		{"no browser headers", nil, http.StatusSeeOther},
	}
	for _, c := range cases {
		r := e.do("POST", "/login", creds("rita", "rita-pass"), "", c.hdr)
		if r.status != c.want {
			t.Errorf("%s: POST /login = %d, want %d", c.name, r.status, c.want)
		}
		if c.want == http.StatusForbidden && r.cookie != nil {
			t.Errorf("%s: refused request set a cookie", c.name)
		}
	}
	// A cross-site log-out does not end the session.
	if r := e.do("POST", "/logout", nil, token, map[string]string{"Sec-Fetch-Site": "cross-site"}); r.status != http.StatusForbidden {
		t.Errorf("cross-site log-out: %d", r.status)
	}
	if r := e.do("GET", "/", nil, token, nil); r.status != 200 {
		t.Errorf("session ended by a cross-site log-out: %d", r.status)
	}
	// Safe methods are not affected.
	if r := e.do("GET", "/login", nil, "", map[string]string{"Sec-Fetch-Site": "cross-site"}); r.status != 200 {
		t.Errorf("cross-site GET /login: %d", r.status)
	}
	if _, err := web.New(web.Config{Accounts: e.acc, Namespaces: e.db, TrustedOrigins: []string{"not an origin"}}); err == nil {
		t.Error("malformed trusted origin accepted")
	}
}

func TestSecureCookieOverTLS(t *testing.T) {
	e := newEnv(t)
	h, err := web.New(web.Config{Accounts: e.acc, Namespaces: e.db, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "https://chat.example/signup", strings.NewReader(creds("sybil", "sybil-pass").Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	cs := rec.Result().Cookies()
	if rec.Code != http.StatusSeeOther || len(cs) != 1 || !cs[0].Secure || !cs[0].HttpOnly {
		t.Errorf("TLS sign-up: %d cookies %+v", rec.Code, cs)
	}
}

// With SecureCookies (chatd behind a TLS proxy) the cookie is Secure on
// plain HTTP too, for setting and for clearing it.
func TestSecureCookiesBehindProxy(t *testing.T) {
	e := newEnv(t)
	h, err := web.New(web.Config{Accounts: e.acc, Namespaces: e.db, SecureCookies: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/signup", "/logout"} {
		req := httptest.NewRequest("POST", "http://chat.example"+path, strings.NewReader(creds("tobias", "tobias-pass").Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		cs := rec.Result().Cookies()
		if rec.Code != http.StatusSeeOther || len(cs) != 1 || !cs[0].Secure {
			t.Errorf("%s over plain HTTP: %d cookies %+v", path, rec.Code, cs)
		}
	}
}

func TestAdminPages(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	userTok := e.signUp("ursula", "ursula-pass")
	e.signUp("victor", "victor-pass")
	if _, err := e.acc.CreateUser(ctx, "wendy", "wendy-pass", chat.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	r := e.do("POST", "/login", creds("wendy", "wendy-pass"), "", nil)
	if r.cookie == nil {
		t.Fatalf("admin log-in: %d", r.status)
	}
	adminTok := r.cookie.Value

	// Not admins: 403 for the page and the form post.
	for _, tok := range []string{"", userTok} {
		if r := e.do("GET", "/admin/users", nil, tok, nil); r.status != http.StatusForbidden {
			t.Errorf("GET /admin/users as %q: %d", tok, r.status)
		}
		if r := e.do("POST", "/admin/users/victor/role", url.Values{"role": {"admin"}}, tok, nil); r.status != http.StatusForbidden {
			t.Errorf("POST role as %q: %d", tok, r.status)
		}
	}
	if u, _ := e.db.FindUserByName(ctx, "victor"); u.Role != chat.RoleUser {
		t.Fatalf("a non-admin changed a role: %s", u.Role)
	}

	r = e.do("GET", "/admin/users", nil, adminTok, nil)
	if r.status != 200 || strings.Count(r.body, `data-testid="user-row"`) != 3 || !strings.Contains(r.body, `data-username="victor"`) {
		t.Fatalf("admin page: %d\n%s", r.status, r.body)
	}
	if strings.Contains(r.body, `action="/admin/users/wendy/role"`) {
		t.Error("the admin's own role is editable")
	}
	if page := e.do("GET", "/", nil, adminTok, nil); !strings.Contains(page.body, `data-endpoint="/admin"`) ||
		!strings.Contains(page.body, `data-endpoint="/creator"`) || !strings.Contains(page.body, `data-testid="admin-link"`) {
		t.Error("admin's chat page lacks admin namespaces or the admin link")
	}

	r = e.do("POST", "/admin/users/victor/role", url.Values{"role": {"creator"}}, adminTok, nil)
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/admin/users") {
		t.Errorf("set role: %d %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	if u, _ := e.db.FindUserByName(ctx, "victor"); u.Role != chat.RoleCreator {
		t.Errorf("victor's role = %s, want creator", u.Role)
	}
	for _, tc := range []struct {
		path, role string
		want       int
	}{
		{"/admin/users/victor/role", "emperor", http.StatusBadRequest},
		{"/admin/users/wendy/role", "user", http.StatusBadRequest},
		{"/admin/users/WENDY/role", "user", http.StatusBadRequest},
		{"/admin/users/nobody/role", "admin", http.StatusNotFound},
	} {
		r := e.do("POST", tc.path, url.Values{"role": {tc.role}}, adminTok, nil)
		if r.status != tc.want || !strings.Contains(r.body, `data-testid="form-error"`) {
			t.Errorf("POST %s role=%s: %d, want %d\n%s", tc.path, tc.role, r.status, tc.want, r.body)
		}
	}
	if u, _ := e.db.FindUserByName(ctx, "wendy"); u.Role != chat.RoleAdmin {
		t.Errorf("admin demoted themselves: %s", u.Role)
	}
	// The user's session sees the new role at once.
	if _, err := e.acc.SetRole(ctx, "ursula", chat.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if r := e.do("GET", "/admin/users", nil, userTok, nil); r.status != 200 {
		t.Errorf("promoted user: GET /admin/users = %d", r.status)
	}
}

func TestHealthzAndStatic(t *testing.T) {
	e := newEnv(t)
	if r := e.do("GET", "/healthz", nil, "", nil); r.status != 200 || r.body != "ok" {
		t.Errorf("healthz: %d %q", r.status, r.body)
	}
	for path, ctype := range map[string]string{
		"/static/app.js": "javascript", "/static/style.css": "text/css",
		"/static/img/user.svg": "image/svg+xml", "/static/img/creator.svg": "image/svg+xml", "/static/img/admin.svg": "image/svg+xml",
	} {
		r := e.do("GET", path, nil, "", nil)
		if r.status != 200 || !strings.Contains(r.header.Get("Content-Type"), ctype) || len(r.body) == 0 {
			t.Errorf("GET %s: %d %q", path, r.status, r.header.Get("Content-Type"))
		}
	}
	if r := e.do("GET", "/static/nope.js", nil, "", nil); r.status != 404 {
		t.Errorf("missing asset: %d", r.status)
	}
	if r := e.do("GET", "/no/such/page", nil, "", nil); r.status != 404 {
		t.Errorf("unknown page: %d", r.status)
	}
	// Every seeded namespace image is served.
	nss, err := e.db.ListNamespaces(context.Background(), chat.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range nss {
		if r := e.do("GET", ns.Img, nil, "", nil); r.status != 200 {
			t.Errorf("image of %s (%s): %d", ns.Endpoint, ns.Img, r.status)
		}
	}

	// A closed database makes the health check fail.
	e.db.Close()
	if r := e.do("GET", "/healthz", nil, "", nil); r.status != http.StatusServiceUnavailable {
		t.Errorf("healthz with a closed DB: %d %q", r.status, r.body)
	}
}
