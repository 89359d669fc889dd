package main

import (
	"context"
	"net/http"
	"time"

	"github.com/chatd/chatd/chat"
	"github.com/chatd/chatd/socketio"
	"github.com/chatd/chatd/socketio/metrics"
	"github.com/chatd/chatd/web"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// chatMetrics are chatd's own metrics (prefix chatd_), next to the
// Socket.IO server's (socketio_, package socketio/metrics) and the Go
// runtime's and the process's, in one registry served on -metrics-addr.
type chatMetrics struct {
	reg           *prometheus.Registry
	stored        prometheus.Counter
	storeDuration *prometheus.HistogramVec
	loginFailures *prometheus.CounterVec
}

// storeBuckets are the bounds of chatd_store_duration_seconds: from half a
// millisecond (a cached SQLite read) to seconds (a stalled database).
var storeBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}

// newChatMetrics returns chatd's metrics, in a registry that also holds
// the Go runtime's and the process's; addServer adds the Socket.IO
// server's.
func newChatMetrics() *chatMetrics {
	m := &chatMetrics{
		reg: prometheus.NewRegistry(),
		stored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chatd_messages_stored_total",
			Help: "Chat messages stored (acknowledged as stored to their authors).",
		}),
		storeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "chatd_store_duration_seconds",
			Help:    "Duration of the message store's operations, by operation (errors included).",
			Buckets: storeBuckets,
		}, []string{"op"}),
		loginFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chatd_login_failures_total",
			Help: "Failed log-ins, by reason: bad_credentials, rate_limited, invalid (empty fields), error.",
		}, []string{"reason"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.stored, m.storeDuration, m.loginFailures,
	)
	for _, r := range []string{"bad_credentials", "rate_limited", "invalid", "error"} {
		m.loginFailures.WithLabelValues(r)
	}
	return m
}

// addServer registers the metrics of the Socket.IO server sio and the size
// of presence (read at scrape time, when it implements
// chat.PresenceSizer).
func (m *chatMetrics) addServer(sio *socketio.Server, presence chat.Presence) {
	m.reg.MustRegister(metrics.NewCollector(sio))
	if ps, ok := presence.(chat.PresenceSizer); ok {
		m.reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "chatd_presence_sockets",
				Help: "Presence entries of this node: its sockets, once per room they are present in.",
			}, func() float64 { return float64(ps.LocalSize().Sockets) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "chatd_presence_rooms",
				Help: "Rooms in which sockets of this node are present.",
			}, func() float64 { return float64(ps.LocalSize().Rooms) }),
		)
	}
}

// handler serves the metrics in the Prometheus exposition formats.
func (m *chatMetrics) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg}))
	return mux
}

// observe records one store operation that started at start.
func (m *chatMetrics) observe(op string, start time.Time) {
	m.storeDuration.WithLabelValues(op).Observe(time.Since(start).Seconds())
}

// meteredMessages is a chat.MessageStore that measures every operation
// of the store it wraps and counts the messages stored.
type meteredMessages struct {
	store chat.MessageStore
	m     *chatMetrics
}

var _ chat.MessageStore = meteredMessages{}

func (s meteredMessages) AppendMessage(ctx context.Context, msg chat.Message) (chat.Message, error) {
	defer s.m.observe("append_message", time.Now())
	out, err := s.store.AppendMessage(ctx, msg)
	if err == nil {
		s.m.stored.Inc()
	}
	return out, err
}

func (s meteredMessages) LastMessages(ctx context.Context, namespace, room string, limit int) ([]chat.Message, error) {
	defer s.m.observe("last_messages", time.Now())
	return s.store.LastMessages(ctx, namespace, room, limit)
}

func (s meteredMessages) MessagesBefore(ctx context.Context, namespace, room string, beforeID int64, limit int) ([]chat.Message, error) {
	defer s.m.observe("messages_before", time.Now())
	return s.store.MessagesBefore(ctx, namespace, room, beforeID, limit)
}

func (s meteredMessages) FindMessage(ctx context.Context, id int64) (chat.Message, error) {
	defer s.m.observe("find_message", time.Now())
	return s.store.FindMessage(ctx, id)
}

func (s meteredMessages) EditMessage(ctx context.Context, id int64, text string, edited int64) (chat.Message, error) {
	defer s.m.observe("edit_message", time.Now())
	return s.store.EditMessage(ctx, id, text, edited)
}

func (s meteredMessages) DeleteMessage(ctx context.Context, id int64, by chat.User) (chat.Message, error) {
	defer s.m.observe("delete_message", time.Now())
	return s.store.DeleteMessage(ctx, id, by)
}

func (s meteredMessages) SearchMessages(ctx context.Context, namespace, room string, words []string, limit int) ([]chat.Message, error) {
	defer s.m.observe("search_messages", time.Now())
	return s.store.SearchMessages(ctx, namespace, room, words, limit)
}

// meteredAccounts is the account service of the pages, counting failed
// log-ins.
type meteredAccounts struct {
	web.Accounts
	m *chatMetrics
}

func (a meteredAccounts) LogIn(ctx context.Context, name, password string) (chat.Login, error) {
	l, err := a.Accounts.LogIn(ctx, name, password)
	if err != nil {
		reason := "error"
		switch chat.ErrorCode(err) {
		case chat.EUNAUTHORIZED:
			reason = "bad_credentials"
		case chat.ERATELIMITED:
			reason = "rate_limited"
		case chat.EINVALID:
			reason = "invalid"
		}
		a.m.loginFailures.WithLabelValues(reason).Inc()
	}
	return l, err
}
