package socketio_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/engine"
)

// v3Client is a minimal Engine.IO v3 polling client (b64=1).
type v3Client struct {
	t   *testing.T
	url string
	sid string
}

func (c *v3Client) do(method, body string) string {
	c.t.Helper()
	u := c.url + "?EIO=3&transport=polling&b64=1"
	if c.sid != "" {
		u += "&sid=" + c.sid
	}
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		c.t.Fatalf("%s: %d %s", method, res.StatusCode, b)
	}
	return string(b)
}

// frame is the v3 payload element of an ASCII packet.
func frame(packet string) string { return strconv.Itoa(len(packet)) + ":" + packet }

func TestProtocolV4Namespaces(t *testing.T) {
	srv := socketio.NewServer(&socketio.Options{AllowEIO3: true, Engine: engine.Options{PingInterval: time.Hour, PingTimeout: time.Hour}})
	srv.OnConnection(func(s *socketio.Socket) {})
	srv.Of("/admin").Use(func(s *socketio.Socket) error {
		if !strings.Contains(string(s.Handshake().Auth), `"token":"ok"`) {
			return socketio.NewConnectError("denied", nil)
		}
		return nil
	}).OnConnection(func(s *socketio.Socket) { _ = s.Emit("id", s.ID()) })
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Close(t.Context())

	c := &v3Client{t: t, url: ts.URL + "/socket.io/"}
	open := c.do("GET", "")
	i := strings.Index(open, `"sid":"`)
	if i < 0 || strings.Contains(open, "maxPayload") {
		t.Fatalf("open payload %q", open)
	}
	c.sid = open[i+7 : i+7+20]
	// The main namespace is joined without CONNECT; the answer has no sid.
	got := ""
	if !strings.Contains(open, "2:40") {
		got = c.do("GET", "")
	}
	if !strings.Contains(open+got, "2:40") {
		t.Fatalf("no implicit CONNECT to /: %q %q", open, got)
	}
	c.do("POST", frame("40/admin?token=ok,"))
	want := frame("40/admin,") + frame(`42/admin,["id","/admin#`+c.sid+`"]`)
	if got := c.do("GET", ""); got != want {
		t.Fatalf("admin connect = %q, want %q", got, want)
	}
	c.do("POST", frame("40/nope,"))
	if got, want := c.do("GET", ""), frame(`44/nope,"Invalid namespace"`); got != want {
		t.Fatalf("invalid namespace = %q, want %q", got, want)
	}
	c2 := &v3Client{t: t, url: c.url}
	open = c2.do("GET", "")
	i = strings.Index(open, `"sid":"`)
	c2.sid = open[i+7 : i+7+20]
	c2.do("POST", frame("40/admin?token=bad,"))
	deadline := time.Now().Add(5 * time.Second)
	got = ""
	for !strings.Contains(got, "44/admin") && time.Now().Before(deadline) {
		got += c2.do("GET", "")
	}
	if !strings.Contains(got, frame(`44/admin,"denied"`)) {
		t.Fatalf("middleware refusal = %q", got)
	}
}
