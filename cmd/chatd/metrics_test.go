package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/internal/testutil"
	"github.com/chatd/chatd/socketio/socketiotest"
	"github.com/gorilla/websocket"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

var metricsURLRE = regexp.MustCompile(`msg=metrics addr=(http://\S+/metrics)`)

// metricsURL returns the URL of the metrics of s, from its start-up log.
func metricsURL(t *testing.T, s *runningServer) string {
	t.Helper()
	m := metricsURLRE.FindStringSubmatch(s.Stderr.String())
	if m == nil {
		t.Fatalf("no metrics address in the log:\n%s", s.Stderr)
	}
	return m[1]
}

// scrapeMetrics fetches u and parses the text exposition into
// name{label="value",...} -> value (labels sorted by name; a histogram
// gives name_count and name_sum).
func scrapeMetrics(t *testing.T, u string) map[string]float64 {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %s", u, res.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("parsing the exposition: %v", err)
	}
	out := map[string]float64{}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(labels)
			suffix := ""
			if len(labels) > 0 {
				suffix = "{" + strings.Join(labels, ",") + "}"
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[name+suffix] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[name+suffix] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[name+"_count"+suffix] = float64(m.GetHistogram().GetSampleCount())
				out[name+"_sum"+suffix] = m.GetHistogram().GetSampleSum()
			}
		}
	}
	return out
}

// check fails t for every expectation of want (key -> condition on the
// value) that the scrape m does not meet.
func check(t *testing.T, step string, m map[string]float64, want map[string]func(float64) bool) {
	t.Helper()
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, ok := m[k]
		if !ok {
			t.Errorf("%s: %s missing", step, k)
		} else if !want[k](v) {
			t.Errorf("%s: %s = %v", step, k, v)
		}
	}
}

func eq(n float64) func(float64) bool { return func(v float64) bool { return v == n } }
func atLeast(n float64) func(float64) bool {
	return func(v float64) bool { return v >= n }
}

// -metrics-addr serves, on a listener of its own, the Socket.IO server's
// metrics and chatd's; a scripted session (a failed log-in, a
// connection, a join, messages, a slow consumer, a disconnection) moves
// each of them.
func TestRunMetrics(t *testing.T) {
	s := MustRunMain(t, []string{"-db", filepath.Join(t.TempDir(), "m.db"), "-addr", "127.0.0.1:0", "-metrics-addr", "127.0.0.1:0", "-msg-rate", "0"}, nil)
	mu := metricsURL(t, s)
	if code, _ := get(t, http.DefaultClient, s.URL+"/metrics"); code == 200 {
		t.Error("the chat's address serves /metrics")
	}
	m := scrapeMetrics(t, mu)
	check(t, "at start", m, map[string]func(float64) bool{
		`socketio_engine_sessions{transport="websocket"}`:      eq(0),
		`chatd_messages_stored_total`:                          eq(0),
		`chatd_presence_sockets`:                               eq(0),
		`chatd_login_failures_total{reason="bad_credentials"}`: eq(0),
		`go_goroutines`:                                        atLeast(1),
	})

	alice := account(t, s.URL, "/signup", "alice", "alice-password")
	bob := account(t, s.URL, "/signup", "bob", "bob-password")
	req, _ := http.NewRequest("POST", s.URL+"/login", strings.NewReader("username=alice&password=wrong"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.URL)
	if res, err := noRedirects.Do(req); err != nil {
		t.Fatal(err)
	} else {
		res.Body.Close()
	}

	ca := dialChat(t, s.URL, "/user", alice)
	if ack := ca.call(t, "joinRoom", "chat"); ack["members"] != float64(1) {
		t.Fatalf("join ack = %v", ack)
	}
	text := strings.Repeat("m", 2000)
	const posts = 100 // a history page of 100 messages holds 200 kB
	for i := range posts {
		if err := ca.s.Emit("newMsg2Server", map[string]string{"text": fmt.Sprint(i, text)[:2000]}); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, 10*time.Second, "alice to get her messages", func() bool { return len(ca.texts()) == posts })
	m = scrapeMetrics(t, mu)
	check(t, "after the posts", m, map[string]func(float64) bool{
		`chatd_login_failures_total{reason="bad_credentials"}`:                 eq(1),
		`chatd_messages_stored_total`:                                          eq(posts),
		`chatd_store_duration_seconds_count{op="append_message"}`:              eq(posts),
		`chatd_store_duration_seconds_sum{op="append_message"}`:                atLeast(0),
		`chatd_presence_sockets`:                                               eq(1),
		`chatd_presence_rooms`:                                                 eq(1),
		`socketio_engine_sessions{transport="websocket"}`:                      eq(1),
		`socketio_engine_sessions_opened_total`:                                eq(1),
		`socketio_sockets{namespace="/user"}`:                                  eq(1),
		`socketio_rooms{namespace="/user"}`:                                    atLeast(1),
		`socketio_packets_received_total{type="connect"}`:                      eq(1),
		`socketio_packets_received_total{type="event"}`:                        eq(1 + posts),
		`socketio_received_bytes_total{type="event"}`:                          atLeast(posts * 2000),
		`socketio_packets_sent_total{type="ack"}`:                              eq(1),
		`socketio_broadcasts_total`:                                            atLeast(posts),
		`socketio_broadcast_recipients_total`:                                  atLeast(posts),
		`socketio_sent_bytes_total{type="event"}`:                              atLeast(posts * 2000),
		`socketio_engine_queued_bytes`:                                         atLeast(0),
		`socketio_slow_consumer_closes_total`:                                  eq(0),
		`socketio_connect_errors_total`:                                        eq(0),
		`socketio_engine_request_errors_total{code="3",message="Bad request"}`: eq(0),
	})

	// A connection without a session is refused by the namespace's
	// middleware (CONNECT_ERROR).
	if err := dialErr(s.URL, "/user", chat.SessionCookieName+"=nope"); err == nil {
		t.Fatal("a connection with an unknown session was accepted")
	}
	// bob never reads, and asks for history pages until the server gives
	// up on him.
	slow := socketiotest.Dial(t, s.URL+"/socket.io/", http.Header{"Cookie": {bob}})
	slow.Send(`40/user,`)
	slow.ExpectMatch(`40/user,\{"sid":"[^"]+"(,"pid":"[^"]+")?\}`) // a pid with connection state recovery
	slow.Send(`42/user,1["joinRoom","chat"]`)
	for {
		if strings.HasPrefix(slow.ReadText(), `43/user,1[`) {
			break
		}
	}
	// Five requests at a time, once the previous ones are answered, so
	// that few are left to handle once the connection is closed.
	for i := 0; ; i++ {
		if i == 100 { // 500 pages of 200 kB: 100 MB
			t.Fatal("the slow consumer was not closed")
		}
		acks := scrapeMetrics(t, mu)[`socketio_packets_sent_total{type="ack"}`]
		for j := range 5 {
			if slow.WS.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, `42/user,%d["loadHistory",{"beforeId":1000000,"limit":%d}]`, 2+5*i+j, posts)) != nil {
				break // closed
			}
		}
		var m map[string]float64
		testutil.Eventually(t, 10*time.Second, "the history requests to be answered", func() bool {
			m = scrapeMetrics(t, mu)
			return m[`socketio_packets_sent_total{type="ack"}`] >= acks+5 || m[`socketio_slow_consumer_closes_total`] > 0
		})
		if m[`socketio_slow_consumer_closes_total`] > 0 {
			break
		}
	}

	ca.s.Close()
	testutil.Eventually(t, 10*time.Second, "the sockets to leave", func() bool {
		return scrapeMetrics(t, mu)[`socketio_sockets{namespace="/user"}`] == 0
	})
	m = scrapeMetrics(t, mu)
	check(t, "at the end", m, map[string]func(float64) bool{
		`socketio_slow_consumer_closes_total`:                              eq(1),
		`socketio_engine_sessions_closed_total{reason="slow consumer"}`:    eq(1),
		`socketio_disconnects_total{reason="slow consumer"}`:               eq(1),
		`socketio_engine_sessions_closed_total{reason="transport close"}`:  atLeast(1),
		`socketio_disconnects_total{reason="client namespace disconnect"}`: atLeast(0),
		`socketio_connect_errors_total`:                                    eq(1),
		`socketio_engine_sessions{transport="websocket"}`:                  eq(0),
		`chatd_presence_sockets`:                                           eq(0),
		`chatd_store_duration_seconds_count{op="messages_before"}`:         atLeast(1),
		`socketio_packets_received_total{type="disconnect"}`:               atLeast(0),
	})
	if m[`socketio_disconnects_total{reason="transport close"}`]+m[`socketio_disconnects_total{reason="client namespace disconnect"}`] < 1 {
		t.Errorf("alice's disconnection not counted: %v", m)
	}
	checkMetricDocs(t, m)
	if err := s.Stop(t); err != nil {
		t.Fatal(err)
	}
	noRedirects.CloseIdleConnections()
	http.DefaultClient.CloseIdleConnections()
}

// metricNameRE finds the names of the metrics of chatd and socketio.
var metricNameRE = regexp.MustCompile(`\b(?:socketio|chatd)_[a-z_]+[a-z]`)

// checkMetricDocs checks that every socketio_ and chatd_ metric of the
// scrape m is documented (docs/socketio.md, docs/deploy.md), and that
// the Grafana dashboard names only metrics that exist.
// docs/grafana-chatd.json must stay valid JSON.
func checkMetricDocs(t *testing.T, m map[string]float64) {
	t.Helper()
	exposed := map[string]bool{}
	for key := range m {
		name, _, _ := strings.Cut(key, "{")
		if metricNameRE.MatchString(name) {
			exposed[strings.TrimSuffix(strings.TrimSuffix(name, "_count"), "_sum")] = true
		}
	}
	var docs []byte
	for _, f := range []string{"socketio.md", "deploy.md"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "docs", f))
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, b...)
	}
	for name := range exposed {
		if !regexp.MustCompile("`" + name + "`").Match(docs) {
			t.Errorf("metric %s is not documented", name)
		}
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "grafana-chatd.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("docs/grafana-chatd.json: %v", err)
	}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, name := range metricNameRE.FindAllString(tg.Expr, -1) {
				// The adapter's requests exist only in a cluster
				// (TestRunTwoNodes checks them).
				if !exposed[strings.TrimSuffix(name, "_bucket")] && !strings.HasPrefix(name, "socketio_adapter_") {
					t.Errorf("dashboard panel %q: unknown metric %s", p.Title, name)
				}
			}
		}
	}
}
