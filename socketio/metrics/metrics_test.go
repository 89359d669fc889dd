package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/leakcheck"
	"github.com/chatd/chatd/internal/testutil"
	"github.com/chatd/chatd/internal/testutil/redistest"
	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/engine"
	"github.com/chatd/chatd/socketio/metrics"
	"github.com/chatd/chatd/socketio/redisadapter"
	"github.com/chatd/chatd/socketio/socketiotest"
	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

// scrape gathers reg and returns the value of every sample, keyed by
// name{label="value",...} with the labels in the exposition's order (a
// histogram gives its _count and _sum).
func scrape(t *testing.T, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			key := mf.GetName()
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[key] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				out[strings.Replace(key, "{", "_count{", 1)] = float64(h.GetSampleCount())
				out[strings.Replace(key, "{", "_sum{", 1)] = h.GetSampleSum()
			}
		}
	}
	return out
}

// waitFor waits until sample key of reg reaches want.
func waitFor(t *testing.T, reg prometheus.Gatherer, key string, want float64) {
	t.Helper()
	var got float64
	testutil.Eventually(t, 10*time.Second, key, func() bool {
		got = scrape(t, reg)[key]
		return got >= want
	})
	if got != want {
		t.Fatalf("%s = %v, want %v", key, got, want)
	}
}

// expectAll waits until every sample of want has its value in reg, and
// reports those that have not within 10 s. The library counts a packet
// once it is queued, so a client may read it before the count moves.
func expectAll(t *testing.T, reg prometheus.Gatherer, what string, want map[string]float64) {
	t.Helper()
	var wrong []string
	if testutil.Within(10*time.Second, func() bool {
		m := scrape(t, reg)
		wrong = wrong[:0]
		for key, v := range want {
			if got, ok := m[key]; !ok || got != v {
				wrong = append(wrong, fmt.Sprintf("%s = %v (present %v), want %v", key, got, ok, v))
			}
		}
		return len(wrong) == 0
	}) {
		return
	}
	sort.Strings(wrong)
	for _, w := range wrong {
		t.Errorf("%s: %s", what, w)
	}
}

// The collector is valid (promtest.CollectAndLint) and every metric it
// describes is named socketio_*.
func TestCollectorLint(t *testing.T) {
	leakcheck.Check(t)
	srv := socketio.NewServer(nil)
	defer srv.Close(context.Background())
	c := metrics.NewCollector(srv, metrics.Options{ConstLabels: prometheus.Labels{"server": "test"}})
	problems, err := promtest.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	ch := make(chan *prometheus.Desc, 64)
	c.Describe(ch)
	close(ch)
	n := 0
	for d := range ch {
		n++
		if !strings.Contains(d.String(), `fqName: "socketio_`) {
			t.Errorf("metric name without the socketio_ prefix: %s", d)
		}
	}
	if n < 20 {
		t.Errorf("%d metrics described", n)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
}

// A scripted session moves every metric of the library: connections and
// their transports, rooms, packets in and out, a broadcast, a refused
// request and namespace, an ack timeout, an upgrade and a failed one, a
// slow consumer, disconnections.
func TestSessionMovesMetrics(t *testing.T) {
	leakcheck.Check(t)
	const maxQueued = 64 << 10
	srv := socketio.NewServer(&socketio.Options{Engine: engine.Options{MaxQueuedBytes: maxQueued}})
	srv.Of("/private").Use(func(*socketio.Socket) error { return errors.New("no") })
	ackTimedOut := make(chan error, 1)
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("join", func(room string, ack socketio.Ack) { s.Join(room); _ = ack() })
		s.On("ping", func(text string, ack socketio.Ack) { _ = ack("pong:" + text) })
		s.On("ask", func() {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
				defer cancel()
				_, err := s.EmitWithAck(ctx, "question")
				ackTimedOut <- err
			}()
		})
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close(context.Background())
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics.NewCollector(srv))
	base := hs.URL + "/socket.io/"

	a := socketiotest.Dial(t, base, nil)
	a.Connect("/", nil)
	a.Emit("/", 1, "join", "lobby")
	a.Expect(`431[]`)
	a.Emit("/", 2, "ping", "hi")
	a.Expect(`432["pong:hi"]`)
	expectAll(t, reg, "after a join and a ping", map[string]float64{
		`socketio_engine_sessions{transport="websocket"}`:                 1,
		`socketio_engine_sessions{transport="polling"}`:                   0,
		`socketio_engine_sessions_opened_total`:                           1,
		`socketio_sockets{namespace="/"}`:                                 1,
		`socketio_rooms{namespace="/"}`:                                   1,
		`socketio_packets_received_total{type="connect"}`:                 1,
		`socketio_packets_received_total{type="event"}`:                   2,
		`socketio_received_bytes_total{type="event"}`:                     float64(len(`21["join","lobby"]`) + len(`22["ping","hi"]`)),
		`socketio_packets_sent_total{type="connect"}`:                     1,
		`socketio_packets_sent_total{type="ack"}`:                         2,
		`socketio_sent_bytes_total{type="ack"}`:                           float64(len(`31[]`) + len(`32["pong:hi"]`)),
		`socketio_engine_queued_bytes`:                                    0,
		`socketio_broadcasts_total`:                                       0,
		`socketio_engine_sessions_closed_total{reason="transport close"}`: 0,
	})

	// A broadcast to the room: once, one recipient.
	if err := srv.To("lobby").Emit("news", "x"); err != nil {
		t.Fatal(err)
	}
	a.Expect(`42["news","x"]`)
	expectAll(t, reg, "after a broadcast", map[string]float64{
		`socketio_broadcasts_total`:                 1,
		`socketio_broadcast_recipients_total`:       1,
		`socketio_packets_sent_total{type="event"}`: 1,
		`socketio_sent_bytes_total{type="event"}`:   float64(len(`2["news","x"]`)),
	})

	// Refused: an unknown sid, an unknown and a refusing namespace.
	res, err := http.Get(base + "?EIO=4&transport=polling&sid=nope")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	a.Send(`40/nope,`)
	a.ExpectMatch(`44/nope,\{"message":"Invalid namespace"\}`)
	a.Send(`40/private,`)
	a.ExpectMatch(`44/private,\{"message":"no"\}`)
	bad, _ := http.NewRequest("GET", base+"?EIO=4&transport=websocket", nil)
	bad.Header.Set("Connection", "Upgrade")
	bad.Header.Set("Upgrade", "websocket")
	bad.Header.Set("Sec-WebSocket-Version", "12")
	if res, err := http.DefaultClient.Do(bad); err != nil {
		t.Fatal(err)
	} else if res.Body.Close(); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("a WebSocket handshake of version 12: %s", res.Status)
	}
	expectAll(t, reg, "after the refusals", map[string]float64{
		`socketio_engine_websocket_handshake_failures_total`:                          1,
		`socketio_engine_request_errors_total{code="1",message="Session ID unknown"}`: 1,
		`socketio_connect_errors_total`:                                               2,
	})

	// An acknowledgement the client never sends.
	a.Emit("/", -1, "ask")
	a.ExpectMatch(`42\d+\["question"\]`)
	if err := <-ackTimedOut; !errors.Is(err, socketio.ErrTimeout) {
		t.Fatalf("EmitWithAck: %v", err)
	}
	waitFor(t, reg, `socketio_ack_timeouts_total`, 1)

	// An upgrade from polling, and one abandoned after its probe.
	upgrade(t, base, true)
	upgrade(t, base, false)
	waitFor(t, reg, `socketio_engine_upgrades_total`, 1)
	waitFor(t, reg, `socketio_engine_upgrade_failures_total`, 1)

	// A member of a flooded room that never reads.
	slow := socketiotest.Dial(t, base, nil)
	slow.Connect("/", nil)
	slow.Emit("/", 3, "join", "flood")
	slow.Expect(`433[]`)
	payload := strings.Repeat("x", 16<<10)
	for i := 0; scrape(t, reg)[`socketio_slow_consumer_closes_total`] == 0; i++ {
		if i == 20000 { // 320 MB: far beyond any socket buffer
			t.Fatal("the slow member was not closed")
		}
		_ = srv.To("flood").Emit("m", payload)
	}
	waitFor(t, reg, `socketio_engine_sessions_closed_total{reason="slow consumer"}`, 1)
	waitFor(t, reg, `socketio_disconnects_total{reason="slow consumer"}`, 1)

	// The first client leaves.
	a.WS.Close()
	waitFor(t, reg, `socketio_disconnects_total{reason="transport close"}`, 1)
	waitFor(t, reg, `socketio_sockets{namespace="/"}`, 0)
	expectAll(t, reg, "after the last disconnection", map[string]float64{
		`socketio_engine_sessions{transport="websocket"}`: 0,
		`socketio_rooms{namespace="/"}`:                   0,
	})
}

// upgrade opens a polling session, then upgrades it to WebSocket (or,
// when complete is false, sends the probe and drops the WebSocket).
func upgrade(t *testing.T, base string, complete bool) {
	t.Helper()
	res, err := http.Get(base + "?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	var body [512]byte
	n, _ := res.Body.Read(body[:])
	res.Body.Close()
	open := string(body[:n])
	at := strings.Index(open, `"sid":"`) + len(`"sid":"`)
	sid := open[at : at+strings.IndexByte(open[at:], '"')]
	ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"?EIO=4&transport=websocket&sid="+sid, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	defer ws.Close()
	if err := ws.WriteMessage(websocket.TextMessage, []byte("2probe")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := ws.ReadMessage(); err != nil || string(msg) != "3probe" {
		t.Fatalf("probe answer %q, %v", msg, err)
	}
	if complete {
		if err := ws.WriteMessage(websocket.TextMessage, []byte("5")); err != nil {
			t.Fatal(err)
		}
		if err := ws.WriteMessage(websocket.TextMessage, []byte("1")); err != nil { // and close the session
			t.Fatal(err)
		}
	}
}

// The Redis adapter's requests to other nodes are counted by kind, with
// their latency.
func TestAdapterRequests(t *testing.T) {
	leakcheck.Check(t)
	rdb := redistest.Client(t)
	prefix := fmt.Sprintf("metrics-test-%d", time.Now().UnixNano())
	var nodes []*socketio.Server
	for range 2 {
		srv := socketio.NewServer(&socketio.Options{Adapter: redisadapter.NewRedis(rdb, redisadapter.Options{Key: prefix})})
		defer srv.Close(context.Background())
		nodes = append(nodes, srv)
		<-srv.Sockets().Adapter().(*redisadapter.Adapter).Ready()
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics.NewCollector(nodes[0]))
	testutil.Eventually(t, 10*time.Second, "two nodes", func() bool {
		n, err := nodes[0].Sockets().Adapter().ServerCount(context.Background())
		return err == nil && n == 2
	})
	if _, err := nodes[0].FetchSockets(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := scrape(t, reg)
	if m[`socketio_adapter_requests_total{kind="fetchSockets"}`] != 1 ||
		m[`socketio_adapter_request_duration_seconds_count{kind="fetchSockets"}`] != 1 ||
		m[`socketio_adapter_request_duration_seconds_sum{kind="fetchSockets"}`] <= 0 ||
		m[`socketio_adapter_request_errors_total{error="timeout",kind="fetchSockets"}`] != 0 {
		t.Errorf("after one fetchSockets: %v", m)
	}
	if _, ok := m[`socketio_adapter_requests_total{kind="allRooms"}`]; !ok {
		t.Errorf("allRooms requests not exposed: %v", m)
	}
}
